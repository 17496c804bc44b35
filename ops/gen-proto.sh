#!/usr/bin/env bash
# Regenerates Sources/PeerProtocol/Generated/ from proto/ (the generated Swift is committed; CI does not run this).
# Needs protoc (Debian's protobuf-compiler) and builds protoc-gen-swift from the swift-protobuf version the package
# resolves, so the generated code and the runtime library always match.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v protoc >/dev/null; then
    apt-get install -y -q protobuf-compiler >/dev/null
fi
swift package resolve >/dev/null
plugin_build=.build-protoc-gen-swift
swift build -c release --package-path .build/checkouts/swift-protobuf --scratch-path "$plugin_build" \
    --product protoc-gen-swift >/dev/null
plugin="$plugin_build/release/protoc-gen-swift"

out=Sources/PeerProtocol/Generated
mkdir -p "$out"
protoc --plugin=protoc-gen-swift="$plugin" \
    --swift_out="$out" --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath \
    -I proto proto/lvsync/peer/v1/peer.proto
echo "generated: $(ls "$out")"
