"""Check a checkpoint written by ct2-to-openai.py against the CTranslate2 folder it came from.

Loads it with the OpenAI Whisper code WhisperLiveKit ships (whisperlivekit.whisper) and the folder with faster-whisper,
both float32 on the CPU, and compares: the alignment heads with OpenAI's table for that model name (when it has one),
the encoder output on the same features, and greedy transcripts of real clips. Exits 1 when a transcript differs.

Usage (WhisperLiveKit's venv): python check-ct2-to-openai.py CT2_DIR OUT_DIR WAV...
"""

import base64
import gzip
import sys
from pathlib import Path

import ctranslate2
import numpy as np
import torch
from faster_whisper import WhisperModel, decode_audio
from whisperlivekit.whisper import _ALIGNMENT_HEADS, load_model


def mask(b85: bytes | str) -> np.ndarray:
    return np.frombuffer(gzip.decompress(base64.b85decode(b85)), dtype=bool)


def main() -> None:
    ct2_dir, out_dir, wavs = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
    name = out_dir.resolve().name
    heads = (out_dir / "alignment-heads.txt").read_text().strip()
    if name in _ALIGNMENT_HEADS:
        same = bool((mask(heads) == mask(_ALIGNMENT_HEADS[name])).all())
        print(f"alignment heads equal OpenAI's table for {name}: {same}")
        if not same:
            sys.exit(1)
    torch.set_num_threads(2)
    model = load_model(str(out_dir / f"{name}.pt"), device="cpu", custom_alignment_heads=heads).eval()
    print("alignment heads:", model.alignment_heads.to_dense().nonzero().tolist())
    reference = WhisperModel(str(ct2_dir), device="cpu", compute_type="float32", cpu_threads=2)

    ok = True
    for i, wav in enumerate(wavs):
        audio = decode_audio(wav)
        if i == 0:
            # the same log-mel features through both encoders
            features = reference.feature_extractor(audio)[:, :3000]
            features = np.pad(features, ((0, 0), (0, 3000 - features.shape[1]))).astype(np.float32)[None]
            ct2_out = np.array(reference.model.encode(ctranslate2.StorageView.from_array(features), to_cpu=True))
            with torch.no_grad():
                pt_out = model.encoder(torch.from_numpy(features)).numpy()
            print(f"encoder output: max |openai - ct2| {np.abs(pt_out - ct2_out).max():.2e} (values up to {np.abs(ct2_out).max():.1f})")
        with torch.no_grad():
            mine = model.transcribe(
                torch.from_numpy(audio), language="en", temperature=0.0, fp16=False, condition_on_previous_text=False, without_timestamps=True
            )["text"].strip()
        segments, _ = reference.transcribe(
            audio, language="en", beam_size=1, temperature=0.0, condition_on_previous_text=False, without_timestamps=True, vad_filter=False
        )
        theirs = " ".join(s.text.strip() for s in segments)
        print(f"{Path(wav).name}\n  converted (openai code): {mine}\n  faster-whisper (ct2):    {theirs}")
        ok = ok and mine == theirs
    print("transcripts identical" if ok else "TRANSCRIPTS DIFFER")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
