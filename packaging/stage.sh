#!/usr/bin/env bash
# Lays out a release tree from built products: what the tarball holds and what install.sh installs.
#
#   packaging/stage.sh BIN STAGE [--runtime]
#
# BIN holds cmk, libcmk-https.so and libcmk-provider-*.so (a `swift build` products directory).
# STAGE is made anew:
#   bin/cmk
#   lib/cmk/libcmk-https.so
#   lib/cmk/plugins/libcmk-provider-<name>.so
#   lib/cmk/swift/*.so                    (--runtime: the Swift runtime libraries these link)
#   share/man/man1/cmk.1
#   share/bash-completion/completions/cmk
#   share/zsh/site-functions/_cmk
#   share/fish/vendor_completions.d/cmk.fish
#   share/doc/cmk/README.md
#   README.md, install.sh
# --runtime copies, from the toolchain's runtime directory, exactly the libraries that the
# binaries need (DT_NEEDED, followed through the copied libraries), and nothing else of it.
# Our own binaries lose their debug sections (objcopy --strip-debug): symbols and the .comment
# section, which holds the compiler fingerprint the trust check compares, stay.
set -euo pipefail
umask 022

usage() { echo "usage: packaging/stage.sh BIN STAGE [--runtime]" >&2; exit 64; }
(($# >= 2)) || usage
bin=$1
stage=$2
runtime=0
[[ ${3:-} == --runtime ]] && runtime=1
[[ $# -le 3 && ( $# -eq 2 || $runtime -eq 1 ) ]] || usage
here=$(cd "$(dirname "$0")" && pwd)
repository=$(dirname "$here")

for file in cmk libcmk-https.so; do
    [[ -f $bin/$file ]] || { echo "stage: $bin/$file is missing; build first" >&2; exit 1; }
done
shopt -s nullglob
providers=("$bin"/libcmk-provider-*.so)
((${#providers[@]})) || { echo "stage: no libcmk-provider-*.so in $bin" >&2; exit 1; }

rm -rf "$stage"
mkdir -p "$stage"/{bin,lib/cmk/plugins,share/man/man1,share/bash-completion/completions}
mkdir -p "$stage"/share/{zsh/site-functions,fish/vendor_completions.d,doc/cmk}

# Copies a binary of ours without its debug sections.
put() { objcopy --strip-debug "$1" "$2" && chmod 0755 "$2"; }
put "$bin/cmk" "$stage/bin/cmk"
put "$bin/libcmk-https.so" "$stage/lib/cmk/libcmk-https.so"
for provider in "${providers[@]}"; do put "$provider" "$stage/lib/cmk/plugins/$(basename "$provider")"; done

needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*Shared library: \[\(.*\)\]/\1/p'; }

if ((runtime)); then
    # The toolchain's runtime directory, as the compiler reports it.
    runtime_dir=$(swiftc -print-target-info | awk '/"runtimeLibraryPaths"/ { getline; gsub(/[ ",]/, ""); print; exit }')
    [[ -d $runtime_dir ]] || { echo "stage: no Swift runtime directory ('$runtime_dir')" >&2; exit 1; }
    mkdir -p "$stage/lib/cmk/swift"
    queue=("$stage/bin/cmk" "$stage/lib/cmk/libcmk-https.so" "$stage"/lib/cmk/plugins/*.so)
    while ((${#queue[@]})); do
        file=${queue[0]}
        queue=("${queue[@]:1}")
        for library in $(needed "$file"); do
            [[ -f $runtime_dir/$library && ! -e $stage/lib/cmk/swift/$library ]] || continue
            install -m 0755 "$runtime_dir/$library" "$stage/lib/cmk/swift/$library"
            queue+=("$stage/lib/cmk/swift/$library")
        done
    done
fi

# Completions and the man page, from the staged cmk and the providers beside it: a clean
# environment, so that nothing of this machine's (CMK_PLUGIN_PATH, a config file) gets in.
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
generate() { env -i HOME="$home" PATH=/usr/bin:/bin "$stage/bin/cmk" __generate "$1"; }
generate man >"$stage/share/man/man1/cmk.1"
generate completions-bash >"$stage/share/bash-completion/completions/cmk"
generate completions-zsh >"$stage/share/zsh/site-functions/_cmk"
generate completions-fish >"$stage/share/fish/vendor_completions.d/cmk.fish"

install -m 0644 "$repository/README.md" "$stage/README.md"
install -m 0644 "$repository/README.md" "$stage/share/doc/cmk/README.md"
install -m 0755 "$here/install.sh" "$stage/install.sh"
chmod 0644 "$stage"/share/man/man1/cmk.1 "$stage"/share/bash-completion/completions/cmk \
    "$stage"/share/zsh/site-functions/_cmk "$stage"/share/fish/vendor_completions.d/cmk.fish
find "$stage" -type d -exec chmod 0755 {} +
