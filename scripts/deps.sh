#!/usr/bin/env bash
# Makes sure what a make target needs is installed: Debian packages through
# apt when run as root, otherwise the exact command to run.
#   scripts/deps.sh run|test|bench
set -euo pipefail
target=${1:-test}

if ! command -v swift >/dev/null; then
    echo "deps: swift is not on PATH: install Swift 6 (https://www.swift.org/install/linux/) and add it to PATH" >&2
    exit 1
fi

# command → Debian package
declare -A needed=()
case "$target" in
    run) ;;
    test)
        needed=([protoc]=protobuf-compiler [protoc-c]=protobuf-c-compiler [pkg-config]=pkg-config [python3]=python3 [man]=man-db
            [ssh]=openssh-client [ssh-keygen]=openssh-client [unshare]=util-linux)
        ;;
    bench)
        needed=([redis-server]=redis-server [redis-benchmark]=redis-tools)
        ;;
esac
packages=()
for command in "${!needed[@]}"; do
    command -v "$command" >/dev/null || packages+=("${needed[$command]}")
done
if [ "$target" = test ] && ! pkg-config --exists libprotobuf-c 2>/dev/null; then packages+=(libprotobuf-c-dev); fi
# The Python client's tests run in a venv (scripts/python-test.sh).
if [ "$target" = test ] && ! python3 -c 'import ensurepip, venv' 2>/dev/null; then packages+=(python3-venv); fi

# The SSH forwarding test runs OpenSSH's own sshd, unpacked from its Debian
# package under .build: installing openssh-server would start an SSH server
# on this machine.
openssh=.build/openssh
if [ "$target" = test ] && [ ! -x /usr/sbin/sshd ] && [ ! -x "$openssh/usr/sbin/sshd" ]; then
    mkdir -p "$openssh/debs"
    download() { (cd "$openssh/debs" && apt-get download openssh-server libwrap0 >/dev/null 2>&1); }
    if ! download && { [ "$(id -u)" != 0 ] || ! apt-get update -qq >/dev/null || ! download; }; then
        echo "deps: cannot download openssh-server; run: sudo apt-get update && (cd $openssh/debs && apt-get download openssh-server libwrap0)" >&2
        exit 1
    fi
    for deb in "$openssh"/debs/*.deb; do dpkg-deb -x "$deb" "$openssh"; done
fi

[ ${#packages[@]} -eq 0 ] && exit 0
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "deps: installing ${packages[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${packages[@]}" >/dev/null
else
    echo "deps: missing packages; run: sudo apt-get install -y ${packages[*]}" >&2
    exit 1
fi
