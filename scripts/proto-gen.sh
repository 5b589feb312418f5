#!/usr/bin/env bash
# Regenerates everything that is generated from proto/: the Swift code
# (swift-protobuf's protoc-gen-swift), the C code (protoc-c), the descriptor
# set that Admin/Describe serves, and the stamp that says which proto/ they
# were made from. protoc-gen-swift is built once into .build-protoc-gen-swift/.
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT_PROTOBUF_VERSION=1.39.0
SWIFT_OUT=Sources/DIPlanWire/Generated
C_OUT=Sources/CDIPlanClient/generated
PROTOSET=Sources/DIPlanWire/Resources/diplan.protoset
# The Python client's modules: diplan's own protos only (a top-level `grpc` package would shadow grpcio's).
PY_OUT=clients/python/diplan_client/_generated
PLUGIN_DIR=.build-protoc-gen-swift
PLUGIN="$PLUGIN_DIR/src/.build/release/protoc-gen-swift"

for tool in protoc protoc-c; do
    command -v "$tool" >/dev/null || { echo "proto-gen: $tool is missing: apt-get install protobuf-compiler protobuf-c-compiler" >&2; exit 1; }
done

if [ ! -x "$PLUGIN" ]; then
    echo "proto-gen: building protoc-gen-swift $SWIFT_PROTOBUF_VERSION (once; a minute or more)" >&2
    rm -rf "$PLUGIN_DIR" && mkdir -p "$PLUGIN_DIR"
    git clone --quiet --depth 1 --branch "$SWIFT_PROTOBUF_VERSION" https://github.com/apple/swift-protobuf "$PLUGIN_DIR/src"
    (cd "$PLUGIN_DIR/src" && swift build -c release --product protoc-gen-swift >/dev/null)
fi

mapfile -t PROTOS < <(cd proto && find . -name '*.proto' | sed 's|^\./||' | LC_ALL=C sort)

rm -rf "$SWIFT_OUT" "$C_OUT" "$PY_OUT"
mkdir -p "$SWIFT_OUT" "$C_OUT" "$PY_OUT" "$(dirname "$PROTOSET")"
protoc -I proto --plugin=protoc-gen-swift="$PLUGIN" \
    --swift_opt=Visibility=Package --swift_opt=FileNaming=PathToUnderscores \
    --swift_out="$SWIFT_OUT" "${PROTOS[@]}"
protoc -I proto --c_out="$C_OUT" "${PROTOS[@]}"
protoc -I proto --python_out="$PY_OUT" $(printf '%s\n' "${PROTOS[@]}" | grep '^diplan/')
protoc -I proto --include_imports --include_source_info=false --descriptor_set_out="$PROTOSET" "${PROTOS[@]}"
scripts/proto-stamp.sh > "$SWIFT_OUT/proto.sha256"
echo "proto-gen: regenerated from ${#PROTOS[@]} files" >&2
