#!/usr/bin/env bash
# Fails when the committed generated code is stale: the proto/ stamp must
# match, and the C code, the Python modules and the descriptor set (cheap to make) are regenerated
# into a temporary directory and compared byte for byte.
set -euo pipefail
cd "$(dirname "$0")/.."
stale=0
if ! diff -u Sources/DIPlanWire/Generated/proto.sha256 <(scripts/proto-stamp.sh) >&2; then
    echo "proto-check: proto/ changed since the Swift code was generated: run 'make proto'" >&2
    stale=1
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mapfile -t PROTOS < <(cd proto && find . -name '*.proto' | sed 's|^\./||' | LC_ALL=C sort)
mkdir -p "$tmp/c"
protoc -I proto --c_out="$tmp/c" "${PROTOS[@]}"
if ! diff -r "$tmp/c" Sources/CDIPlanClient/generated >&2; then
    echo "proto-check: the C code differs from what protoc-c makes of proto/: run 'make proto'" >&2
    stale=1
fi
mkdir -p "$tmp/python"
protoc -I proto --python_out="$tmp/python" $(printf '%s\n' "${PROTOS[@]}" | grep '^diplan/')
if ! diff -r "$tmp/python" clients/python/diplan_client/_generated >&2; then
    echo "proto-check: the Python modules differ from what protoc makes of proto/: run 'make proto'" >&2
    stale=1
fi
protoc -I proto --include_imports --include_source_info=false --descriptor_set_out="$tmp/set" "${PROTOS[@]}"
if ! cmp -s "$tmp/set" Sources/DIPlanWire/Resources/diplan.protoset; then
    echo "proto-check: the descriptor set differs from proto/: run 'make proto'" >&2
    stale=1
fi
exit $stale
