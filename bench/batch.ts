// Batch: the same clips through each Earshot engine (the whisper.cpp worker, the CTranslate2 worker)
// and faster-whisper (CTranslate2), on the same weights, with the same decoding settings, A/B
// alternated clip by clip, model load excluded.
//
// Decoding settings on both sides: language en, temperature 0 with fallback in steps of 0.2 (the
// server's default; without it one window of the long file can fall into a repetition loop),
// greedy = beam 1 / beam 5 with patience 1, best_of 1, conditioning on previous text on, segment
// timestamps on (whisper.cpp's default mode, faster-whisper without_timestamps=False), no word
// timestamps, blank suppression only. No VAD, except on pairs marked "skip silence", where Earshot
// decodes only what its VAD hears (the server's batch default) and faster-whisper runs vad_filter.
import { createCt2Engine } from '../src/engines/ct2/engine.js';
import { ensureCt2Runtime } from '../src/engines/ct2/runtime.js';
import { WhisperEngine } from '../src/engines/whisper/engine.js';
import { ct2WeightsOf } from '../src/models/ct2-weights.js';
import type { SkipSilence } from '../src/config/schema.js';
import { skipsSilence, transcribeSpeechOnly } from '../src/pipeline/batch.js';
import { createVad, SpeechMap, type CreatedVad } from '../src/pipeline/vad/index.js';
import { pooledWer, werCount } from '../src/eval/wer.js';
import { ModelStore } from '../src/models/store.js';
import type { BenchClip, BenchCorpus, ClipSet } from './lib/corpus.js';
import { FasterWhisperRunner, ct2ModelDir } from './lib/faster-whisper.js';
import { cpuSeconds, statusKb } from './lib/proc.js';
import { median, round, sum } from './lib/stats.js';

export type EarshotModelId = 'base' | 'base-q8_0';

export interface PairSpec {
  /** e.g. "q8_0/int8 t2 greedy" */
  key: string;
  /** the Earshot engine: the whisper.cpp worker (default) or the CTranslate2 worker on the model's CTranslate2 weights */
  earshotEngine?: 'whisper' | 'ct2';
  /**
   * Earshot's batch.skipSilence policy (default 'off' here): which clips it decodes from the speech its
   * VAD finds. faster-whisper runs vad_filter only against 'always'; against 'long' (the server's
   * default) it runs as it does by default, every clip whole.
   */
  skipSilence?: SkipSilence;
  earshotModel: EarshotModelId;
  /** what the ggml file holds */
  earshotFormat: 'f16' | 'q8_0';
  fwComputeType: 'float32' | 'int8';
  threads: number;
  beamSize: number;
}

export interface BatchPlan {
  /** every pair runs the matrix clips `reps` times */
  pairs: PairSpec[];
  matrixClipIds: string[];
  reps: number;
  /** pairs that also run every clip and the long file (`corpusReps` times) */
  corpusPairKeys: string[];
  corpusReps: number;
  /** matrix repetitions after the first only start when they are expected to end within this many seconds of the section's start */
  budgetSeconds: number;
}

const FORMATS: Array<[EarshotModelId, 'f16' | 'q8_0', 'float32' | 'int8']> = [
  ['base', 'f16', 'float32'],
  ['base-q8_0', 'q8_0', 'int8'],
];

export function allPairs(): PairSpec[] {
  const pairs: PairSpec[] = [];
  for (const [earshotModel, earshotFormat, fwComputeType] of FORMATS) {
    for (const threads of [1, 2]) {
      for (const beamSize of [1, 5]) {
        const decoding = beamSize === 1 ? 'greedy' : `beam${beamSize}`;
        pairs.push({ key: `${earshotFormat}/${fwComputeType} t${threads} ${decoding}`, earshotModel, earshotFormat, fwComputeType, threads, beamSize });
      }
    }
  }
  return pairs;
}

/**
 * The engines and settings Earshot ships, each against faster-whisper int8 at 2 threads, greedy:
 * whisper.cpp q8_0 (the default quantisation of imported models) and f16 (its WER reference),
 * the CTranslate2 worker (int8), and the server's batch default (CTranslate2 + skipping silence).
 */
export function enginePairs(): PairSpec[] {
  const base = { fwComputeType: 'int8' as const, threads: 2, beamSize: 1 };
  return [
    { key: 'q8_0/int8 t2 greedy', earshotModel: 'base-q8_0', earshotFormat: 'q8_0', skipSilence: 'long', ...base },
    { key: 'whisper.cpp f16 vs int8 t2 greedy', earshotModel: 'base', earshotFormat: 'f16', skipSilence: 'long', ...base },
    { key: 'ct2 int8/int8 t2 greedy', earshotEngine: 'ct2', earshotModel: 'base-q8_0', earshotFormat: 'q8_0', skipSilence: 'long', ...base },
    { key: 'ct2 int8/int8 t2 greedy, every clip whole', earshotEngine: 'ct2', earshotModel: 'base-q8_0', earshotFormat: 'q8_0', skipSilence: 'off', ...base },
    { key: 'ct2 int8/int8 t2 greedy, skip silence', earshotEngine: 'ct2', skipSilence: 'always', earshotModel: 'base-q8_0', earshotFormat: 'q8_0', ...base },
  ];
}

interface Sample {
  /** wall seconds */
  earshot: number;
  fw: number;
  /** CPU seconds of the engine's process (all threads): the work done, far less sensitive to other load */
  earshotCpu: number;
  fwCpu: number;
}

interface ClipRun {
  clip: BenchClip;
  samples: Sample[];
  earshotText?: string;
  fwText?: string;
}

export interface ClipResult {
  id: string;
  set: ClipSet;
  audioSeconds: number;
  earshotSeconds: number | null;
  fwSeconds: number | null;
  /** Earshot time / faster-whisper time, medians of the repetitions */
  ratio: number | null;
  earshotRtf: number | null;
  fwRtf: number | null;
  /** CPU seconds (medians) and their ratio */
  earshotCpuSeconds: number | null;
  fwCpuSeconds: number | null;
  cpuRatio: number | null;
  earshotSamples: Array<number | null>;
  fwSamples: Array<number | null>;
  earshotCpuSamples: Array<number | null>;
  fwCpuSamples: Array<number | null>;
  earshotText: string;
  fwText: string;
}

export interface PairResult {
  key: string;
  tier: 'matrix' | 'corpus';
  earshot: { engine: string; model: string; format: string; threads: number; beamSize: number; skipSilence: SkipSilence };
  fasterWhisper: { computeType: string; threads: number; beamSize: number };
  repetitions: number;
  audioSeconds: number;
  /** sums of the per-clip medians */
  earshotSeconds: number | null;
  fwSeconds: number | null;
  earshotRtf: number | null;
  fwRtf: number | null;
  /** Earshot / faster-whisper over the summed medians (>1: Earshot slower) */
  ratio: number | null;
  /** median of the per-clip ratios (robust to one slow clip) */
  medianClipRatio: number | null;
  /** the same from CPU seconds of each engine's process: the work each did, much less disturbed by other load on the machine */
  earshotCpuSeconds: number | null;
  fwCpuSeconds: number | null;
  cpuRatio: number | null;
  medianClipCpuRatio: number | null;
  /** pooled WER of the first repetition; for the corpus tier also per set (long = the ~5 min file) */
  wer: {
    earshot: number | null;
    fasterWhisper: number | null;
    bySet?: Record<string, { earshot: number | null; fasterWhisper: number | null; words: number }>;
  };
  clips: ClipResult[];
}

export interface LoadTime {
  engine: 'earshot' | 'faster-whisper';
  config: string;
  seconds: number;
}

export interface BatchResult {
  plan: { matrixClips: string[]; repsPlanned: number; repsRun: number; corpusPairs: string[]; corpusReps: number; corpusClips: string[] };
  settings: Record<string, unknown>;
  loadTimes: LoadTime[];
  matrix: PairResult[];
  corpus: PairResult[];
  /** peak RSS of each engine process after all its work, MiB */
  processPeaks: Array<{ engine: 'earshot' | 'faster-whisper'; config: string; peakMiB: number | null }>;
  versions: { whisperCpp?: string; whisperSystemInfo?: string; fasterWhisper?: string; ctranslate2?: string };
  wallSeconds: number;
}

export interface BatchDeps {
  corpus: BenchCorpus;
  plan: BatchPlan;
  python: string;
  log: (line: string) => void;
  /** called with the result so far after each corpus pair, so a run cut short still leaves its finished pairs */
  onProgress?: (partial: BatchResult) => void;
}

const LANGUAGE = 'en';

export async function runBatch({ corpus, plan, python, log, onProgress }: BatchDeps): Promise<BatchResult> {
  const began = performance.now();
  const store = new ModelStore();
  const ct2Dir = ct2ModelDir('base');
  const pairs = plan.pairs;
  const corpusPairs = pairs.filter((p) => plan.corpusPairKeys.includes(p.key));
  const byId = new Map([...corpus.clips, corpus.long].map((c) => [c.id, c]));
  const matrixClips = plan.matrixClipIds.map((id) => {
    const clip = byId.get(id);
    if (!clip) throw new Error(`matrix clip ${id} is not in the corpus`);
    return clip;
  });

  // Load every engine once, alternating sides, before anything is timed.
  const earshot = new Map<string, WhisperEngine>();
  // Speech regions per clip, found once (the VAD's own time is reported separately, not in the engine's).
  let vad: CreatedVad | undefined;
  const speechOf = new Map<string, SpeechMap>();
  const vadSeconds = new Map<string, number>();
  const vadCpuSeconds = new Map<string, number>();
  const fw = new Map<string, FasterWhisperRunner>();
  const loadTimes: LoadTime[] = [];
  const earshotKey = (p: PairSpec) => `${p.earshotEngine ?? 'whisper'} ${p.earshotFormat} t${p.threads}`;
  const fwKey = (p: PairSpec) => `${p.fwComputeType} t${p.threads}`;
  try {
    for (const p of pairs) {
      if (!earshot.has(earshotKey(p))) {
        const model = await store.get(p.earshotModel);
        if (!model) throw new Error(`model ${p.earshotModel} is not installed: run npm run fetch:test-models`);
        const started = performance.now();
        const common = { modelId: p.earshotModel, threads: p.threads, parallel: 1, processes: 1, device: 'cpu' as const };
        const engine =
          p.earshotEngine === 'ct2'
            ? createCt2Engine({
                ...common,
                modelDir: ct2WeightsOf(model.dir)!,
                python: await ensureCt2Runtime({ home: store.home, install: true, log }),
                computeType: p.fwComputeType,
              })
            : new WhisperEngine({ ...common, modelPath: model.path });
        earshot.set(earshotKey(p), engine);
        await engine.ready();
        loadTimes.push({ engine: 'earshot', config: earshotKey(p), seconds: (performance.now() - started) / 1000 });
      }
      if (!fw.has(fwKey(p))) {
        const runner = await FasterWhisperRunner.start({ python, modelDir: ct2Dir, computeType: p.fwComputeType, threads: p.threads });
        fw.set(fwKey(p), runner);
        loadTimes.push({ engine: 'faster-whisper', config: fwKey(p), seconds: runner.loadSeconds });
      }
    }
    log(`batch: ${earshot.size} Earshot engines and ${fw.size} faster-whisper runners loaded`);
    if (pairs.some((p) => (p.skipSilence ?? 'off') !== 'off')) {
      vad = await createVad({ kind: 'silero' });
      for (const clip of [...corpus.clips, corpus.long]) {
        const t = performance.now();
        const c = process.cpuUsage();
        speechOf.set(clip.id, await SpeechMap.compute(clip.samples, vad.create()));
        vadSeconds.set(clip.id, (performance.now() - t) / 1000);
        const used = process.cpuUsage(c);
        vadCpuSeconds.set(clip.id, (used.user + used.system) / 1e6);
      }
    }

    const runOne = async (p: PairSpec, run: ClipRun, earshotFirst: boolean) => {
      const engine = earshot.get(earshotKey(p))!;
      const runner = fw.get(fwKey(p))!;
      const earshotPid = engine.workerPids()[0]!;
      const cpuOf = (pid: number) => {
        const c = cpuSeconds(pid);
        if (c === null) throw new Error(`process ${pid} is gone`);
        return c;
      };
      const timeEarshot = async () => {
        const cpu = cpuOf(earshotPid);
        const t = performance.now();
        const options = {
          language: LANGUAGE,
          beamSize: p.beamSize,
          bestOf: 1,
          temperature: 0,
          temperatureIncrement: 0.2,
          wordTimestamps: false,
          noContext: false,
        };
        const speech = skipsSilence(p.skipSilence, run.clip.duration) ? speechOf.get(run.clip.id) : undefined;
        // The server runs the VAD pass in its own process before the decode: it counts as Earshot's work.
        const vadWall = speech ? (vadSeconds.get(run.clip.id) ?? 0) : 0;
        const vadCpu = speech ? (vadCpuSeconds.get(run.clip.id) ?? 0) : 0;
        const r = speech
          ? (await transcribeSpeechOnly(engine, run.clip.samples, speech, options)).transcript
          : await engine.transcribe(run.clip.samples, options);
        const wall = (performance.now() - t) / 1000 + vadWall;
        run.earshotText ??= r.text;
        return [wall, cpuOf(earshotPid) - cpu + vadCpu] as const;
      };
      const timeFw = async () => {
        const cpu = cpuOf(runner.pid);
        const r = await runner.transcribe(run.clip.pcmPath, { language: LANGUAGE, beamSize: p.beamSize, vadFilter: p.skipSilence === 'always' });
        run.fwText ??= r.text;
        return [r.seconds, cpuOf(runner.pid) - cpu] as const;
      };
      const sample: Sample = { earshot: 0, fw: 0, earshotCpu: 0, fwCpu: 0 };
      if (earshotFirst) {
        [sample.earshot, sample.earshotCpu] = await timeEarshot();
        [sample.fw, sample.fwCpu] = await timeFw();
      } else {
        [sample.fw, sample.fwCpu] = await timeFw();
        [sample.earshot, sample.earshotCpu] = await timeEarshot();
      }
      run.samples.push(sample);
    };

    const matrixRuns = new Map(pairs.map((p) => [p.key, matrixClips.map((clip): ClipRun => ({ clip, samples: [] }))]));
    const matrixRep = async (rep: number) => {
      const t = performance.now();
      for (const [i, p] of pairs.entries()) {
        for (const [j, run] of matrixRuns.get(p.key)!.entries()) await runOne(p, run, (rep + i + j) % 2 === 0);
      }
      log(`batch: matrix repetition ${rep + 1} done (${((performance.now() - began) / 1000).toFixed(0)} s)`);
      return (performance.now() - t) / 1000;
    };

    // The first matrix repetition warms every engine; the corpus runs next; then the other repetitions.
    const repSeconds = await matrixRep(0);
    let repsRun = 1;
    const corpusClips = [...corpus.clips, corpus.long];
    const corpusRuns = new Map(corpusPairs.map((p) => [p.key, corpusClips.map((clip): ClipRun => ({ clip, samples: [] }))]));
    // The result so far: finished corpus pairs only (a pair cut short would understate its time).
    const snapshot = async (corpusDone: PairSpec[]): Promise<BatchResult> => {
      const processPeaks: BatchResult['processPeaks'] = [];
      for (const [config, engine] of earshot) {
        const kb = engine.workerPids().map((pid) => statusKb(pid, 'VmHWM') ?? 0);
        processPeaks.push({ engine: 'earshot', config, peakMiB: kb.length ? Math.max(...kb) / 1024 : null });
      }
      for (const [config, runner] of fw) processPeaks.push({ engine: 'faster-whisper', config, peakMiB: (await runner.memory()).peakMiB });
      const anyEngine = [...earshot.values()][0]!;
      const anyRunner = [...fw.values()][0]!;
      return {
        plan: {
          matrixClips: plan.matrixClipIds,
          repsPlanned: plan.reps,
          repsRun,
          corpusPairs: corpusDone.map((p) => p.key),
          corpusReps: plan.corpusReps,
          corpusClips: corpusClips.map((c) => c.id),
        },
        settings: batchSettings(round(sum([...vadSeconds.values()]), 2)),
        loadTimes: loadTimes.map((l) => ({ ...l, seconds: round(l.seconds)! })),
        matrix: pairs.map((p) => summarize(p, 'matrix', matrixRuns.get(p.key)!)),
        corpus: corpusDone.map((p) => summarize(p, 'corpus', corpusRuns.get(p.key)!)),
        processPeaks: processPeaks.map((m) => ({ ...m, peakMiB: round(m.peakMiB ?? undefined, 1) })),
        versions: {
          whisperCpp: anyEngine.info.detail.whisperVersion as string | undefined,
          whisperSystemInfo: anyEngine.info.detail.systemInfo as string | undefined,
          fasterWhisper: anyRunner.versions.faster_whisper,
          ctranslate2: anyRunner.versions.ctranslate2,
        },
        wallSeconds: round((performance.now() - began) / 1000, 1)!,
      };
    };
    for (let rep = 0; rep < plan.corpusReps; rep++) {
      for (const [i, p] of corpusPairs.entries()) {
        for (const [j, run] of corpusRuns.get(p.key)!.entries()) await runOne(p, run, (rep + i + j) % 2 === 1);
        log(`batch: corpus ${p.key} repetition ${rep + 1} done (${((performance.now() - began) / 1000).toFixed(0)} s)`);
        if (rep === plan.corpusReps - 1) onProgress?.(await snapshot(corpusPairs.slice(0, i + 1)));
      }
    }
    for (let rep = 1; rep < plan.reps; rep++) {
      if ((performance.now() - began) / 1000 + repSeconds > plan.budgetSeconds) {
        log(`batch: another repetition would overrun the ${Math.round(plan.budgetSeconds)} s budget: ${repsRun} of ${plan.reps} matrix repetitions run`);
        break;
      }
      await matrixRep(rep);
      repsRun++;
    }

    return await snapshot(corpusPairs);
  } finally {
    await Promise.all([...earshot.values()].map((e) => e.close()));
    await Promise.all([...fw.values()].map((r) => r.close()));
    await vad?.close();
  }
}

/** The decoding settings both sides ran with, as the report prints them. */
function batchSettings(vadSeconds: number | null): Record<string, unknown> {
  return {
    language: LANGUAGE,
    temperature: 0,
    temperatureFallback: '0.2 steps up to 1.0 on both sides (whisper.cpp temperature_inc 0.2; faster-whisper temperature=[0, 0.2, …, 1.0])',
    bestOf: 1,
    patience: 1,
    conditionOnPreviousText: true,
    timestamps: 'segment timestamps on both (whisper.cpp default; faster-whisper without_timestamps=False)',
    wordTimestamps: false,
    vad: 'per pair, as batch.skipSilence: "skip silence" = every clip (faster-whisper: vad_filter=True), "skip silence > 30 s" = the server default, only clips longer than one window (faster-whisper: its default, no VAD), else none. Earshot as the server does: Silero speech windows of up to 30 s, batched on CTranslate2, one job per window on whisper.cpp — the VAD pass, measured once per clip in the benchmark process, is added to the Earshot wall and CPU time for every clip it decodes that way; faster-whisper: vad_filter=True)',
    vadSeconds,
    suppress: 'blank only (whisper.cpp suppress_nst off; faster-whisper suppress_tokens=[])',
    ompWaitPolicy: 'PASSIVE on both (Earshot sets it for its worker; the bench sets it for faster-whisper)',
    timing:
      'wall: Earshot engine.transcribe() seen from the bench process (sending the audio to the worker included), faster-whisper transcribe() plus draining its segment generator inside Python; CPU: user+system seconds of the engine process (whisper.cpp worker / Python) across the same call, from /proc',
    ct2Float16: 'not measured: CTranslate2 float16 has no fast CPU path; float32 is the unquantized CPU baseline (weights stored as float16)',
  };
}

const med = (run: ClipRun, pick: (s: Sample) => number) => median(run.samples.map(pick));

function summarize(p: PairSpec, tier: 'matrix' | 'corpus', runs: ClipRun[]): PairResult {
  const clips: ClipResult[] = runs.map((run) => {
    const e = med(run, (s) => s.earshot);
    const f = med(run, (s) => s.fw);
    const ec = med(run, (s) => s.earshotCpu);
    const fc = med(run, (s) => s.fwCpu);
    return {
      id: run.clip.id,
      set: run.clip.set,
      audioSeconds: round(run.clip.duration, 2)!,
      earshotSeconds: round(e),
      fwSeconds: round(f),
      ratio: round(e / f),
      earshotRtf: round(e / run.clip.duration, 4),
      fwRtf: round(f / run.clip.duration, 4),
      earshotCpuSeconds: round(ec, 2),
      fwCpuSeconds: round(fc, 2),
      cpuRatio: round(ec / fc),
      earshotSamples: run.samples.map((s) => round(s.earshot)),
      fwSamples: run.samples.map((s) => round(s.fw)),
      earshotCpuSamples: run.samples.map((s) => round(s.earshotCpu, 2)),
      fwCpuSamples: run.samples.map((s) => round(s.fwCpu, 2)),
      earshotText: run.earshotText ?? '',
      fwText: run.fwText ?? '',
    };
  });
  const audio = sum(runs.map((r) => r.clip.duration));
  const e = sum(runs.map((r) => med(r, (s) => s.earshot)));
  const f = sum(runs.map((r) => med(r, (s) => s.fw)));
  const ec = sum(runs.map((r) => med(r, (s) => s.earshotCpu)));
  const fc = sum(runs.map((r) => med(r, (s) => s.fwCpu)));
  const werOf = (rs: ClipRun[]) => ({
    earshot: round(pooledWer(rs.map((r) => ({ reference: r.clip.reference, hypothesis: r.earshotText ?? '' }))), 4),
    fasterWhisper: round(pooledWer(rs.map((r) => ({ reference: r.clip.reference, hypothesis: r.fwText ?? '' }))), 4),
  });
  // Pooled over separately scored clips; the long file repeats their speech, so it is its own row.
  const scored = runs.filter((r) => r.clip.set !== 'long');
  const wer: PairResult['wer'] = werOf(scored.length ? scored : runs);
  if (tier === 'corpus') {
    wer.bySet = {};
    for (const set of [...new Set(runs.map((r) => r.clip.set))]) {
      const rs = runs.filter((r) => r.clip.set === set);
      wer.bySet[set] = { ...werOf(rs), words: sum(rs.map((r) => werCount(r.clip.reference, '').words)) };
    }
  }
  return {
    key: p.key,
    tier,
    earshot: {
      engine: p.earshotEngine ?? 'whisper',
      model: p.earshotModel,
      format: p.earshotFormat,
      threads: p.threads,
      beamSize: p.beamSize,
      skipSilence: p.skipSilence ?? 'off',
    },
    fasterWhisper: { computeType: p.fwComputeType, threads: p.threads, beamSize: p.beamSize },
    repetitions: Math.max(...runs.map((r) => r.samples.length)),
    audioSeconds: round(audio, 2)!,
    earshotSeconds: round(e),
    fwSeconds: round(f),
    earshotRtf: round(e / audio, 4),
    fwRtf: round(f / audio, 4),
    ratio: round(e / f),
    medianClipRatio: round(median(runs.map((r) => med(r, (s) => s.earshot) / med(r, (s) => s.fw)))),
    earshotCpuSeconds: round(ec, 2),
    fwCpuSeconds: round(fc, 2),
    cpuRatio: round(ec / fc),
    medianClipCpuRatio: round(median(runs.map((r) => med(r, (s) => s.earshotCpu) / med(r, (s) => s.fwCpu)))),
    wer,
    clips,
  };
}
