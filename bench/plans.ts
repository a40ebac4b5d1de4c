// What each mode measures. The full plan is sized for a shared 2-core machine: every configuration
// on one 7 s LibriVox clip (3 repetitions, medians, fewer when the time budget runs short), the whole corpus (clips + the ~5 min file) on
// the headline pair, and the streaming / load / memory sections on the test model.
import { allPairs, enginePairs, type BatchPlan } from './batch.js';
import type { LatencyPlan } from './latency.js';
import type { LoadPlan } from './load.js';
import type { MemoryPlan } from './memory.js';
import type { StreamPlan } from './stream.js';

export interface BenchPlan {
  batch: BatchPlan;
  stream: StreamPlan;
  /** more models for the stream section (skipped with a note when they cannot load) */
  streamAlso?: string[];
  load: LoadPlan;
  memory: MemoryPlan;
  /** clip ids */
  memoryClip: string;
  /** short-clip latency and WER per engine (Whisper vs Moonshine) */
  latency: LatencyPlan;
}

/** The model the streaming, load and memory sections run on: the test model `npm run fetch:test-models` installs. */
export const SERVER_MODEL = process.env.EARSHOT_BENCH_MODEL ?? 'base';
export const HEADLINE_PAIR = 'q8_0/int8 t2 greedy';

/** Every engine and build Earshot ships, over the whole corpus, against faster-whisper int8 (`--plan engines`). */
export function enginesBatchPlan(): BatchPlan {
  const pairs = enginePairs();
  return {
    pairs,
    matrixClipIds: ['sense_and_sensibility_01_austen_64kb-0870'],
    reps: 3,
    corpusPairKeys: pairs.map((p) => p.key),
    corpusReps: 1,
    budgetSeconds: Infinity,
  };
}

/** Session settings tried against the defaults, one stream each: hangover, pause, partial cadence, encoder windows. */
export function liveVariants(): NonNullable<StreamPlan['variants']> {
  return [
    { label: 'hangover 400 ms', config: { vad: { min_silence_ms: 400 } } },
    { label: 'hangover 600 ms', config: { vad: { min_silence_ms: 600 } } },
    { label: 'hangover 700 ms', config: { vad: { min_silence_ms: 700 } } },
    { label: 'hangover 1000 ms', config: { vad: { min_silence_ms: 1000 } } },
    { label: 'pause 150 ms', config: { vad: { min_pause_ms: 150 } } },
    { label: 'pause 400 ms', config: { vad: { min_pause_ms: 400 } } },
    { label: 'partials every 250 ms', config: { partial_interval_ms: 250 } },
    { label: 'first partial at 300 ms', config: { first_partial_ms: 300 } },
    { label: 'partials every 1000 ms', config: { partial_interval_ms: 1000 } },
    // onset confirmation: the first partial waits for min_speech_ms (250) of speech
    { label: 'onset 150 ms', config: { vad: { min_speech_ms: 150 } } },
    { label: 'onset 100 ms', config: { vad: { min_speech_ms: 100 } } },
    // Whisper models only (the others ignore encoder windows): the default fitted windows against 30 s ones
    { label: 'final window full', config: { final_window: 'full' } },
    { label: 'both windows full', config: { partial_window: 'full', final_window: 'full' } },
  ];
}

export function fullPlan(): BenchPlan {
  return {
    batch: {
      pairs: [...allPairs(), ...enginePairs().filter((p) => p.key !== HEADLINE_PAIR)],
      matrixClipIds: ['sense_and_sensibility_01_austen_64kb-0870'],
      reps: 3,
      corpusPairKeys: enginePairs().map((p) => p.key),
      corpusReps: 1,
      budgetSeconds: Infinity,
    },
    stream: {
      model: SERVER_MODEL,
      levels: [1, 2, 4],
      clipsPerStream: 6,
      frameMs: [20, 40, 60, 100],
      drainTimeoutSeconds: 15,
      sustainP95Seconds: 3,
      // the defaults (hangover 500 ms, pause 250 ms, cadence 500 ms, fitted windows) against other choices
      variants: [
        { label: 'final window full', config: { final_window: 'full' } },
        { label: 'both windows full', config: { partial_window: 'full', final_window: 'full' } },
        { label: 'hangover 700 ms', config: { vad: { min_silence_ms: 700 } } },
        { label: 'hangover 1000 ms', config: { vad: { min_silence_ms: 1000 } } },
        { label: 'pause 400 ms', config: { vad: { min_pause_ms: 400 } } },
        { label: 'no speculation (pause = hangover)', config: { vad: { min_pause_ms: 500 } } },
      ],
    },
    streamAlso: ['moonshine-base-en', 'moonshine-tiny-en'],
    load: { model: SERVER_MODEL, clients: [2, 4, 8, 16], requestsPerClient: 1, minRequests: 2, requestTimeoutSeconds: 300 },
    memory: {
      earshotModels: [
        { id: 'base', format: 'f16', ct2: 'base' },
        { id: 'base-q8_0', format: 'q8_0', ct2: 'base' },
        { id: 'tiny.en', format: 'f16', ct2: 'tiny.en' },
      ],
      fw: [
        { ct2: 'base', computeType: 'float32' },
        { ct2: 'base', computeType: 'int8' },
        { ct2: 'tiny.en', computeType: 'float32' },
      ],
      threads: 2,
    },
    memoryClip: 'sense_and_sensibility_01_austen_64kb-0870',
    latency: { models: ['base', 'moonshine-base-en', 'moonshine-tiny-en'], repetitions: 2, threads: 2 },
  };
}

/** Every path once on tiny inputs: a smoke test, its timings mean nothing. */
export function quickPlan(): BenchPlan {
  const pairs = allPairs().filter((p) => p.key === 'f16/float32 t2 greedy' || p.key === 'q8_0/int8 t1 beam5');
  return {
    batch: { pairs, matrixClipIds: ['cards-001'], reps: 1, corpusPairKeys: [pairs[0]!.key], corpusReps: 1, budgetSeconds: Infinity },
    stream: { model: 'tiny.en', levels: [1], clipsPerStream: 1, frameMs: [40], drainTimeoutSeconds: 30, sustainP95Seconds: 5 },
    load: { model: 'tiny.en', clients: [2], requestsPerClient: 1, minRequests: 2, requestTimeoutSeconds: 120 },
    memory: { earshotModels: [{ id: 'tiny.en', format: 'f16', ct2: 'tiny.en' }], fw: [{ ct2: 'tiny.en', computeType: 'float32' }], threads: 2 },
    memoryClip: 'cards-001',
    latency: { models: ['tiny.en', 'moonshine-tiny-en'], repetitions: 1, threads: 2 },
  };
}
