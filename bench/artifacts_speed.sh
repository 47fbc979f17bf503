#!/bin/sh
# Measures the artifact layer's speeds (SHA-256, store append+complete vs cp, pack/unpack) on a
# random file of SIZE_MB (default 90) and prints one line each. Needs the release test build:
#   swift build --scratch-path .build-test -c release --build-tests -Xswiftc -enable-testing
# (or set BUILD to another release build folder). Writes only under a temporary folder.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-.build-test/release}
SIZE_MB=${SIZE_MB:-90}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/frontier-artifact-speed.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# The benchmark links the modules' objects directly: no package target for a bench.
swiftc -O -module-cache-path "$WORK/modules" -I "$BUILD/Modules" -I "$BUILD/CSHA256.build" \
    bench/artifacts/ArtifactSpeed.swift \
    "$BUILD"/FrontierArtifacts.build/*.o "$BUILD"/FrontierSupport.build/*.o "$BUILD"/CSHA256.build/*.o \
    -o "$WORK/artifact-speed"
head -c $((SIZE_MB * 1000 * 1000)) /dev/urandom > "$WORK/source.bin"
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p')"
"$WORK/artifact-speed" "$WORK/source.bin" "$WORK"
