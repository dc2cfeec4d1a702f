#!/usr/bin/env python3
"""Symbolizes ThreadSanitizer reports from providers loaded by descriptor, then applies tsan.supp.

cmk loads a checked provider as /proc/self/fd/N (docs/plugin-abi.md). TSan's symbolizer runs in
a process of its own, where that path names another descriptor or none, so every frame in a
provider comes out as `(N+0xOFFSET) (BuildId: …)` and no suppression, which matches function
names, can apply: each known false positive of scripts/tsan.supp inside a provider (the
Mutex-guarded state of CMKCore's https loader, Azure's sign-in cache) is reported again.

This finds the library with that build id under the scratch directory, names each such frame
with addr2line, and counts a report as suppressed when a frame matches a `race:` pattern of
tsan.supp (the same `*` globs, matched anywhere in the mangled name, as TSan does).
Prints what stayed and exits 1 when anything did.

    scripts/tsan-triage.py REPORTS_DIR SCRATCH_DIR SUPPRESSIONS
"""
import fnmatch
import glob
import os
import re
import subprocess
import sys

FRAME = re.compile(r"^\s+#\d+ (\S+) .*\((?:/proc/self/fd/)?\d+\+(0x[0-9a-f]+)\) \(BuildId: ([0-9a-f]+)\)")


def build_ids(scratch):
    """Build id -> path, for every shared library the build made."""
    found = {}
    for path in glob.glob(os.path.join(scratch, "**", "*.so"), recursive=True):
        notes = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
        match = re.search(r"Build ID: ([0-9a-f]+)", notes)
        if match:
            found.setdefault(match.group(1), path)
    return found


def main():
    reports_dir, scratch, suppressions = sys.argv[1:4]
    patterns = [line.split(":", 1)[1].strip() for line in open(suppressions)
                if line.startswith("race:")]
    libraries = build_ids(scratch)
    names = {}

    def name(build_id, offset):
        key = (build_id, offset)
        if key not in names and build_id in libraries:
            out = subprocess.run(["addr2line", "-f", "-e", libraries[build_id], offset],
                                 capture_output=True, text=True).stdout.split("\n")
            names[key] = out[0] if out and out[0] != "??" else None
        return names.get(key)

    kept, suppressed = [], {}
    for path in sorted(glob.glob(os.path.join(reports_dir, "report.*"))):
        text = open(path, errors="replace").read()
        for report in text.split("==================\n"):
            if "WARNING: ThreadSanitizer" not in report:
                continue
            functions = []
            for line in report.splitlines():
                frame = FRAME.match(line)
                if frame:
                    symbol = frame.group(1)
                    if symbol == "<null>":
                        symbol = name(frame.group(3), frame.group(2)) or symbol
                    functions.append(symbol)
                elif line.strip().startswith("#"):
                    functions.append(line.split()[1])
            hit = next((p for p in patterns for f in functions if fnmatch.fnmatchcase(f, "*" + p + "*")), None)
            if hit and "data race" in report or hit and "access race" in report:
                suppressed[hit] = suppressed.get(hit, 0) + 1
            else:
                title = report.strip().splitlines()[0] if report.strip() else "?"
                kept.append((path, title, functions[:6]))
    for pattern, count in sorted(suppressed.items(), key=lambda item: -item[1]):
        print("suppressed %4d  race:%s" % (count, pattern))
    for path, title, functions in kept:
        print("KEPT  %s  %s" % (os.path.basename(path), title))
        for function in functions:
            print("        %s" % function)
    print("tsan-triage: %d suppressed, %d kept" % (sum(suppressed.values()), len(kept)))
    sys.exit(1 if kept else 0)


if __name__ == "__main__":
    main()
