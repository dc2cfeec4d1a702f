#!/usr/bin/env python3
"""Start-up work of cmk in instructions, as ratios to the floor: figures a loaded machine cannot move.

Wall time on these 2-core machines swings by 30% with whatever else runs; the instructions a run
executes (valgrind's callgrind counts them) are the same run after run. They are not time: page
faults, thread wake-ups and the kernel's share are not in them, so read them beside
bench/bench.py, not instead of it. They say where the start path's own work goes.

The release products are copied to a scratch directory and stripped of debug info first
(valgrind 3.19 gives up on the DWARF that Swift 6.3 writes). Cases, each one process:

  floor                      the FoundationEssentials hello world of bench/bench.py
  cmk --version              cmk's own start, no provider loaded
  cmk status, no providers   the cmk binary alone in its directory: session, detection, report
  cmk status                 both providers beside it, off-cloud: what an admin runs

    python3 bench/instructions.py [--no-build] [--keep]   (--keep leaves the callgrind files)
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import FLOOR_SOURCE  # noqa: E402  (one floor for both scripts)


def count(argv, env, out):
    """Instructions callgrind counted for one run of argv."""
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + argv,
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    found = re.search(r"Collected : (\d+)", run.stderr)
    if not found:
        sys.exit("valgrind failed for %s:\n%s" % (" ".join(argv), run.stderr[-2000:]))
    return int(found.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-build", action="store_true", help="use the existing release build")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory and its callgrind files")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian package valgrind)")
    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    release = os.path.join(ROOT, ".build", "release")
    work = tempfile.mkdtemp(prefix="cmk-instructions-")
    floor = os.path.join(work, "floor")
    with open(floor + ".swift", "w") as source:
        source.write(FLOOR_SOURCE)
    subprocess.run(["swiftc", "-O", "-o", floor, floor + ".swift"], check=True)
    alone, both = os.path.join(work, "alone"), os.path.join(work, "both")
    for directory, names in ((alone, ["cmk"]), (both, ["cmk", "libcmk-provider-aws.so", "libcmk-provider-azure.so",
                                                       "libcmk-https.so"])):
        os.makedirs(directory, mode=0o755)
        for name in names:
            shutil.copy2(os.path.join(release, name), directory)
            subprocess.run(["strip", "-g", os.path.join(directory, name)], check=True)
    empty = os.path.join(work, "empty-root")
    os.mkdir(empty)
    # Port 9 on loopback: nothing listens, nothing leaves the machine.
    env = {"PATH": "/usr/bin:/bin", "HOME": work, "CMK_SYS_ROOT": empty, "CMK_ENDPOINT_OVERRIDE": "http://127.0.0.1:9"}
    cases = [
        ("floor: hello world + FoundationEssentials JSON", [floor]),
        ("cmk --version", [os.path.join(both, "cmk"), "--version"]),
        ("cmk status, off-cloud, no providers", [os.path.join(alone, "cmk"), "status"]),
        ("cmk status, off-cloud, both providers", [os.path.join(both, "cmk"), "status"]),
    ]
    results = [(name, count(argv, env, os.path.join(work, "callgrind.%d" % index)))
               for index, (name, argv) in enumerate(cases)]
    floor_count = results[0][1]
    print("%-44s %14s %8s" % ("case", "instructions", "x floor"))
    for name, total in results:
        print("%-44s %14s %8.2f" % (name, "{:,}".format(total), total / floor_count))
    if args.keep:
        print("callgrind files in", work, "(callgrind_annotate --inclusive=yes FILE)")
    else:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
