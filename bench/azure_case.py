"""The Azure cases of bench.py: `cmk status` against the loopback Azure emulator.

- plain http through the endpoint override, with 0 and 50 ms added to every response;
- over TLS (`cmk-azure-emulator --tls`, its test CA in CMK_CA_BUNDLE), the production https
  transport (libcmk-https.so: C over libcurl), 0 and 50 ms;
- the same over TLS with the URLSession transport (bench/transports/URLSessionTransport.swift,
  built here, loaded with CMK_HTTPS_LIBRARY), for the comparison in docs/benchmarks.md. URLSession
  on Linux has no way to take other trust roots (its URLSessionCertificateAuthorityInfoFile is
  read on Android only), so both transports run in a mount namespace where the test CA is
  bind-mounted over the system bundle (`unshare -rm`): the wrapper costs the same to both;
- deadline control: a server that accepts TCP and never answers the TLS handshake, with
  `--timeout 0.5`, for both transports: the run must end at about 0.5 s.

Targets with 50 ms per response: plain http <= 4 x 50 + 60 = 260 ms (the longest chain of
dependent calls, not their number); over TLS <= 320 ms; peak RSS of the whole run <= 30 MB.
"""
import json
import os
import socket
import subprocess

LATENCY_MS = 50


def start_emulator(release, work, root, latency, tls):
    with open(os.path.join(root, "Tests/Fixtures/azure/scenarios/ready.json")) as source:
        scenario = json.load(source)
    scenario["latencyMs"] = latency
    path = os.path.join(work, "ready-%d.json" % latency)
    with open(path, "w") as target:
        json.dump(scenario, target)
    argv = [os.path.join(release, "cmk-azure-emulator"), "--scenario", path]
    tls_dir = os.path.join(work, "tls")
    if tls:
        argv += ["--tls-dir", tls_dir]
    emulator = subprocess.Popen(argv, cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    origin = emulator.stdout.readline().strip()
    return emulator, origin, scenario, os.path.join(tls_dir, "ca.pem")


def build_urlsession_transport(root, work):
    """The URLSession transport behind the same ABI, or None when it does not build."""
    library = os.path.join(work, "libcmk-https-urlsession.so")
    source = os.path.join(root, "bench/transports/URLSessionTransport.swift")
    header = os.path.join(root, "Sources/CMKPluginABI/include/cmk_https.h")
    built = subprocess.run(["swiftc", "-O", "-emit-library", "-o", library, "-import-objc-header", header, source],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return library if built.returncode == 0 else None


def namespaces_work():
    return subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode == 0


def system_roots_replaced_by(ca):
    """A prefix that runs a command with `ca` bind-mounted over the system's CA bundle."""
    script = 'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec "$@"'
    return ["/usr/bin/unshare", "-rm", "/bin/sh", "-c", script, ca]


def cases(release, base, work, root):
    if not os.path.exists(os.path.join(release, "cmk-azure-emulator")):
        return []
    urlsession = build_urlsession_transport(root, work)
    result = []
    for tls in (False, True):
        for latency in (0, LATENCY_MS):
            emulator, origin, scenario, ca = start_emulator(release, work, root, latency, tls)
            application = scenario["applications"][0]
            vault = scenario["vaults"][0]
            env = dict(base, CMK_ENDPOINT_OVERRIDE=origin, AZURE_TENANT_ID=scenario["tenantId"],
                       AZURE_CLIENT_ID=application["clientId"], AZURE_CLIENT_SECRET=application["clientSecret"])
            key_uri = "https://%s.vault.azure.net/keys/%s" % (vault["name"], vault["keys"][0]["name"])
            argv = [os.path.join(release, "cmk"), "status", "--provider", "azure", "--key-uri", key_uri]
            if not tls:
                result.append(("azure status, plain http, +%d ms/response" % latency, argv, env, emulator.kill))
                continue
            result.append(("azure status, TLS, libcurl, +%d ms" % latency, argv, dict(env, CMK_CA_BUNDLE=ca),
                           emulator.kill))
            if urlsession and namespaces_work():
                wrapped = system_roots_replaced_by(ca) + argv
                result.append(("  same, system roots = test CA, libcurl", wrapped, env, lambda: None))
                result.append(("  same, system roots = test CA, URLSession", wrapped,
                               dict(env, CMK_HTTPS_LIBRARY=urlsession), lambda: None))
    # A TLS server that never answers: what --timeout 0.5 really gives with each transport.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(128)  # the kernel completes TCP; nothing ever reads
    stalled = dict(base, CMK_ENDPOINT_OVERRIDE="https://127.0.0.1:%d" % silent.getsockname()[1],
                   AZURE_TENANT_ID="t", AZURE_CLIENT_ID="c", AZURE_CLIENT_SECRET="s")
    argv = [os.path.join(release, "cmk"), "status", "--provider", "azure", "--timeout", "0.5", "--key-uri",
            "https://contoso-cmk.vault.azure.net/keys/cmk-key"]
    result.append(("stalled TLS server, --timeout 0.5, libcurl", argv, stalled, silent.close))
    if urlsession:
        result.append(("stalled TLS server, --timeout 0.5, URLSession", argv,
                       dict(stalled, CMK_HTTPS_LIBRARY=urlsession), lambda: None))
    return result
