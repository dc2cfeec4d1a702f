"""The Azure case of bench.py: `cmk status` against the loopback Azure emulator, 50 ms added to
every response. Target: ≤ 4 × 50 ms + 60 ms (the longest chain of dependent calls, not their number)."""
import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LATENCY_MS = 50


def start_emulator(release, work, latency):
    with open(os.path.join(ROOT, "Tests/Fixtures/azure/scenarios/ready.json")) as source:
        scenario = json.load(source)
    scenario["latencyMs"] = latency
    path = os.path.join(work, "ready-%d.json" % latency)
    with open(path, "w") as target:
        json.dump(scenario, target)
    emulator = subprocess.Popen(
        [os.path.join(release, "cmk-azure-emulator"), "--scenario", path],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    origin = emulator.stdout.readline().strip()
    return emulator, origin, scenario


def cases(release, base, work):
    if not os.path.exists(os.path.join(release, "cmk-azure-emulator")):
        return []
    result = []
    for latency in (0, LATENCY_MS):
        emulator, origin, scenario = start_emulator(release, work, latency)
        application = scenario["applications"][0]
        vault = scenario["vaults"][0]
        env = dict(base, CMK_ENDPOINT_OVERRIDE=origin, AZURE_TENANT_ID=scenario["tenantId"],
                   AZURE_CLIENT_ID=application["clientId"], AZURE_CLIENT_SECRET=application["clientSecret"])
        key_uri = "https://%s.vault.azure.net/keys/%s" % (vault["name"], vault["keys"][0]["name"])
        argv = [os.path.join(release, "cmk"), "status", "--provider", "azure", "--key-uri", key_uri]
        result.append(("cmk status --provider azure, emulator +%d ms/response" % latency, argv, env, emulator.kill))
    return result
