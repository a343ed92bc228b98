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
# System packages of the annotation service's tests: Chromium and its driver (the browser test)
# and PostgreSQL (the store tests on a real server). Installed here when running as root on
# Debian/Ubuntu; otherwise the one command needed is printed (those tests skip without them).
DEBS="chromium chromium-driver postgresql"
missing=""
for p in $DEBS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq $missing >/dev/null
  else
    echo "For the annotation service's browser and PostgreSQL tests: sudo apt-get install -y$missing"
  fi
fi
.venv/bin/python -c "import depthforge, torch; print(f'depthforge {depthforge.__version__}, torch {torch.__version__}')"
