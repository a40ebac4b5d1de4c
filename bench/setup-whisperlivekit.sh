#!/usr/bin/env bash
# The streaming peer for `npm run bench -- --only stream --peer whisperlivekit`: WhisperLiveKit 0.2.26
# (faster-whisper backend) in a git-ignored venv, bench/.venv-wlk. Its code is never part of Earshot.
# `--peer-policy simulstreaming` also needs an OpenAI-format checkpoint for its PyTorch decoder: converted
# here from the CTranslate2 base folder (bench/ct2-to-openai.py, into the git-ignored bench/.wlk-models/base;
# skipped when model.bin is unchanged). The benchmark converts it itself when it is missing or stale.
#
# PyTorch: whisperlivekit requires torch + torchaudio. PyPI's Linux torch wheel pulls ~2.5 GB of CUDA
# packages, so a CPU wheel is taken from a local file (WLK_TORCH_WHEEL, default: the one in /opt/wheels).
# torchaudio, which its metadata lists,
# is left out: no PyPI build matches this torch, and whisperlivekit never imports it. The Silero VAD is the copy bundled in
# the whisperlivekit wheel: nothing is fetched from GitHub at run time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv-wlk"
torch_wheel="${WLK_TORCH_WHEEL:-$(ls /opt/wheels/torch-*+cpu-cp311-*.whl 2>/dev/null | head -n1 || true)}"
python3 -m venv "$venv"
pip="$venv/bin/pip"
if [ -z "$torch_wheel" ]; then
  echo "no CPU torch wheel: set WLK_TORCH_WHEEL to a torch-*+cpu wheel for this Python" >&2
  exit 1
fi
"$pip" install -q "$torch_wheel"
"$pip" install -q --no-deps whisperlivekit==0.2.26   # its deps below, without torchaudio
"$pip" install -q faster-whisper==1.2.1 ctranslate2==4.8.5 "fastapi>=0.141.1" librosa soundfile uvicorn websockets \
  huggingface-hub tiktoken "python-multipart>=0.0.31" "starlette>=1.3.1" tqdm
"$venv/bin/python" -c 'import whisperlivekit, faster_whisper, torch; print("whisperlivekit ready, torch", torch.__version__)'
ct2="${EARSHOT_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/earshot}/cache/ct2/base"
if [ -f "$ct2/model.bin" ]; then
  "$venv/bin/python" "$here/ct2-to-openai.py" "$ct2" "$here/.wlk-models/base"
else
  echo "no CTranslate2 base folder at $ct2 (npm run fetch:test-models): SimulStreaming's checkpoint is converted on its first run" >&2
fi
