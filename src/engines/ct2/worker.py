"""earshot-ct2-worker: one CTranslate2 Whisper model (through faster-whisper), driven over stdio.

It speaks the whisper.cpp worker's protocol (native/worker.cpp) byte for byte, so the same pool,
queue, watchdogs and restarts drive both engines:
  framing, both directions: u32 little-endian length, then that many bytes of UTF-8 JSON;
  a "transcribe" frame is followed by `bytes` bytes of little-endian float32 PCM, 16 kHz mono.
  host -> worker: transcribe | cancel | ping | shutdown
  worker -> host: ready | segment | progress | result | error | pong | fatal
Times are centiseconds, as whisper.cpp reports them.

Cancellation is checked before and after every CTranslate2 pass (an encoder pass, a decode, a
language detection, a word alignment), so a cancelled job stops within one pass — CTranslate2 has no
way to stop a pass midway; the host kills the process if a cancelled job outlives its grace period.
"""

import argparse
import json
import os
import struct
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

OUT = sys.stdout.buffer
IN = sys.stdin.buffer
OUT_LOCK = threading.Lock()


def write_frame(message):
    body = json.dumps(message, ensure_ascii=False).encode("utf-8")
    with OUT_LOCK:
        OUT.write(struct.pack("<I", len(body)))
        OUT.write(body)
        OUT.flush()


def read_exact(n):
    chunks = []
    while n > 0:
        chunk = IN.read(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


# Windows decoded together: 8 keeps the encoder and decoder matrices large on a CPU without much memory.
BATCH_SIZE = 8
# Undecoded audio at the end of a window, after its last segment, that is decoded again (decode_windows).
TAIL_SECONDS = 1.0


class Cancelled(Exception):
    pass


# The abort flag of the job running on this thread (jobs run on a thread pool, one job per thread).
CURRENT = threading.local()


def check_abort():
    flag = getattr(CURRENT, "abort", None)
    if flag is not None and flag.is_set():
        raise Cancelled()


class AbortableWhisper:
    """The ctranslate2.models.Whisper faster-whisper drives, checking the running job's abort flag
    around each of its passes: faster-whisper only yields between windows, and a batched call covers
    many windows."""

    PASSES = ("encode", "generate", "detect_language", "align")

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        value = getattr(self._inner, name)
        if name not in AbortableWhisper.PASSES:
            return value

        def checked(*args, **kwargs):
            check_abort()
            result = value(*args, **kwargs)
            check_abort()
            return result

        return checked


def repeats(tokens, longest=8):
    """A decoder loop: the same run of 1-3 tokens three times in a row, or of 4-8 tokens twice
    (native/worker.cpp has the same rule)."""
    for n in range(1, longest + 1):
        times = 3 if n < 4 else 2
        for i in range(0, len(tokens) - n * times + 1):
            if all(tokens[i + k * n : i + (k + 1) * n] == tokens[i : i + n] for k in range(1, times)):
                return True
    return False


def cs(seconds):
    return int(round(seconds * 100))


def temperatures(options):
    """whisper.cpp's fallback: start at `temperature`, add `temperature_inc` up to 1.0 (0 = no fallback)."""
    start = float(options.get("temperature", 0.0))
    step = float(options.get("temperature_inc", 0.2))
    if step <= 0:
        return [start]
    out = []
    t = start
    while t <= 1.0 + 1e-6:
        out.append(round(t, 4))
        t += step
    return out or [start]


def segment_frame(segment, words):
    raw = {
        "t0": cs(segment.start),
        "t1": cs(segment.end),
        "text": segment.text,
        "tokens": [t for t in segment.tokens],
        "avg_logprob": segment.avg_logprob,
        "no_speech_prob": segment.no_speech_prob,
        "temperature": segment.temperature if segment.temperature is not None else 0.0,
        "seek": int(segment.seek),
    }
    if words:
        raw["words"] = [{"word": w.word, "t0": cs(w.start), "t1": cs(w.end), "p": w.probability} for w in (segment.words or [])]
    return raw


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, help="CTranslate2 Whisper folder")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--gpu-device", type=int, default=0)
    parser.add_argument("--compute-type", default="default")
    args = parser.parse_args()

    try:
        import ctranslate2
        import faster_whisper
        import numpy
        from faster_whisper import WhisperModel

        compute_type = args.compute_type
        if compute_type == "default":
            # int8 linear layers (VNNI/AVX-512 kernels) on a CPU; float16 on a GPU.
            compute_type = "int8" if args.device == "cpu" else "float16"
        model = WhisperModel(
            args.model,
            device=args.device,
            device_index=args.gpu_device,
            compute_type=compute_type,
            cpu_threads=args.threads,
            num_workers=args.parallel,
            local_files_only=True,
        )
    except Exception as error:  # noqa: BLE001 - reported to the host, which shows it to the user
        write_frame({"type": "fatal", "code": "model_load_failed", "message": f"{type(error).__name__}: {error}"})
        return 3

    inner = model.model
    model.model = AbortableWhisper(inner)
    full_window_encode = model.encode

    def encode(features):
        # A job with a shorter window (audio_ctx_s) encodes only its first frames; faster-whisper
        # always pads to 30 s. CTranslate2's encoder takes any length up to 3000 frames.
        frames = getattr(CURRENT, "frames", None)
        if frames and features.shape[-1] > frames:
            features = numpy.ascontiguousarray(features[..., :frames])
        return full_window_encode(features)

    model.encode = encode
    write_frame(
        {
            "type": "ready",
            "info": {
                "whisper_version": f"ctranslate2 {ctranslate2.__version__}, faster-whisper {faster_whisper.__version__}",
                "model_type": os.path.basename(os.path.normpath(args.model)),
                "multilingual": bool(inner.is_multilingual),
                "n_vocab": len(model.hf_tokenizer.get_vocab()),
                "n_audio_layer": None,
                "n_text_layer": None,
                "n_mels": int(getattr(inner, "n_mels", 80)),
                "ftype": compute_type,
                "gpu": args.device == "cuda",
                "flash_attn": False,
                "dtw": False,
                "threads": args.threads,
                "parallel": args.parallel,
                "system_info": f"CTranslate2 {ctranslate2.__version__} {args.device} {compute_type}",
            },
        }
    )

    aborts = {}
    aborts_lock = threading.Lock()
    pipeline = []

    def batched():
        if not pipeline:
            from faster_whisper import BatchedInferencePipeline

            pipeline.append(BatchedInferencePipeline(model))
        return pipeline[0]

    def decode_windows(audio, clips, language, common):
        """Separate speech windows (Earshot's VAD found them), decoded as batches of windows, which keeps
        the matrix kernels busier than one window at a time; times come back absolute. A window whose
        segments stop well short of its end lost its tail: Whisper ended on a segment without a closing
        timestamp, which sequential decoding decodes again from there, and batched decoding drops. Those
        tails are decoded as a second batch."""
        found, info = batched().transcribe(audio, clip_timestamps=clips, batch_size=BATCH_SIZE, language=language, **common)
        found = list(found)
        tails = []
        for clip in clips:
            inside = [seg for seg in found if clip["start"] - 0.01 <= seg.start < clip["end"]]
            covered = max((seg.end for seg in inside), default=clip["end"])
            if inside and clip["end"] - covered >= TAIL_SECONDS:
                tails.append({"start": covered, "end": clip["end"]})
        if tails:
            check_abort()
            more, _ = batched().transcribe(audio, clip_timestamps=tails, batch_size=BATCH_SIZE, language=info.language, **common)
            found.extend(more)
            found.sort(key=lambda seg: seg.start)
        return found, info

    def short_window(audio, seconds, window, language, options, common):
        """One decode on a shorter encoder window: the audio plus 1 s, at least `window` seconds (the
        encoder's cost follows the window; Whisper pads every window to 30 s). Whisper was trained on
        full windows and can loop on a short one, so the short window gets one greedy try, its text
        capped by the audio's length; a try that reaches the cap, repeats itself, or would have fallen
        back to sampling (faster-whisper's compression and log-probability thresholds) is done again on
        the full window, fallback included."""
        frames = min(3000, int(numpy.ceil(max(window, seconds + 1.0) * 100)))
        frames += frames % 2  # the encoder's stride-2 convolution
        cap = int(10 + 8 * seconds)
        kwargs = dict(
            condition_on_previous_text=not options.get("no_context", False),
            language=None if language == "auto" else language,
            **common,
        )
        first_only = bool(options.get("single_segment"))

        def decode(temperature_override=None, **extra):
            # faster-whisper decodes lazily: with one segment asked for, stop before it seeks on
            args = dict(kwargs, **extra)
            if temperature_override is not None:
                args["temperature"] = temperature_override
            found, info = model.transcribe(audio, **args)
            out = []
            for seg in found:
                out.append(seg)
                if first_only:
                    break
            return out, info

        CURRENT.frames = frames
        try:
            found, info = decode(max_new_tokens=cap, temperature_override=kwargs["temperature"][:1])
        finally:
            CURRENT.frames = None
        # generation stops a token or two short of max_new_tokens (the prompt's last token counts)
        if all(len(seg.tokens) < cap - 2 and not repeats(seg.tokens) and seg.compression_ratio <= 2.4 and seg.avg_logprob >= -1.0 for seg in found):
            return found, info, frames / 100
        check_abort()
        return (*decode(), 30.0)

    def run_job(job_id, options, audio):
        started = time.perf_counter()
        CURRENT.abort = aborts.get(job_id)
        try:
            words = bool(options.get("word_timestamps", False))
            language = options.get("language") or "auto"
            if not inner.is_multilingual:
                language = "en"
            clips = options.get("clips")
            common = dict(
                task="translate" if options.get("translate") else "transcribe",
                beam_size=int(options.get("beam_size", 1)),
                best_of=int(options.get("best_of", 5)),
                patience=1,
                temperature=temperatures(options),
                initial_prompt=options.get("initial_prompt") or None,
                word_timestamps=words,
                without_timestamps=bool(options.get("no_timestamps", False)),
                # Same suppression as the whisper.cpp worker: blanks always, non-speech symbols on request.
                suppress_blank=True,
                suppress_tokens=[-1] if options.get("suppress_nst", False) else [],
                # Earshot's own VAD decides what is speech (src/pipeline), not this worker.
                vad_filter=False,
            )
            seconds = len(audio) / 16000
            window = float(options.get("audio_ctx_s") or 0)
            used_window = 30.0
            if clips:
                segments, info = decode_windows(audio, clips, None if language == "auto" else language, common)
            elif 0 < window and seconds < 30:
                segments, info, used_window = short_window(audio, seconds, window, language, options, common)
            else:
                segments, info = model.transcribe(
                    audio,
                    condition_on_previous_text=not options.get("no_context", False),
                    language=None if language == "auto" else language,
                    **common,
                )
            out = []
            duration = max(info.duration, 1e-9)
            for segment in segments:
                check_abort()
                raw = segment_frame(segment, words)
                if options.get("stream_segments"):
                    write_frame({"type": "segment", "id": job_id, "index": len(out), "segment": raw})
                if options.get("progress"):
                    write_frame({"type": "progress", "id": job_id, "progress": min(100, int(segment.end / duration * 100))})
                out.append(raw)
                if options.get("single_segment") and len(out) >= 1:
                    break
            check_abort()
            probs = None
            if language == "auto" and info.all_language_probs:
                probs = {code: p for code, p in info.all_language_probs[:5]}
            write_frame(
                {
                    "type": "result",
                    "id": job_id,
                    "language": info.language,
                    "language_probs": probs,
                    "segments": out,
                    "window_s": used_window,
                    "processing_time": time.perf_counter() - started,
                }
            )
        except Cancelled:
            write_frame({"type": "error", "id": job_id, "code": "aborted", "message": "transcription aborted"})
        except Exception as error:  # noqa: BLE001 - one bad job must not end the worker
            sys.stderr.write(traceback.format_exc())
            write_frame({"type": "error", "id": job_id, "code": "internal", "message": f"{type(error).__name__}: {error}"})
        finally:
            CURRENT.abort = None
            with aborts_lock:
                aborts.pop(job_id, None)

    pool = ThreadPoolExecutor(max_workers=max(1, args.parallel))
    while True:
        header = read_exact(4)
        if header is None:
            break  # host closed stdin: finish running jobs and exit
        (length,) = struct.unpack("<I", header)
        if length > (16 << 20):
            write_frame({"type": "fatal", "code": "protocol", "message": "frame header too large"})
            break
        body = read_exact(length)
        if body is None:
            break
        try:
            message = json.loads(body.decode("utf-8"))
            if not isinstance(message, dict):
                raise ValueError("not an object")
        except ValueError:
            write_frame({"type": "fatal", "code": "protocol", "message": "malformed frame"})
            break
        kind = message.get("type")
        job_id = message.get("id", "")
        if kind == "transcribe":
            size = int(message.get("bytes", 0))
            payload = read_exact(size) if size > 0 else b""
            if payload is None or size % 4 != 0:
                write_frame({"type": "fatal", "code": "protocol", "message": "truncated audio payload"})
                break
            audio = numpy.frombuffer(payload, dtype="<f4")
            with aborts_lock:
                aborts[job_id] = threading.Event()
            pool.submit(run_job, job_id, message.get("options") or {}, audio)
        elif kind == "cancel":
            with aborts_lock:
                flag = aborts.get(job_id)
            if flag is not None:
                flag.set()
        elif kind == "ping":
            write_frame({"type": "pong", "id": job_id})
        elif kind == "shutdown":
            break
        else:
            write_frame({"type": "error", "id": job_id, "code": "protocol", "message": f"unknown message type: {kind}"})
    with aborts_lock:
        for flag in aborts.values():
            flag.set()
    pool.shutdown(wait=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
