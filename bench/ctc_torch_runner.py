"""The PyTorch peer of the CTC benchmark: what seed 004 runs (Wav2Vec2ForCTC on torch, CPU).

Loads the model folder, transcribes the same audio (raw f32, 16 kHz) `--reps` times after one
warm-up with `--threads` intra-op threads, prints JSON: seconds per run, peak RSS.
"""
import argparse
import json
import resource
import time

import numpy as np
import torch
from transformers import Wav2Vec2ForCTC, Wav2Vec2Processor


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--audio", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    audio = np.fromfile(a.audio, dtype="<f4")
    processor = Wav2Vec2Processor.from_pretrained(a.model)
    model = Wav2Vec2ForCTC.from_pretrained(a.model).eval()

    def run() -> str:
        with torch.inference_mode():
            features = processor(audio, sampling_rate=16000, return_tensors="pt")
            ids = model(features.input_values).logits.argmax(dim=-1)
        return processor.batch_decode(ids)[0]

    run()
    seconds = []
    for _ in range(a.reps):
        t = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - t)
    print(json.dumps({"seconds": seconds, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
