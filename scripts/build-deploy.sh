#!/usr/bin/env bash
# Builds frontier and frontier-agent for a fleet (Slurm nodes, systemd machines): release, with
# the Swift runtime and Foundation linked in (--static-swift-stdlib), so the machines that run
# them need no Swift toolchain, only libopenblas0, libzmq5 and libsqlite3-0 (docs/deploy.md,
# section 1). Copies the two executables to DEST (default dist/bin), and checks with ldd that no
# Swift library is linked dynamically.
#
#   bash scripts/build-deploy.sh [DEST]
#   export FRONTIER_BIN_DIR=$PWD/dist/bin       # for deploy/slurm/*.sbatch
#
# Its own build folder (.build-deploy), so it does not rebuild the test or run-main builds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dest=${1:-$root/dist/bin}
scratch=${FRONTIER_DEPLOY_BUILD:-$root/.build-deploy}
bash scripts/install-deps.sh
swift build --scratch-path "$scratch" -c release --static-swift-stdlib --product frontier >&2
swift build --scratch-path "$scratch" -c release --static-swift-stdlib --product frontier-agent >&2
mkdir -p "$dest"
for exe in frontier frontier-agent; do
    install -m 0755 "$scratch/release/$exe" "$dest/$exe"
    if ldd "$dest/$exe" | grep -E 'libswift|libFoundation|libdispatch' >&2; then
        echo "build-deploy: $dest/$exe links a Swift library dynamically (above): not deployable without the toolchain" >&2
        exit 1
    fi
done
echo "build-deploy: $dest/frontier and $dest/frontier-agent ($("$dest/frontier" version 2>&1 | head -n 1)); no Swift runtime needed on the nodes"
