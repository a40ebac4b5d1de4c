// Streaming: N concurrent real-time streams of real speech through /ws of a real server.
// Each stream is a few clips (a LibriVox sentence, then a short cards phrase) joined by 1–2 s of silence, sent as s16le frames paced at real time on
// an absolute schedule (no drift). Because the bench knows where every clip starts and ends in the
// stream, it times:
// A clip's speech runs from its first to its last 10 ms frame within 30 dB of the clip's peak level
// (speechBounds): the recordings carry 0.03–0.37 s of quiet before and after the voice, which would
// otherwise count against first-text latency and in favour of end-of-speech latency.
//   end-of-speech → final: from the wall time the frame holding a clip's last speech sample was sent to the
//                          arrival of the last final overlapping that clip (VAD hangover included:
//                          that is what a user waits);
//   first partial:         from the frame holding the clip's first speech sample to the first partial of an
//                          utterance that starts in the clip;
//   first text:            the same, to the first partial or final, whichever came first;
//   dropped audio:         what the server reported in backpressure events;
//   WER of finals:         each stream's finals against its clips' references, pooled;
//   schedule:              the session's own last `stats` report (partial decodes, speculative finals kept
//                          and cancelled, finals reused vs decoded after the end, RTF, lag).
// Variants run one stream with other session settings (hangover, pause, partial cadence), to choose defaults.
import WebSocket from 'ws';
import { pooledWer } from '../src/eval/wer.js';
import { SAMPLE_RATE } from '../src/engines/types.js';
import { encodeWav, float32ToS16le } from '../src/audio/pcm.js';
import type { BenchClip } from './lib/corpus.js';
import { startServer } from './lib/server.js';
import { percentile, round, sum } from './lib/stats.js';

export interface StreamPlan {
  model: string;
  levels: number[];
  clipsPerStream: number;
  /** frame sizes, rotated over the streams of a level */
  frameMs: number[];
  /** how long to wait for the last finals after `stop` */
  drainTimeoutSeconds: number;
  /** a level counts as real time when nothing was dropped or lost and p95 end-of-speech → final is at most this */
  sustainP95Seconds: number;
  /** one-stream runs with other /ws session settings (merged into the config message) */
  variants?: Array<{ label: string; config: Record<string, unknown> }>;
  /** also transcribe the streamed clips in batch (POST /transcribe, same server, same model): the WER a stream should match */
  batchWer?: boolean;
}

export interface Placed {
  clip: BenchClip;
  /** stream seconds */
  start: number;
  end: number;
  /** stream seconds of the clip's first and last speech sample (speechBounds) */
  speechStart: number;
  speechEnd: number;
  /** when the frames holding speechStart and speechEnd were sent (performance.now()) */
  startSentAt?: number;
  endSentAt?: number;
}

/** Where the voice is in a clip, in seconds: its first and last 10 ms frame within 30 dB of the clip's peak. */
export function speechBounds(samples: Float32Array): { start: number; end: number } {
  const frame = SAMPLE_RATE / 100;
  let peak = 0;
  for (const x of samples) peak = Math.max(peak, Math.abs(x));
  const floor = peak * 10 ** (-30 / 20);
  let first = -1;
  let last = -1;
  for (let i = 0; i + frame <= samples.length; i += frame) {
    let energy = 0;
    for (let j = i; j < i + frame; j++) energy += samples[j]! * samples[j]!;
    if (Math.sqrt(energy / frame) >= floor) {
      if (first < 0) first = i;
      last = i + frame;
    }
  }
  if (first < 0) return { start: 0, end: samples.length / SAMPLE_RATE };
  return { start: first / SAMPLE_RATE, end: last / SAMPLE_RATE };
}

interface Received {
  finals: Array<{ utteranceId: number; text: string; start: number; end: number; at: number }>;
  speechStarts: Map<number, number>;
  firstPartialAt: Map<number, number>;
  stats?: Record<string, unknown>;
  droppedSeconds: number;
  backpressureEvents: number;
  errors: string[];
  doneAt?: number;
}

export interface StreamLevelResult {
  streams: number;
  audioSecondsPerStream: number;
  utterances: number;
  finalsReceived: number;
  clipsWithoutFinal: number;
  finalLatency: { p50: number | null; p95: number | null; max: number | null };
  firstPartial: { p50: number | null; p95: number | null; measured: number };
  /** to the first partial or final, whichever came first */
  firstText: { p50: number | null; p95: number | null; measured: number };
  /** summed over the streams, from each session's last stats report */
  schedule: {
    partialDecodes: number;
    speculativeDecodes: number;
    speculativeCancelled: number;
    finalsReused: number;
    finalsDecoded: number;
    meanRtf: number | null;
    maxLagSeconds: number | null;
  };
  droppedAudioSeconds: number;
  backpressureEvents: number;
  errors: string[];
  wer: number | null;
  /** stop → done, seconds (null: not done within the drain timeout) */
  drainSeconds: number | null;
  sustained: boolean;
}

export interface StreamResult {
  model: string;
  frameMs: number[];
  sustainP95Seconds: number;
  levels: StreamLevelResult[];
  variants?: Array<{ label: string; config: Record<string, unknown>; result: StreamLevelResult }>;
  /** largest level that kept up in real time (0: none) */
  maxSustainedStreams: number;
  /** the one-stream level's clips through POST /transcribe on the same model: pooled WER and median seconds per clip */
  batch?: { wer: number | null; medianSeconds: number | null; clips: number };
  serverPeakMiB?: number | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Lays clips out on a stream: 0.5 s lead-in, 1–2 s gaps (varied per stream), 2 s tail. */
export function layout(pool: BenchClip[], streamIndex: number, count: number): { placed: Placed[]; samples: Float32Array } {
  const chosen = Array.from({ length: count }, (_, k) => pool[(streamIndex * count + k) % pool.length]!);
  const placed: Placed[] = [];
  let t = 0.5;
  for (const [k, clip] of chosen.entries()) {
    const voice = speechBounds(clip.samples);
    placed.push({ clip, start: t, end: t + clip.duration, speechStart: t + voice.start, speechEnd: t + voice.end });
    t += clip.duration + (k === chosen.length - 1 ? 2 : 1 + ((streamIndex * 7 + k * 3) % 11) / 10);
  }
  const samples = new Float32Array(Math.round(t * SAMPLE_RATE));
  for (const p of placed) samples.set(p.clip.samples, Math.round(p.start * SAMPLE_RATE));
  return { placed, samples };
}

async function runStream(
  url: string,
  pool: BenchClip[],
  index: number,
  plan: StreamPlan,
  sessionConfig: Record<string, unknown> = {},
): Promise<{ placed: Placed[]; got: Received; audioSeconds: number; stopAt: number }> {
  const { placed, samples } = layout(pool, index, plan.clipsPerStream);
  const pcm = float32ToS16le(samples);
  const frameMs = plan.frameMs[index % plan.frameMs.length]!;
  const frameSamples = Math.round((frameMs / 1000) * SAMPLE_RATE);
  const got: Received = { finals: [], speechStarts: new Map(), firstPartialAt: new Map(), droppedSeconds: 0, backpressureEvents: 0, errors: [] };
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`);
  let onReady!: () => void;
  let onDone!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  const done = new Promise<void>((r) => (onDone = r));
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const at = performance.now();
    const msg = JSON.parse(data.toString()) as Record<string, unknown>;
    switch (msg.type) {
      case 'ready':
        onReady();
        break;
      case 'speech_start':
        got.speechStarts.set(Number(msg.utterance_id), Number(msg.start));
        break;
      case 'partial':
        if (!got.firstPartialAt.has(Number(msg.utterance_id))) got.firstPartialAt.set(Number(msg.utterance_id), at);
        break;
      case 'final':
        got.finals.push({ utteranceId: Number(msg.utterance_id), text: String(msg.text), start: Number(msg.start), end: Number(msg.end), at });
        break;
      case 'stats':
        got.stats = msg;
        break;
      case 'backpressure':
        got.backpressureEvents++;
        got.droppedSeconds = Math.max(got.droppedSeconds, Number(msg.total_dropped_seconds));
        break;
      case 'error':
        got.errors.push(`${String(msg.code)}: ${String(msg.message)}`);
        break;
      case 'done':
        got.doneAt = at;
        onDone();
        break;
    }
  });
  ws.on('close', () => {
    onReady();
    onDone();
  });
  ws.on('error', (err) => got.errors.push(`socket: ${err.message}`));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  // the session names its model: a server's live route would otherwise pick its own (model.live auto)
  ws.send(
    JSON.stringify({ type: 'config', language: 'en', sample_rate: SAMPLE_RATE, encoding: 'pcm_s16le', enrich: false, model: plan.model, ...sessionConfig }),
  );
  await ready;

  const frames = Math.ceil(samples.length / frameSamples);
  const t0 = performance.now();
  for (let k = 0; k < frames; k++) {
    await sleep(t0 + k * frameMs - performance.now());
    if (ws.readyState !== WebSocket.OPEN) break;
    ws.send(pcm.subarray(k * frameSamples * 2, Math.min(samples.length, (k + 1) * frameSamples) * 2));
    const sentAt = performance.now();
    const to = (k + 1) * frameSamples;
    for (const p of placed) {
      const first = Math.round(p.speechStart * SAMPLE_RATE);
      const last = Math.round(p.speechEnd * SAMPLE_RATE) - 1;
      if (p.startSentAt === undefined && first < to) p.startSentAt = sentAt;
      if (p.endSentAt === undefined && last < to) p.endSentAt = sentAt;
    }
  }
  const stopAt = performance.now();
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'stop' }));
  await Promise.race([done, sleep(plan.drainTimeoutSeconds * 1000)]);
  ws.terminate();
  return { placed, got, audioSeconds: samples.length / SAMPLE_RATE, stopAt };
}

function overlap(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

async function runLevel(
  url: string,
  pool: BenchClip[],
  streams: number,
  plan: StreamPlan,
  sessionConfig: Record<string, unknown> = {},
): Promise<StreamLevelResult> {
  const runs = await Promise.all(Array.from({ length: streams }, (_, i) => runStream(url, pool, i, plan, sessionConfig)));
  const latencies: number[] = [];
  const partials: number[] = [];
  const firstTexts: number[] = [];
  let clipsWithoutFinal = 0;
  const werPairs: Array<{ reference: string; hypothesis: string }> = [];
  const drains: number[] = [];
  let allDone = true;
  for (const { placed, got, stopAt } of runs) {
    // Each final belongs to the clip it overlaps most.
    const lastFinalAt = new Map<Placed, number>();
    for (const f of got.finals) {
      let best: Placed | undefined;
      let bestOverlap = 0;
      for (const p of placed) {
        const o = overlap(f.start, f.end, p.start, p.end);
        if (o > bestOverlap) {
          best = p;
          bestOverlap = o;
        }
      }
      if (best) lastFinalAt.set(best, Math.max(lastFinalAt.get(best) ?? 0, f.at));
    }
    for (const p of placed) {
      const at = lastFinalAt.get(p);
      if (at === undefined || p.endSentAt === undefined) clipsWithoutFinal++;
      else latencies.push((at - p.endSentAt) / 1000);
      // First partial of an utterance that started inside this clip (or just before it: pre-roll).
      const ids = [...got.speechStarts].filter(([, s]) => s >= p.start - 0.6 && s < p.end).map(([id]) => id);
      const firstAt = Math.min(...ids.map((id) => got.firstPartialAt.get(id) ?? Infinity));
      if (Number.isFinite(firstAt) && p.startSentAt !== undefined) partials.push((firstAt - p.startSentAt) / 1000);
      const firstFinalAt = Math.min(...got.finals.filter((f) => ids.includes(f.utteranceId)).map((f) => f.at));
      const firstTextAt = Math.min(firstAt, firstFinalAt);
      if (Number.isFinite(firstTextAt) && p.startSentAt !== undefined) firstTexts.push((firstTextAt - p.startSentAt) / 1000);
    }
    werPairs.push({
      reference: placed.map((p) => p.clip.reference).join(' '),
      hypothesis: [...got.finals]
        .sort((a, b) => a.utteranceId - b.utteranceId)
        .map((f) => f.text)
        .join(' '),
    });
    if (got.doneAt === undefined) allDone = false;
    else drains.push((got.doneAt - stopAt) / 1000);
  }
  const dropped = sum(runs.map((r) => r.got.droppedSeconds));
  const errors = runs.flatMap((r) => r.got.errors);
  const reports = runs.map((r) => r.got.stats).filter((x): x is Record<string, unknown> => x !== undefined);
  const total = (k: string) => sum(reports.map((x) => Number(x[k] ?? 0)));
  const p95 = percentile(latencies, 95);
  return {
    streams,
    audioSecondsPerStream: round(Math.max(...runs.map((r) => r.audioSeconds)), 2)!,
    utterances: sum(runs.map((r) => r.placed.length)),
    finalsReceived: sum(runs.map((r) => r.got.finals.length)),
    clipsWithoutFinal,
    finalLatency: { p50: round(percentile(latencies, 50)), p95: round(p95), max: round(Math.max(...latencies)) },
    firstPartial: { p50: round(percentile(partials, 50)), p95: round(percentile(partials, 95)), measured: partials.length },
    firstText: { p50: round(percentile(firstTexts, 50)), p95: round(percentile(firstTexts, 95)), measured: firstTexts.length },
    schedule: {
      partialDecodes: total('partial_decodes'),
      speculativeDecodes: total('speculative_decodes'),
      speculativeCancelled: total('speculative_cancelled'),
      finalsReused: total('finals_reused'),
      finalsDecoded: total('finals_decoded'),
      meanRtf: reports.length ? round(total('rtf') / reports.length, 3) : null,
      maxLagSeconds: reports.length ? round(Math.max(...reports.map((x) => Number(x.lag_seconds ?? 0)))) : null,
    },
    droppedAudioSeconds: round(dropped)!,
    backpressureEvents: sum(runs.map((r) => r.got.backpressureEvents)),
    errors,
    wer: round(pooledWer(werPairs), 4),
    drainSeconds: allDone ? round(Math.max(...drains)) : null,
    sustained: dropped === 0 && errors.length === 0 && clipsWithoutFinal === 0 && p95 <= plan.sustainP95Seconds,
  };
}

/** The clips of stream 0 through POST /transcribe, one by one, on the same model. */
async function batchOf(url: string, plan: StreamPlan, placed: Placed[]): Promise<NonNullable<StreamResult['batch']>> {
  const pairs: Array<{ reference: string; hypothesis: string }> = [];
  const seconds: number[] = [];
  for (const { clip } of placed) {
    const form = new FormData();
    form.append('file', new Blob([encodeWav(clip.samples)], { type: 'audio/wav' }), 'clip.wav');
    form.append('language', 'en');
    form.append('model', plan.model);
    const t = performance.now();
    const res = await fetch(`${url}/transcribe`, { method: 'POST', body: form });
    const body = (await res.json()) as { text?: string };
    if (!res.ok) throw new Error(`batch ${clip.id}: ${res.status} ${JSON.stringify(body)}`);
    seconds.push((performance.now() - t) / 1000);
    pairs.push({ reference: clip.reference, hypothesis: body.text ?? '' });
  }
  return { wer: round(pooledWer(pairs), 4), medianSeconds: round(percentile(seconds, 50)), clips: pairs.length };
}

export async function runStreaming(pool: BenchClip[], plan: StreamPlan, log: (line: string) => void): Promise<StreamResult> {
  const server = await startServer({ model: plan.model });
  try {
    const levels: StreamLevelResult[] = [];
    for (const n of plan.levels) {
      const r = await runLevel(server.url, pool, n, plan);
      levels.push(r);
      log(
        `stream: ${n} stream(s): final p50 ${r.finalLatency.p50} s p95 ${r.finalLatency.p95} s, first text p50 ${r.firstText.p50} s, missing ${r.clipsWithoutFinal}, dropped ${r.droppedAudioSeconds} s, ${r.sustained ? 'real time' : 'NOT real time'}`,
      );
    }
    const variants: NonNullable<StreamResult['variants']> = [];
    for (const v of plan.variants ?? []) {
      const r = await runLevel(server.url, pool, 1, plan, v.config);
      variants.push({ label: v.label, config: v.config, result: r });
      log(
        `stream variant ${v.label}: final p50 ${r.finalLatency.p50} s p95 ${r.finalLatency.p95} s, first text p50 ${r.firstText.p50} s, finals ${r.finalsReceived}, WER ${r.wer}`,
      );
    }
    const batch = plan.batchWer ? await batchOf(server.url, plan, layout(pool, 0, plan.clipsPerStream).placed) : undefined;
    if (batch) log(`stream: ${plan.model} in batch on the same clips: WER ${batch.wer}, median ${batch.medianSeconds} s per clip`);
    return {
      model: plan.model,
      batch,
      frameMs: plan.frameMs,
      sustainP95Seconds: plan.sustainP95Seconds,
      levels,
      variants: variants.length ? variants : undefined,
      maxSustainedStreams: Math.max(0, ...levels.filter((l) => l.sustained).map((l) => l.streams)),
    };
  } finally {
    await server.stop();
  }
}
