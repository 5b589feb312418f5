#!/usr/bin/env bash
# Prints the stamp of proto/: the SHA-256 of every .proto file and the
# generator versions. The generated code is current when this equals the
# committed Sources/DIPlanWire/Generated/proto.sha256.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "swift-protobuf 1.39.0 Visibility=Package FileNaming=PathToUnderscores"
(cd proto && find . -name '*.proto' | LC_ALL=C sort | xargs sha256sum)
