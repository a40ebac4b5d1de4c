// The sherpa-onnx worker process: loads one recognizer (sherpa-onnx-node brings its own ONNX
// Runtime, so it lives here and never in the server) and answers SherpaEngine over Node IPC.
// A native crash or hang ends this process only; the engine's pool respawns it.
import { createRequire } from 'node:module';
import { KIND_INFO, recognizerConfig } from './kinds.js';
import type { FromWorker, RawSherpaSegment, StreamHypothesis, ToWorker, WorkerInit } from './protocol.js';
import type { OfflineRecognizer, OnlineRecognizer, OnlineStream, SherpaModule } from './sherpa-onnx-node.js';

const SAMPLE_RATE = 16000;

function send(message: FromWorker): void {
  process.send?.(message);
}

const init = JSON.parse(process.argv[2] ?? '{}') as WorkerInit;
const require = createRequire(import.meta.url);
const mode = KIND_INFO[init.spec.kind].mode;

let offline: OfflineRecognizer | undefined;
let online: OnlineRecognizer | undefined;
try {
  const started = performance.now();
  const sherpa = require('sherpa-onnx-node') as SherpaModule;
  const config = recognizerConfig(init.spec, init.threads, init.provider);
  if (mode === 'offline') offline = new sherpa.OfflineRecognizer(config);
  else online = new sherpa.OnlineRecognizer(config);
  send({
    type: 'ready',
    info: {
      kind: init.spec.kind,
      mode,
      sherpaVersion: sherpa.version ?? 'unknown',
      loadSeconds: (performance.now() - started) / 1000,
      provider: init.provider,
    },
  });
} catch (err) {
  send({ type: 'fatal', message: `could not load the ${init.spec.kind} model: ${(err as Error).message}` });
  process.exit(1);
}

// One native call at a time: batch jobs and live streams share the recognizer.
let chain: Promise<unknown> = Promise.resolve();
function serial<T>(fn: () => Promise<T> | T): Promise<T> {
  const next = chain.then(fn, fn);
  chain = next.catch(() => undefined);
  return next;
}

const cancelled = new Set<string>();
const streams = new Map<string, { stream: OnlineStream; accepted: number }>();

/** Lets queued IPC messages (a cancel) in between two decodes. */
const yieldToEvents = () => new Promise<void>((resolve) => setImmediate(resolve));

async function transcribe(id: string, audio: Float32Array, chunks: Array<[number, number]>): Promise<void> {
  const segments: RawSherpaSegment[] = [];
  for (const [from, to] of chunks) {
    await yieldToEvents();
    if (cancelled.delete(id)) {
      send({ type: 'error', id, code: 'aborted', message: 'transcription aborted' });
      return;
    }
    const samples = audio.subarray(from, to);
    const result = await serial(() => (offline ? decodeOffline(samples) : decodeOnlineWhole(samples)));
    for (const r of result) segments.push({ ...r, start: r.start + from / SAMPLE_RATE, end: r.end + from / SAMPLE_RATE });
  }
  cancelled.delete(id);
  send({ type: 'result', id, result: { segments } });
}

async function decodeOffline(samples: Float32Array): Promise<RawSherpaSegment[]> {
  const stream = offline!.createStream();
  stream.acceptWaveform({ samples, sampleRate: SAMPLE_RATE });
  const r = await offline!.decodeAsync(stream);
  return [{ start: 0, end: samples.length / SAMPLE_RATE, text: r.text.trim(), tokens: r.tokens ?? [], lang: cleanLang(r.lang) }];
}

/** A file through a streaming model: feed it all, cut a segment at every endpoint. */
function decodeOnlineWhole(samples: Float32Array): RawSherpaSegment[] {
  const rec = online!;
  const stream = rec.createStream();
  const out: RawSherpaSegment[] = [];
  let segmentStart = 0;
  let fed = 0;
  const step = SAMPLE_RATE / 10;
  const collect = (final: boolean) => {
    while (rec.isReady(stream)) rec.decode(stream);
    const endpoint = rec.isEndpoint(stream);
    if (endpoint || final) {
      const r = rec.getResult(stream);
      const now = fed / SAMPLE_RATE;
      if (r.text.trim()) out.push({ start: segmentStart, end: now, text: r.text.trim(), tokens: r.tokens ?? [], lang: '' });
      segmentStart = now;
      if (endpoint) rec.reset(stream);
    }
  };
  for (let at = 0; at < samples.length; at += step) {
    const piece = samples.subarray(at, Math.min(samples.length, at + step));
    stream.acceptWaveform({ samples: piece, sampleRate: SAMPLE_RATE });
    fed += piece.length;
    collect(false);
  }
  // Tail padding flushes the model's right context, then no more input.
  stream.acceptWaveform({ samples: new Float32Array(SAMPLE_RATE * 0.6), sampleRate: SAMPLE_RATE });
  stream.inputFinished();
  collect(true);
  return out;
}

function streamAccept(id: string, audio: Float32Array | undefined): StreamHypothesis[] {
  const rec = online!;
  const entry = streams.get(id);
  if (!entry) throw new Error(`no stream ${id}`);
  const hypotheses: StreamHypothesis[] = [];
  const emit = (endpoint: boolean) => {
    const r = rec.getResult(entry.stream);
    hypotheses.push({ text: r.text.trim(), tokens: r.tokens ?? [], endpoint, audioSeconds: entry.accepted / SAMPLE_RATE });
  };
  // Feed in 100 ms steps so an endpoint inside a long chunk is reported where it happened.
  const step = SAMPLE_RATE / 10;
  const feed = (piece: Float32Array) => {
    entry.stream.acceptWaveform({ samples: piece, sampleRate: SAMPLE_RATE });
    entry.accepted += piece.length;
    while (rec.isReady(entry.stream)) rec.decode(entry.stream);
    if (rec.isEndpoint(entry.stream)) {
      emit(true);
      rec.reset(entry.stream);
    }
  };
  if (audio) {
    for (let at = 0; at < audio.length; at += step) feed(audio.subarray(at, Math.min(audio.length, at + step)));
    emit(false);
  } else {
    feed(new Float32Array(SAMPLE_RATE * 0.6));
    entry.stream.inputFinished();
    while (rec.isReady(entry.stream)) rec.decode(entry.stream);
    emit(true);
    rec.reset(entry.stream);
  }
  return hypotheses;
}

function cleanLang(lang: string | undefined): string {
  // SenseVoice reports "<|en|>".
  return (lang ?? '').replace(/[<|>]/g, '');
}

function handle(message: ToWorker): void {
  switch (message.type) {
    case 'transcribe':
      transcribe(message.id, message.audio, message.chunks).catch((err: Error) =>
        send({ type: 'error', id: message.id, code: 'internal', message: err.message }),
      );
      return;
    case 'cancel':
      cancelled.add(message.id);
      return;
    case 'stream_open':
      if (!online) return;
      streams.set(message.id, { stream: online.createStream(), accepted: 0 });
      return;
    case 'stream_accept':
    case 'stream_finish': {
      const { id, call } = message;
      const audio = message.type === 'stream_accept' ? message.audio : undefined;
      serial(() => streamAccept(id, audio)).then(
        (hypotheses) => send({ type: 'stream_result', id, call, hypotheses }),
        (err: Error) => send({ type: 'stream_error', id, call, message: err.message }),
      );
      return;
    }
    case 'stream_close':
      streams.delete(message.id);
      return;
  }
}

process.on('message', (message) => handle(message as ToWorker));
// The parent went away: nothing left to serve.
process.on('disconnect', () => process.exit(0));
