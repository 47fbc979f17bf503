#!/usr/bin/env bash
# Create the Python virtual environment for Frontier's tools (goldens, ONNX Runtime comparison).
#
#   tools/setup_venv.sh [VENV_DIR]
#
# VENV_DIR: first argument, else $FRONTIER_TOOLS_VENV, else .venv-tools in the repository root
# (git-ignored). Environment:
#   PYTHON           interpreter to build the venv from (default: python3; needs 3.10 or newer)
#   TORCH_INDEX_URL  optional extra index for torch, e.g. https://download.pytorch.org/whl/cpu for
#                    the CPU-only build (default: PyPI only)
#   PIP_INDEX_URL    honoured by pip as usual
#
# Re-running is safe: an existing venv is reused and brought to the pinned versions.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-${FRONTIER_TOOLS_VENV:-$repo/.venv-tools}}"
python="${PYTHON:-python3}"

if ! command -v "$python" >/dev/null 2>&1; then
    echo "error: $python not found; set PYTHON to a Python 3.10+ interpreter" >&2
    exit 1
fi
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
    echo "error: $("$python" --version 2>&1) is too old; Python 3.10 or newer is needed" >&2
    exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
    echo "creating venv at $venv with $("$python" --version 2>&1)"
    "$python" -m venv "$venv"
else
    echo "reusing venv at $venv"
fi

"$venv/bin/python" -m pip install --disable-pip-version-check --quiet --upgrade pip
extra=()
if [ -n "${TORCH_INDEX_URL:-}" ]; then
    extra+=(--extra-index-url "$TORCH_INDEX_URL")
fi
"$venv/bin/python" -m pip install --disable-pip-version-check ${extra[@]+"${extra[@]}"} -r "$repo/tools/requirements.txt"

# Smoke check: every tool import works and the PRNG matches its reference values.
"$venv/bin/python" - <<'PY'
import numpy, torch, transformers, tokenizers, onnx, onnxruntime, safetensors, scipy, sklearn
from onnxruntime.transformers import optimizer  # noqa: F401  (used by bench/compare_onnxruntime.py)
print(f"torch {torch.__version__}, transformers {transformers.__version__}, tokenizers {tokenizers.__version__}, "
      f"onnxruntime {onnxruntime.__version__}, numpy {numpy.__version__}")
PY
(cd "$repo" && "$venv/bin/python" -c 'import sys; sys.path.insert(0, "tools"); import prng; prng.self_check(); print("tools/prng.py self-check ok")')
echo "ready: $venv/bin/python tools/make_goldens.py | bench/compare_onnxruntime.py"
