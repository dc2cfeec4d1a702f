#!/bin/sh
# Installs this cmk release, or removes what an earlier run installed.
#
#   ./install.sh [PREFIX]              install into PREFIX (default /usr/local)
#   ./install.sh --user                install into ~/.local
#   ./install.sh --uninstall [PREFIX]  remove exactly what was installed there (also --user)
#
# Layout: PREFIX/bin/cmk, PREFIX/lib/cmk/ (providers under plugins/, the https transport, the
# Swift runtime under swift/), PREFIX/share/{man,bash-completion,zsh,fish,doc}. Every file and
# directory installed is 0755 or 0644, owned by whoever runs this (root for a system install):
# cmk refuses providers that anyone else could replace. Each path installed, and each directory
# created, is written to PREFIX/lib/cmk/install-manifest; --uninstall removes those and nothing
# else (a directory only when it is empty). This script is installed as PREFIX/lib/cmk/install.sh
# so that `PREFIX/lib/cmk/install.sh --uninstall` works without the tarball.
set -eu
umask 022

usage() {
    echo "usage: install.sh [PREFIX] | install.sh --user | install.sh --uninstall [PREFIX|--user]" >&2
    exit 64
}

source_dir=$(cd "$(dirname "$0")" && pwd)
action=install
prefix=
for argument in "$@"; do
    case $argument in
    --uninstall) action=uninstall ;;
    --user) [ -z "$prefix" ] || usage; prefix=${HOME:?HOME is not set}/.local ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) usage ;;
    *) [ -z "$prefix" ] || usage; prefix=$argument ;;
    esac
done
if [ -z "$prefix" ]; then
    # Run as PREFIX/lib/cmk/install.sh, the default is that PREFIX.
    case $source_dir in
    */lib/cmk) [ -f "$source_dir/install-manifest" ] && prefix=${source_dir%/lib/cmk} ;;
    esac
    prefix=${prefix:-/usr/local}
fi
case $prefix in /*) ;; *) prefix=$(pwd)/$prefix ;; esac
[ "$prefix" = / ] || prefix=${prefix%/}
[ -d "$prefix" ] && prefix=$(cd "$prefix" && pwd)
manifest=$prefix/lib/cmk/install-manifest

# Removes the files of a manifest; prints the directories it had created, for the caller.
remove_files() {
    while IFS= read -r line; do
        path=${line#? }
        case $line in
        "F "*) if [ -f "$path" ] || [ -L "$path" ]; then rm -f "$path"; fi ;;
        "D "*) printf '%s\n' "$path" ;;
        esac
    done <"$1"
}

# Removes, deepest first, the directories listed on stdin that are empty.
remove_empty_directories() {
    sort -r | while IFS= read -r directory; do
        rmdir "$directory" 2>/dev/null || true
    done
}

if [ "$action" = uninstall ]; then
    [ -f "$manifest" ] || { echo "install.sh: nothing to uninstall: no $manifest" >&2; exit 1; }
    directories=$(remove_files "$manifest")
    rm -f "$manifest"
    printf '%s\n' "$directories" | sed '/^$/d' | remove_empty_directories
    echo "Removed cmk from $prefix."
    exit 0
fi

[ -x "$source_dir/bin/cmk" ] && [ -d "$source_dir/lib/cmk/plugins" ] ||
    { echo "install.sh: run the install.sh of an unpacked cmk release (no bin/cmk beside $0)" >&2; exit 1; }

# An earlier install: its files go (a newer release may have fewer), the directories it created stay on record.
new_manifest=$(mktemp)
trap 'rm -f "$new_manifest"' EXIT
if [ -f "$manifest" ]; then
    remove_files "$manifest" | sed 's/^/D /' >>"$new_manifest"
fi

# Creates a directory and its missing parents, 0755, recording each one it created.
make_directory() {
    [ -d "$1" ] && return 0
    make_directory "$(dirname "$1")"
    mkdir -m 0755 "$1"
    printf 'D %s\n' "$1" >>"$new_manifest"
}

# Copies one file, 0755 if it is executable in the release, else 0644, and records it.
put() {
    make_directory "$(dirname "$2")"
    if [ -x "$1" ]; then mode=0755; else mode=0644; fi
    # install(1) replaces the file (a new inode): a running cmk keeps the libraries it mapped.
    install -m "$mode" "$1" "$2"
    printf 'F %s\n' "$2" >>"$new_manifest"
}

make_directory "$prefix"
(cd "$source_dir" && find bin lib share -type f | LC_ALL=C sort) | while IFS= read -r file; do
    case $file in lib/cmk/install-manifest | lib/cmk/install.sh) continue ;; esac
    put "$source_dir/$file" "$prefix/$file"
done
put "$source_dir/install.sh" "$prefix/lib/cmk/install.sh"
LC_ALL=C sort -u "$new_manifest" >"$manifest"
chmod 0644 "$manifest"

# The check cmk makes before loading a provider: each directory above it owned by root or the
# user, writable by nobody else (a root-owned sticky directory such as /tmp is fine).
uid=$(id -u)
directory=$prefix/lib/cmk/plugins
while :; do
    owner=$(stat -L -c %u "$directory")
    mode=$(stat -L -c %a "$directory")
    writable=$(( 0$mode & 022 ))
    sticky=$(( 0$mode & 01000 ))
    if [ "$owner" != 0 ] && [ "$owner" != "$uid" ]; then
        echo "Warning: $directory is owned by uid $owner: cmk will refuse the providers; run: chown $uid $directory" >&2
    elif [ "$writable" != 0 ] && ! { [ "$sticky" != 0 ] && [ "$owner" = 0 ]; }; then
        echo "Warning: $directory is writable by group or others: cmk will refuse the providers; run: chmod go-w $directory" >&2
    fi
    [ "$directory" = / ] && break
    directory=$(dirname "$directory")
done

echo "Installed $("$prefix/bin/cmk" --version | head -n 1) into $prefix ($(grep -c '^F ' "$manifest") files)."
case ":${PATH:-}:" in *":$prefix/bin:"*) ;; *) echo "Add $prefix/bin to PATH to run cmk." ;; esac
echo "Uninstall with: $prefix/lib/cmk/install.sh --uninstall"
