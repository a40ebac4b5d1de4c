"""faster-whisper side of `npm run bench`: loads one CTranslate2 Whisper folder once, then transcribes
the jobs it reads from stdin (one JSON object per line) and answers each with one JSON line on stdout.

Audio arrives as raw little-endian float32 16 kHz mono files that the Node side decoded, so both
engines see exactly the same samples. Timing covers transcribe() plus draining its segment generator
(faster-whisper decodes lazily), and nothing else: reading the file is outside the clock.

Requests:  {"id": "...", "pcm": "/path.f32", "language": "en", "beam_size": 1, "best_of": 1, "vad_filter": false}
           {"id": "...", "cmd": "memory"}   -> peak/current RSS of this process
Replies:   {"type": "ready", "load_s": ..., "versions": {...}}
           {"type": "result", "id": ..., "seconds": ..., "text": ..., "segments": n}
           {"type": "memory", "id": ..., "hwm_kb": ..., "rss_kb": ...}
           {"type": "error", "id": ..., "message": ...}
"""

import argparse
import json
import sys
import time


def emit(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def proc_status_kb(field):
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, help="CTranslate2 Whisper folder")
    parser.add_argument("--compute-type", default="int8")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    started = time.perf_counter()
    import ctranslate2
    import faster_whisper
    import numpy
    from faster_whisper import WhisperModel

    model = WhisperModel(
        args.model,
        device="cpu",
        compute_type=args.compute_type,
        cpu_threads=args.threads,
        num_workers=1,
        local_files_only=True,
    )
    emit(
        {
            "type": "ready",
            "load_s": time.perf_counter() - started,
            "versions": {"faster_whisper": faster_whisper.__version__, "ctranslate2": ctranslate2.__version__},
            "compute_type": model.model.compute_type,
        }
    )

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        job = json.loads(line)
        job_id = job.get("id")
        try:
            if job.get("cmd") == "memory":
                emit({"type": "memory", "id": job_id, "hwm_kb": proc_status_kb("VmHWM"), "rss_kb": proc_status_kb("VmRSS")})
                continue
            audio = numpy.fromfile(job["pcm"], dtype="<f4")
            clock = time.perf_counter()
            segments, _info = model.transcribe(
                audio,
                language=job.get("language", "en"),
                task="transcribe",
                beam_size=job.get("beam_size", 1),
                best_of=job.get("best_of", 1),
                patience=1,
                # Fallback in 0.2 steps, as on the Earshot side (temperature_inc 0.2, the server default).
                temperature=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
                condition_on_previous_text=True,
                # whisper.cpp suppresses blanks but not the non-speech symbol set by default.
                suppress_blank=True,
                suppress_tokens=[],
                without_timestamps=False,
                word_timestamps=False,
                vad_filter=bool(job.get("vad_filter", False)),
            )
            texts = [segment.text for segment in segments]
            seconds = time.perf_counter() - clock
            emit({"type": "result", "id": job_id, "seconds": seconds, "text": "".join(texts).strip(), "segments": len(texts)})
        except Exception as error:  # report and go on: one bad job must not end the run
            emit({"type": "error", "id": job_id, "message": f"{type(error).__name__}: {error}"})


if __name__ == "__main__":
    main()
