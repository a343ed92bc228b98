#!/usr/bin/env bash
# Create .venv and install depthforge with its test tools. Safe to re-run.
# DEPTHFORGE_TORCH overrides the PyTorch requirement (e.g. "torch torchvision" for the newest
# release); the default is a tested pair. For a CPU-only build (a few hundred MB instead of several
# GB of CUDA libraries), pass PyTorch's CPU wheel index:
#   DEPTHFORGE_TORCH="torch==2.14.1 torchvision==0.29.1 --index-url https://download.pytorch.org/whl/cpu"
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
step() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
if [ -x .venv/bin/python ]; then
  step "using the existing .venv"
else
  step "creating .venv with $("$PYTHON" --version 2>&1)"
  "$PYTHON" -m venv .venv
fi
step "upgrading pip"
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
if .venv/bin/python -c "import torch, torchvision" 2>/dev/null; then
  step "PyTorch already installed: $(.venv/bin/python -c 'import torch; print(torch.__version__)')"
else
  TORCH_SPEC="${DEPTHFORGE_TORCH:-torch==2.14.1 torchvision==0.29.1}"
  step "installing PyTorch ($TORCH_SPEC); the default build from PyPI bundles CUDA and is"
  step "several GB: this is the long step (minutes). See the README for a CPU-only build."
  # shellcheck disable=SC2086
  .venv/bin/python -m pip install --progress-bar off $TORCH_SPEC 2>&1 \
    | grep --line-buffered -E '^(Collecting|Downloading|Installing|Successfully|ERROR)' \
    | sed -u 's/^/    /' || true
fi
step "installing depthforge (editable) with the test, onnx, mesh, video, convert and annotate extras"
.venv/bin/python -m pip install -q -e ".[test,onnx,mesh,video,convert,annotate]" 2>&1 | grep -v '^WARNING: Location' || true
# System packages of the annotation service's tests: Chromium and its driver (the browser test)
# and PostgreSQL (the store tests on a real server). Installed here when running as root on
# Debian/Ubuntu; otherwise the one command needed is printed (those tests skip without them).
DEBS="chromium chromium-driver postgresql"
missing=""
for p in $DEBS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  step "installing Debian packages for the annotation service's tests:$missing"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq $missing >/dev/null
  else
    echo "For the annotation service's browser and PostgreSQL tests: sudo apt-get install -y$missing"
  fi
fi
.venv/bin/python -c "import depthforge, torch; print(f'depthforge {depthforge.__version__}, torch {torch.__version__}')"
step "done"
