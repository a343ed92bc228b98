#!/usr/bin/env bash
# Create .venv and install depthforge with its test tools. Safe to re-run.
# DEPTHFORGE_TORCH overrides the PyTorch requirement (e.g. "torch torchvision" for the newest
# release, or a CPU wheel index); the default is a tested pair.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
if ! .venv/bin/python -c "import torch, torchvision" 2>/dev/null; then
  # shellcheck disable=SC2086
  .venv/bin/python -m pip install -q ${DEPTHFORGE_TORCH:-torch==2.14.1 torchvision==0.29.1} 2>&1 \
    | grep -v '^WARNING: Location' || true
fi
.venv/bin/python -m pip install -q -e ".[test,onnx,mesh,video,annotate]" 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -c "import depthforge, torch; print(f'depthforge {depthforge.__version__}, torch {torch.__version__}')"
