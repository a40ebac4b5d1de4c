#!/usr/bin/env bash
# The Python the CTC tests use to build their models and transformers' reference answers:
# CPU-only torch 2.13.0 + transformers in .earshot/ctc-venv (git-ignored, reused when present).
# PyPI's default torch wheel pulls the CUDA packages (GBs); the CPU build comes from the machine's
# wheel folder when it has one (these machines: /opt/wheels via pip's find-links), else from
# PyTorch's CPU index.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.earshot/ctc-venv
if "$venv/bin/python" -c 'import torch, transformers, safetensors' 2>/dev/null; then exit 0; fi
rm -rf "$venv"
python3 -m venv "$venv"
if ! "$venv/bin/pip" install -q 'torch==2.13.0' --only-binary=:all: --no-deps 2>/dev/null || ! "$venv/bin/python" -c 'import torch; assert torch.version.cuda is None'; then
  "$venv/bin/pip" install -q 'torch==2.13.0' --index-url https://download.pytorch.org/whl/cpu
fi
"$venv/bin/pip" install -q 'torch==2.13.0' 'transformers==5.24.0' 'safetensors==0.8.0' 'numpy==2.4.6'
"$venv/bin/python" -c 'import torch, transformers; print("ctc venv: torch", torch.__version__, "transformers", transformers.__version__)'
