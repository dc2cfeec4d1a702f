#!/usr/bin/env bash
# Proves that a release tarball runs on a machine without Swift.
#
#   packaging/dist-check.sh dist/cmk-<version>-linux-<arch>.tar.gz path/to/cmk-azure-emulator
#
# Unpacks the tarball in a temporary directory, then:
#   1. statically: every ELF file's RUNPATH is relative ($ORIGIN/…), ldd resolves each library
#      and none into the Swift toolchain, and lib/cmk/swift holds only what something needs;
#   2. with the toolchain hidden (a user and mount namespace, `unshare -rm`, with a tmpfs over
#      the toolchain's directory; where namespaces are not allowed, with the toolchain in place,
#      which step 1 has already shown is not used): cmk --version, cmk status off-cloud (exit 3),
#      cmk status --provider aws (exit 0), cmk providers (aws and azure, trusted), an Azure status
#      over https against the emulator (run outside, on loopback), and an out-of-tree provider
#      built with the same compiler (the C template, by the toolchain's clang, so that its
#      compiler fingerprint is compared and must match) found on CMK_PLUGIN_PATH, verified and run,
#      and a Swift one in its own package against CMKCore, built with `swift build -c release`.
# Prints one line per check and "N passed, N failed"; exits non-zero when any failed.
set -euo pipefail
umask 022

if [[ ${1:-} == --inside ]]; then
    # In the namespace: hide the toolchain, then run the checks.
    shift
    hide=$1
    shift
    mount -t tmpfs -o mode=0755 tmpfs "$hide"
    exec "$@"
fi

(($# == 2)) || { echo "usage: packaging/dist-check.sh TARBALL EMULATOR" >&2; exit 64; }
tarball=$(realpath "$1")
emulator=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
repository=$(dirname "$here")

work=$(mktemp -d /tmp/cmk-dist-check.XXXXXX)
chmod 0755 "$work"
emulator_pid=
cleanup() {
    exec 3>&- 2>/dev/null || true
    [[ -n $emulator_pid ]] && kill "$emulator_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

tar -C "$work" -xzf "$tarball"
release=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'cmk-*')
[[ -x $release/bin/cmk ]] || { echo "dist-check: no bin/cmk in $tarball" >&2; exit 1; }

runtime_dir=$(swiftc -print-target-info | awk '/"runtimeLibraryPaths"/ { getline; gsub(/[ ",]/, ""); print; exit }')
toolchain=$(realpath "$runtime_dir/../../../..")  # <toolchain>/usr/lib/swift/linux
# A toolchain installed into /usr itself cannot be hidden whole: hide its runtime directory then.
case $toolchain in / | /usr) hide=$runtime_dir ;; *) hide=$toolchain ;; esac

passed=0
failed=0
pass() { echo "ok    $1"; passed=$((passed + 1)); }
fail() { echo "FAIL  $1"; shift; printf '      %s\n' "$@"; failed=$((failed + 1)); }

echo "dist-check: $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB), toolchain $toolchain"

# 1. RUNPATHs and library resolution.
elves=()
while IFS= read -r file; do
    [[ $(head -c 4 "$file" | od -An -c | tr -d ' ') == 177ELF ]] && elves+=("$file")
done < <(find "$release" -type f | sort)
bad_runpath=()
for file in "${elves[@]}"; do
    runpath=$(readelf -d "$file" | sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]/\2/p')
    IFS=: read -ra entries <<<"$runpath"
    for entry in "${entries[@]}"; do
        [[ $entry == '$ORIGIN' || $entry == '$ORIGIN/'* ]] || bad_runpath+=("${file#"$release"/}: $entry")
    done
done
((${#bad_runpath[@]} == 0)) && pass "every RUNPATH is relative (${#elves[@]} ELF files)" ||
    fail "RUNPATHs that are not relative" "${bad_runpath[@]}"

bad_resolution=()
for file in "${elves[@]}"; do
    while IFS= read -r line; do
        bad_resolution+=("${file#"$release"/}: $line")
    done < <(ldd "$file" 2>&1 | grep -E "not found|$toolchain" || true)
done
((${#bad_resolution[@]} == 0)) && pass "ldd: every library resolves, none into $toolchain" ||
    fail "ldd resolves into the toolchain or not at all" "${bad_resolution[@]}"

unused=()
for library in "$release"/lib/cmk/swift/*.so; do
    name=$(basename "$library")
    for file in "${elves[@]}"; do
        readelf -d "$file" | grep -qF "[$name]" && continue 2
    done
    unused+=("$name")
done
((${#unused[@]} == 0)) && pass "lib/cmk/swift: $(ls "$release/lib/cmk/swift" | wc -l) runtime libraries, each one needed" ||
    fail "runtime libraries nothing needs" "${unused[@]}"

# The out-of-tree provider, built now (the toolchain is hidden later): the C template, by the
# toolchain's own clang, as an author with this release's compiler would build it.
mkdir -p "$work/oot" "$work/oot-root/sys/class/dmi/id" "$work/home" "$work/empty-root"
echo "Template Cloud" >"$work/oot-root/sys/class/dmi/id/sys_vendor"
clang=$(dirname "$(realpath "$(command -v swiftc)")")/clang
"$clang" -shared -fPIC -O2 -I "$repository/Sources/CMKPluginABI/include" -o "$work/oot/libcmk-provider-ctemplate.so" \
    "$repository/Tests/Providers/c-template/cmk_provider_template.c"
chmod 0755 "$work/oot/libcmk-provider-ctemplate.so"
oot_fingerprint=$(readelf -p .comment "$work/oot/libcmk-provider-ctemplate.so" | grep -o 'clang version.*llvm-project[^)]*)' | head -n 1)

# And a Swift one, in its own package against the CMKCore product, built the way an author
# builds for a release: `swift build -c release`, nothing else (its RUNPATH names the toolchain,
# which is hidden: the runtime libraries it needs are the ones cmk has already loaded).
# Kept under .build/dist-oot so that a second run only relinks.
oot_package=$repository/.build/dist-oot/cmk-provider-swiftoot
mkdir -p "$oot_package/Sources/SwiftOOT" "$work/oot-swift"
cat >"$oot_package/Package.swift" <<MANIFEST
// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "cmk-provider-swiftoot",
    products: [.library(name: "cmk-provider-swiftoot", type: .dynamic, targets: ["SwiftOOT"])],
    dependencies: [.package(path: "$repository")],
    targets: [.target(name: "SwiftOOT", dependencies: [.product(name: "CMKCore", package: "$(basename "$repository")")])]
)
MANIFEST
cat >"$oot_package/Sources/SwiftOOT/Provider.swift" <<'SOURCE'
import CMKCore

@_cdecl("cmk_provider_entry")
public func cmk_provider_entry() -> UnsafeRawPointer { exportProvider(SwiftOOTProvider.self) }

struct SwiftOOTProvider: CloudKeyProvider {
    static let name = "swiftoot"
    static let version = "0.1.0"
    static let summary = "A Swift provider built outside cmk's repository"

    func detect(_ request: DetectionRequest) async -> Detection { .none(rejected: ["only when chosen"]) }

    func status(_ request: StatusRequest) async throws -> StatusReport {
        StatusReport(checks: [Check(id: "swiftoot-key", state: .ok, summary: "The Swift out-of-tree key is in place.")])
    }
}
SOURCE
if ! swift build -c release --package-path "$oot_package" --scratch-path "$oot_package/.build" \
    --product cmk-provider-swiftoot >"$work/oot-swift.log" 2>&1; then
    echo "dist-check: the Swift out-of-tree provider did not build:" >&2
    tail -n 30 "$work/oot-swift.log" >&2
    exit 1
fi
install -m 0755 "$oot_package/.build/release/libcmk-provider-swiftoot.so" "$work/oot-swift/libcmk-provider-swiftoot.so"

# The emulator, outside the namespace (it needs the toolchain's runtime), on loopback, over TLS
# so that the release's https transport and the system's libcurl are what runs. It stops when
# the pipe on its stdin closes.
mkfifo "$work/emulator.in"
(cd "$repository" && CMK_AZURE_FIXTURES="$repository/Tests/Fixtures/azure" LD_LIBRARY_PATH="$runtime_dir" \
    exec "$emulator" --scenario ready --tls --tls-dir "$work/tls" <"$work/emulator.in" >"$work/emulator.out" \
    2>"$work/emulator.err") &
emulator_pid=$!
exec 3>"$work/emulator.in"
for _ in $(seq 300); do
    grep -q '^# then' "$work/emulator.out" 2>/dev/null && break
    kill -0 "$emulator_pid" 2>/dev/null || break
    sleep 0.1
done
emulator_exports=$(sed -n 's/^export //p' "$work/emulator.out" | tr '\n' ' ')
[[ $emulator_exports == *CMK_ENDPOINT_OVERRIDE=https://127.0.0.1:* ]] ||
    { echo "dist-check: the emulator did not start:" >&2; cat "$work/emulator.err" >&2; exit 1; }

# 2. The checks, run by this script again in the hidden-toolchain namespace when it can be had.
cat >"$work/checks.sh" <<'CHECKS'
set -uo pipefail
release=$1 work=$2 toolchain=$3 oot_fingerprint=$4 exports=$5
passed=0 failed=0
pass() { echo "ok    $1"; passed=$((passed + 1)); }
fail() { echo "FAIL  $1"; shift; printf '      %s\n' "$@"; failed=$((failed + 1)); }
# cmk with nothing of this machine's: a private HOME, an empty detection root, and every request
# to a closed loopback port unless the emulator is named.
cmk() {
    env -i PATH=/usr/bin:/bin HOME="$work/home" CMK_SYS_ROOT="$work/empty-root" \
        CMK_ENDPOINT_OVERRIDE=http://127.0.0.1:9 "${extra[@]}" "$release/bin/cmk" "$@" >"$work/out" 2>"$work/err"
    status=$?
}
expect() {  # expect DESCRIPTION STATUS [TEXT...]: the last run exited STATUS and printed each TEXT
    local description=$1 wanted=$2 text
    shift 2
    if ((status != wanted)); then
        fail "$description: exit $status, not $wanted" "$(cat "$work/out" "$work/err" | head -n 20)"
        return
    fi
    for text in "$@"; do
        grep -qF -- "$text" "$work/out" || { fail "$description: no '$text' in its output" "$(head -n 20 "$work/out")"; return; }
    done
    pass "$description (exit $status)"
}
extra=()

if [[ -z ${CMK_DIST_CHECK_VISIBLE:-} ]]; then
    if [[ -z $(ls -A "$toolchain" 2>/dev/null) ]] && ! command -v swift >/dev/null; then
        pass "the toolchain is hidden: $toolchain is empty, no swift on PATH"
    else
        fail "the toolchain is hidden" "$(ls -A "$toolchain" | head -n 3)" "swift: $(command -v swift)"
    fi
fi

cmk --version
expect "cmk --version" 0 "cmk " "fingerprint: clang version" "plugin ABI:"
sed 's/^/      /' "$work/out"
fingerprint=$(sed -n 's/^fingerprint: //p' "$work/out")

cmk status
expect "cmk status off-cloud" 3 "No platform detected"

cmk status --provider aws
expect "cmk status --provider aws" 0 "Ready"

cmk providers
if ((status == 0)) && [[ $(grep -c '(trusted)' "$work/out") == 2 ]] && grep -q '^aws ' "$work/out" &&
    grep -q '^azure ' "$work/out" && ! grep -qi 'skipped\|warning' "$work/err"; then
    pass "cmk providers: aws and azure, both trusted, nothing skipped"
else
    fail "cmk providers" "$(cat "$work/out" "$work/err")"
fi

read -ra extra <<<"$exports"
cmk status --provider azure --key-uri https://contoso-cmk.vault.azure.net/keys/cmk-key
expect "cmk status --provider azure, over https against the emulator" 0 "Provider: azure" "Ready"
extra=()

extra=(CMK_PLUGIN_PATH="$work/oot")
[[ -n $oot_fingerprint && $oot_fingerprint == "$fingerprint" ]] &&
    pass "the out-of-tree provider carries cmk's compiler fingerprint" ||
    fail "the out-of-tree provider's fingerprint" "provider: $oot_fingerprint" "cmk:      $fingerprint"
cmk providers
expect "CMK_PLUGIN_PATH=… cmk providers lists the out-of-tree provider" 0 "ctemplate " "$work/oot/libcmk-provider-ctemplate.so"
cmk providers verify "$work/oot/libcmk-provider-ctemplate.so"
expect "cmk providers verify on the out-of-tree provider" 0
extra=(CMK_PLUGIN_PATH="$work/oot" CMK_SYS_ROOT="$work/oot-root")
cmk status --key-id k-123
expect "the out-of-tree provider is detected and reports its checks" 0 "Provider: ctemplate"

extra=(CMK_PLUGIN_PATH="$work/oot-swift")
cmk providers
expect "a Swift out-of-tree provider (swift build -c release) loads, trusted" 0 "swiftoot " "(trusted)"
cmk status --provider swiftoot
expect "the Swift out-of-tree provider reports its checks" 0 "swiftoot-key" "Ready"
echo "$passed $failed" >"$work/counts"
CHECKS

if unshare -rm true 2>/dev/null; then
    echo "running the release in a user and mount namespace, with a tmpfs over $hide"
    unshare -rm "$0" --inside "$hide" bash "$work/checks.sh" "$release" "$work" "$hide" "$oot_fingerprint" "$emulator_exports"
else
    echo "namespaces are not allowed here: running with the toolchain in place (ldd above shows it is not used)"
    CMK_DIST_CHECK_VISIBLE=1 bash "$work/checks.sh" "$release" "$work" "$hide" "$oot_fingerprint" "$emulator_exports"
fi
read -r inside_passed inside_failed <"$work/counts" || { inside_passed=0; inside_failed=1; }
passed=$((passed + inside_passed))
failed=$((failed + inside_failed))
echo "dist-check: $passed passed, $failed failed"
((failed == 0))
