"""Drives Earshot's Wyoming server with the `wyoming` package, the way Home Assistant does.

Prints one JSON object per line: every event received (type, data, seconds since the first audio was
sent, whether audio-stop had been sent), then a summary line {"type": "_done", ...}.

  describe   URI
  transcribe URI RAW RATE WIDTH CHANNELS LANGUAGE PACE       (PACE 1 = real time, 0 = as fast as possible)
  detect     URI RAW RATE WIDTH CHANNELS NAMES|-             (NAMES comma-separated)
"""

import asyncio
import json
import sys
import time

from wyoming.asr import Transcribe, Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.info import Describe, Info
from wyoming.ping import Ping, Pong
from wyoming.wake import Detect, Detection, NotDetected

SAMPLES_PER_CHUNK = 1024  # Home Assistant's chunk size


def out(obj):
    print(json.dumps(obj), flush=True)


def client_for(uri):
    host, port = uri.removeprefix("tcp://").rsplit(":", 1)
    return AsyncTcpClient(host, int(port))


async def describe(uri):
    async with client_for(uri) as client:
        await client.write_event(Describe().event())
        while True:
            event = await asyncio.wait_for(client.read_event(), timeout=30)
            if event is None:
                out({"type": "_closed"})
                return
            if Info.is_type(event.type):
                info = Info.from_event(event)  # the parsing Home Assistant relies on
                out({"type": "info", "data": event.data})
                out({
                    "type": "_done",
                    "asr": [{"name": p.name, "streaming": p.supports_transcript_streaming,
                             "models": [{"name": m.name, "languages": m.languages, "installed": m.installed,
                                         "attribution": m.attribution.name} for m in p.models]} for p in info.asr],
                    "wake": [{"name": p.name, "models": [{"name": m.name, "phrase": m.phrase} for m in p.models]}
                             for p in info.wake],
                })
                return


async def stream(uri, raw_path, rate, width, channels, pace, first_events, is_final):
    audio = open(raw_path, "rb").read()
    bytes_per_chunk = SAMPLES_PER_CHUNK * width * channels
    state = {"stopped": False, "t0": None}

    async with client_for(uri) as client:
        for event in first_events:
            await client.write_event(event)

        async def send():
            await client.write_event(AudioStart(rate=rate, width=width, channels=channels).event())
            state["t0"] = time.monotonic()
            sent_seconds = 0.0
            for at in range(0, len(audio), bytes_per_chunk):
                chunk = audio[at:at + bytes_per_chunk]
                await client.write_event(AudioChunk(rate=rate, width=width, channels=channels, audio=chunk).event())
                sent_seconds += len(chunk) / (width * channels * rate)
                if pace > 0:
                    due = state["t0"] + sent_seconds / pace
                    delay = due - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
            await client.write_event(AudioStop().event())
            state["stopped"] = True
            out({"type": "_audio_stop", "t": time.monotonic() - state["t0"]})
            # a barrier: the server handles events in order, so pong comes after audio-stop was handled
            await client.write_event(Ping(text="after-stop").event())

        sender = asyncio.create_task(send())
        while True:
            event = await asyncio.wait_for(client.read_event(), timeout=300)
            if event is None:
                out({"type": "_closed"})
                break
            t = time.monotonic() - state["t0"] if state["t0"] else 0.0
            out({"type": event.type, "data": event.data, "t": t, "after_stop": state["stopped"]})
            if is_final(event):
                break
        await sender
    out({"type": "_done"})


async def main():
    cmd, uri = sys.argv[1], sys.argv[2]
    if cmd == "describe":
        await describe(uri)
        return
    raw, rate, width, channels = sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    if cmd == "transcribe":
        language, pace = sys.argv[7], float(sys.argv[8])
        # Home Assistant's STT: transcribe (language), audio, then read until transcript
        await stream(uri, raw, rate, width, channels, pace,
                     [Transcribe(language=None if language == "-" else language).event()],
                     lambda e: TranscriptStop.is_type(e.type) or e.type == "error")
        return
    if cmd == "detect":
        names = None if sys.argv[7] == "-" else sys.argv[7].split(",")
        await stream(uri, raw, rate, width, channels, 0, [Detect(names=names).event()],
                     lambda e: NotDetected.is_type(e.type) or Pong.is_type(e.type) or e.type == "error")
        return
    raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    asyncio.run(main())
