#!/usr/bin/env bash
# Regenerates Sources/FrontierWire/frontier.pb.swift from proto/frontier.proto. Run by hand after
# changing the schema and commit the result: CI never builds the protoc plugin (a first build
# of it takes minutes). Needs Debian's protoc and protoc-gen-swift on PATH, or
# PROTOC_GEN_SWIFT=/path/to/protoc-gen-swift, built from the same swift-protobuf version as
# Package.swift resolves (`swift build -c release --product protoc-gen-swift` in a checkout).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
plugin=${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}
if [ -z "$plugin" ]; then
  echo "generate-proto: protoc-gen-swift not found; set PROTOC_GEN_SWIFT" >&2
  exit 1
fi
protoc --plugin=protoc-gen-swift="$plugin" \
  --swift_opt=Visibility=Public \
  --swift_out="$root/Sources/FrontierWire" \
  -I "$root/proto" "$root/proto/frontier.proto"
echo "generate-proto: wrote Sources/FrontierWire/frontier.pb.swift"
