#!/usr/bin/env python3
"""Start-up cost of cmk, as ratios to a floor measured in the same run.

The floor is a Swift hello world that encodes JSON with FoundationEssentials, built here with
`swiftc -O`. Every case runs the release build of cmk as a fresh process, the cases taking turns.
Each sample is taken by bench/spawn.c (compiled here): posix_spawn to wait4 of the child alone,
peak memory (max RSS) from wait4's rusage of that very child, so Python's own fork (about 3 ms)
is not in the figures. The harness's overhead is measured in the same run (spawning a static
no-op program) and printed. Nothing leaves the machine: every case runs with
CMK_ENDPOINT_OVERRIDE on loopback.

    python3 bench/bench.py [--runs 40] [--no-build]
"""
import argparse
import http.server
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, ".build", "release")

FLOOR_SOURCE = """
import FoundationEssentials
struct Greeting: Codable { var text: String; var count: Int }
let data = try! JSONEncoder().encode(Greeting(text: "hello", count: 1))
let back = try! JSONDecoder().decode(Greeting.self, from: data)
print(String(decoding: data, as: UTF8.self), back.count)
"""


class FakeIMDS(http.server.BaseHTTPRequestHandler):
    """IMDSv2 as the AWS provider sees it through the endpoint override."""

    def log_message(self, *args):
        pass

    def _send(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        self._send(200, b"TOKEN") if self.path.endswith("/latest/api/token") else self._send(404)

    def do_GET(self):
        if self.path.endswith("/instance-identity/document") and self.headers.get("X-aws-ec2-metadata-token") == "TOKEN":
            self._send(200, json.dumps({"accountId": "123456789012", "region": "eu-west-1"}).encode())
        else:
            self._send(401)


def serve(handler):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, "http://127.0.0.1:%d" % server.server_address[1]


SPAWN = None  # the compiled harness, set by main()


def run_once(argv, env):
    """One sample: (wall ms, max RSS MB, exit status), as measured by the spawn harness."""
    output = subprocess.run([SPAWN] + argv, env=env, check=True, capture_output=True, text=True).stdout.split()
    return float(output[0]), int(output[1]) / 1024, int(output[2])


def build_harness(work):
    """bench/spawn.c and bench/noop.c, compiled with cc."""
    here = os.path.dirname(os.path.abspath(__file__))
    spawn = os.path.join(work, "spawn")
    noop = os.path.join(work, "noop")
    subprocess.run(["cc", "-O2", "-o", spawn, os.path.join(here, "spawn.c")], check=True)
    subprocess.run(["cc", "-O2", "-static", "-o", noop, os.path.join(here, "noop.c")], check=True)
    return spawn, noop


def measure(cases, runs):
    """Runs the cases round-robin, so that a noisy neighbour slows every case alike."""
    for _, argv, env in cases:  # warm the page cache
        for _ in range(3):
            run_once(argv, env)
    samples = [{"times": [], "rss": [], "codes": set()} for _ in cases]
    for _ in range(runs):
        for (_, argv, env), sample in zip(cases, samples):
            elapsed, peak, code = run_once(argv, env)
            sample["times"].append(elapsed)
            sample["rss"].append(peak)
            sample["codes"].add(code)
    return [
        {"name": name, "min": min(s["times"]), "median": statistics.median(s["times"]), "rss": max(s["rss"]),
         "exit": sorted(s["codes"])}
        for (name, _, _), s in zip(cases, samples)
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--no-build", action="store_true", help="use the existing release build")
    args = parser.parse_args()

    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    work = tempfile.mkdtemp(prefix="cmk-bench-")
    global SPAWN
    SPAWN, noop = build_harness(work)
    floor = os.path.join(work, "floor")
    with open(floor + ".swift", "w") as source:
        source.write(FLOOR_SOURCE)
    subprocess.run(["swiftc", "-O", "-o", floor, floor + ".swift"], check=True)
    empty_root = os.path.join(work, "empty-root")
    os.mkdir(empty_root)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: a closed loopback port
    closed_origin = "http://127.0.0.1:%d" % closed.getsockname()[1]
    imds, imds_origin = serve(FakeIMDS)

    base = {"PATH": "/usr/bin:/bin", "HOME": work, "CMK_SYS_ROOT": empty_root, "CMK_ENDPOINT_OVERRIDE": closed_origin}
    cmk = os.path.join(RELEASE, "cmk")
    ec2 = dict(base, CMK_SYS_ROOT=os.path.join(ROOT, "Tests/Fixtures/sys/ec2-nitro"), CMK_ENDPOINT_OVERRIDE=imds_origin)
    cases = [
        ("floor: hello world + FoundationEssentials JSON", [floor], base),
        ("harness overhead: spawn of a static no-op", [noop], base),
        ("cmk status, off-cloud (empty CMK_SYS_ROOT)", [cmk, "status"], base),
        ("cmk detect, off-cloud", [cmk, "detect"], base),
        ("cmk status, EC2 fixture + loopback IMDSv2", [cmk, "status"], ec2),
    ]
    azure = os.path.join(os.path.dirname(os.path.abspath(__file__)), "azure_case.py")
    extra = []
    if os.path.exists(azure):
        sys.path.insert(0, os.path.dirname(azure))
        import azure_case  # the Azure emulator case, when the Azure provider is built

        extra = azure_case.cases(RELEASE, base, work, ROOT)
    # Start-up cases take turns with the floor; the Azure cases (a second process, 50 ms waits)
    # run as their own group, so that they do not disturb the floor.
    results = measure(cases, args.runs)
    azure_results = measure([(n, a, e) for n, a, e, _ in extra], args.runs) if extra else []
    floor_median = results[0]["median"]
    print("cmk start-up, %d runs each, release build (%s)" % (args.runs, time.strftime("%Y-%m-%d")))
    print("%-52s %8s %8s %8s %8s %6s" % ("case", "min ms", "med ms", "x floor", "maxRSS", "exit"))
    for result in results:
        print("%-52s %8.1f %8.1f %8.2f %6.1fMB %6s" % (
            result["name"], result["min"], result["median"], result["median"] / floor_median, result["rss"],
            ",".join(map(str, result["exit"]))))
    if azure_results:
        print("\nAzure, against the loopback emulator (targets with +50 ms: plain http <= 4 x 50 + 60 = 260 ms,")
        print("over TLS <= 320 ms; whole-run peak RSS <= 30 MB)")
        for result in azure_results:
            print("%-52s %8.1f %8.1f %8s %6.1fMB %6s" % (
                result["name"], result["min"], result["median"], "", result["rss"], ",".join(map(str, result["exit"]))))
    for _, _, _, cleanup in extra:
        cleanup()
    imds.shutdown()


if __name__ == "__main__":
    main()
