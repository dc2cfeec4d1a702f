#!/usr/bin/env python3
"""`cmk status --targets`: 50 targets against one, at 50 ms per response (issue 11, item 5).

The emulator serves a tenant with 50 vaults, each holding one key the vendor may use
(`cmk-azure-emulator --latency-ms 50`: every response 50 ms late). Each case is a fresh `cmk`
process of the release build, timed by `hyperfine -N` (no shell between it and cmk); the
harness's own overhead is the same measurement of `bench/noop` (a static program that exits at
once), printed beside the figures. Nothing leaves the machine: CMK_ENDPOINT_OVERRIDE points at the
emulator on loopback.

Cases: one `cmk status --key-uri` (the reference), a targets file of 1 target, and a targets file
of 50 targets with --jobs 8 (the default), 16 and 50. Target: 50 targets <= 2 x one.

    python3 bench/targets.py [--runs 10] [--no-build] [--targets 50] [--latency 50]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, ".build", "release")
SERVICE_PRINCIPAL = "5d2a8f3e-9c41-4b7e-8a16-0f3c2e9d7b54"
CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"


def scenario(count, work):
    """ready.json with `count` vaults cmk-00 … cmk-NN, each with one key and the vendor's grant."""
    with open(os.path.join(ROOT, "Tests/Fixtures/azure/scenarios/ready.json")) as source:
        base = json.load(source)
    template = base["vaults"][0]
    vaults = []
    for index in range(count):
        vault = json.loads(json.dumps(template))
        vault["name"] = "cmk-%02d" % index
        vault["roleAssignments"] = [
            {"principalId": SERVICE_PRINCIPAL, "roleDefinitionId": CRYPTO_SERVICE_ENCRYPTION_USER, "scope": "vault"}
        ]
        vaults.append(vault)
    base["vaults"] = vaults
    path = os.path.join(work, "tenant-%d.json" % count)
    with open(path, "w") as target:
        json.dump(base, target)
    return base, path


def targets_file(count, work):
    path = os.path.join(work, "targets-%d.ini" % count)
    with open(path, "w") as target:
        target.write("provider = azure\ncredential = environment\n")
        for index in range(count):
            target.write("\n[target vault-%02d]\nkey-uri = https://cmk-%02d.vault.azure.net/keys/cmk-key\n" % (index, index))
    return path


def hyperfine(commands, names, env, runs, work):
    export = os.path.join(work, "hyperfine.json")
    argv = ["hyperfine", "-N", "--warmup", "2", "--runs", str(runs), "--export-json", export]
    for name, command in zip(names, commands):
        argv += ["--command-name=" + name, command]
    subprocess.run(argv, env=env, check=True, stdout=sys.stderr)
    with open(export) as source:
        return json.load(source)["results"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--targets", type=int, default=50)
    parser.add_argument("--latency", type=int, default=50)
    parser.add_argument("--no-build", action="store_true")
    options = parser.parse_args()
    if not options.no_build:
        subprocess.run(["swift", "build", "-c", "release"], cwd=ROOT, check=True, stdout=sys.stderr)
    work = tempfile.mkdtemp(prefix="cmk-bench-targets-")
    noop = os.path.join(work, "noop")
    subprocess.run(["cc", "-O2", "-static", "-o", noop, os.path.join(ROOT, "bench/noop.c")], check=True)

    base, tenant = scenario(options.targets, work)
    emulator = subprocess.Popen(
        [os.path.join(RELEASE, "cmk-azure-emulator"), "--scenario", tenant, "--latency-ms", str(options.latency)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    origin = emulator.stdout.readline().strip()
    try:
        application = base["applications"][0]
        env = dict(os.environ, CMK_ENDPOINT_OVERRIDE=origin, AZURE_TENANT_ID=base["tenantId"],
                   AZURE_CLIENT_ID=application["clientId"], AZURE_CLIENT_SECRET=application["clientSecret"],
                   HOME=work, NO_COLOR="1")
        for name in ("CMK_CONFIG", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "CMK_PROVIDER", "CMK_OUTPUT",
                     "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
            env.pop(name, None)
        cmk = os.path.join(RELEASE, "cmk")
        one, many = targets_file(1, work), targets_file(options.targets, work)
        # Every case must be ready (exit 0): a failing run would time something else.
        for argv in ([cmk, "status", "--targets", many, "--jobs", str(options.targets)],
                     [cmk, "status", "--provider", "azure", "--key-uri", "https://cmk-00.vault.azure.net/keys/cmk-key"]):
            check = subprocess.run(argv, env=env, capture_output=True, text=True)
            if check.returncode != 0:
                sys.exit("not ready (exit %d): %s\n%s" % (check.returncode, " ".join(argv), check.stdout[-2000:]))
        cases = [
            ("harness: bench/noop", noop),
            ("cmk status --key-uri (one key, no targets file)",
             "%s status --provider azure --key-uri https://cmk-00.vault.azure.net/keys/cmk-key" % cmk),
            ("status --targets, 1 target", "%s status --targets %s" % (cmk, one)),
        ] + [("status --targets, %d targets, --jobs %d%s" % (options.targets, jobs, " (default)" if jobs == 8 else ""),
              "%s status --targets %s --jobs %d" % (cmk, many, jobs))
             for jobs in (8, 16, options.targets)]
        results = hyperfine([command for _, command in cases], [name for name, _ in cases], env, options.runs, work)
    finally:
        emulator.kill()
    one_ms = results[2]["median"] * 1000
    print("%d targets, +%d ms per response, %d runs each (hyperfine -N --warmup 2)" %
          (options.targets, options.latency, options.runs))
    print("| case | median ms | mean ± σ ms | min–max ms | × one target |")
    print("|---|---|---|---|---|")
    for result in results:
        median = result["median"] * 1000
        ratio = "" if result["command"].startswith("harness") else "%.2f" % (median / one_ms)
        print("| %s | %.1f | %.1f ± %.1f | %.1f–%.1f | %s |" % (
            result["command"], median, result["mean"] * 1000, result["stddev"] * 1000, result["min"] * 1000,
            result["max"] * 1000, ratio))


if __name__ == "__main__":
    main()
