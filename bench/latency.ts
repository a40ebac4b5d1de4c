// Short-clip latency and WER per engine: each engine (Whisper on whisper.cpp, Moonshine on
// sherpa-onnx) transcribes the same short utterances (pocketsphinx LibriVox sentences and cards
// phrases, 1–11 s) in the same run, engines alternated clip by clip (order flipped each repetition),
// through Earshot's own engine classes and worker processes. Wall seconds per clip from the call to
// the result, the engine process's CPU seconds, and pooled WER over the clips.
import { SherpaEngine } from '../src/engines/sherpa/engine.js';
import type { Engine } from '../src/engines/types.js';
import { WhisperEngine } from '../src/engines/whisper/engine.js';
import { pooledWer } from '../src/eval/wer.js';
import { sherpaDetails } from '../src/models/sherpa/validate.js';
import { ModelStore } from '../src/models/store.js';
import type { BenchClip } from './lib/corpus.js';
import { cpuSeconds } from './lib/proc.js';
import { median, round } from './lib/stats.js';

export interface LatencyPlan {
  /** store ids; the first is the reference every ratio is taken against */
  models: string[];
  repetitions: number;
  threads: number;
}

export interface LatencyEngineResult {
  model: string;
  engine: string;
  /** median wall seconds per clip, over clips (each clip's median over repetitions) */
  medianSeconds: number | null;
  /** same, 90th percentile over clips */
  p90Seconds: number | null;
  /** total wall seconds / total audio seconds (one repetition) */
  rtf: number | null;
  /** engine-process CPU seconds per audio second */
  cpuPerAudioSecond: number | null;
  /** pooled WER over the clips (first repetition's transcripts) */
  wer: number | null;
  /** median clip latency relative to the reference model */
  latencyRatio: number | null;
  cpuRatio: number | null;
  loadSeconds: number;
}

export interface LatencyResult {
  plan: LatencyPlan;
  clips: Array<{ id: string; seconds: number }>;
  engines: LatencyEngineResult[];
  /** models the plan named that are not installed (run npm run fetch:test-models) */
  missing: string[];
}

async function openEngine(
  store: ModelStore,
  id: string,
  threads: number,
): Promise<{ engine: Engine & { workerPids(): number[] }; loadSeconds: number } | undefined> {
  const model = await store.get(id);
  if (!model) return undefined;
  const started = performance.now();
  const engine =
    model.engine === 'sherpa'
      ? new SherpaEngine({ modelId: id, modelDir: model.dir, details: sherpaDetails(model.details, id), threads, processes: 1, device: 'cpu' })
      : new WhisperEngine({ modelId: id, modelPath: model.path, threads, parallel: 1, processes: 1, device: 'cpu', languages: model.languages });
  await engine.ready();
  // The first decode allocates buffers: not part of any clip's latency.
  await engine.transcribe(new Float32Array(16000), { language: 'en' });
  return { engine, loadSeconds: (performance.now() - started) / 1000 };
}

export async function runLatency(clips: BenchClip[], plan: LatencyPlan, log: (line: string) => void): Promise<LatencyResult> {
  const store = new ModelStore();
  const open: Array<{ id: string; engine: Engine & { workerPids(): number[] }; loadSeconds: number }> = [];
  const missing: string[] = [];
  try {
    for (const id of plan.models) {
      const opened = await openEngine(store, id, plan.threads);
      if (opened) open.push({ id, ...opened });
      else missing.push(id);
    }
    log(
      `latency: ${open.map((o) => o.id).join(', ')} on ${clips.length} clips × ${plan.repetitions}${missing.length ? ` (not installed: ${missing.join(', ')})` : ''}`,
    );
    const seconds = new Map<string, number[][]>(open.map((o) => [o.id, clips.map(() => [])]));
    const cpu = new Map<string, number>(open.map((o) => [o.id, 0]));
    const texts = new Map<string, string[]>(open.map((o) => [o.id, []]));
    for (let rep = 0; rep < plan.repetitions; rep++) {
      for (const [ci, clip] of clips.entries()) {
        // Alternate which engine goes first, so neither always runs on a warmer cache.
        const order = (rep + ci) % 2 ? [...open].reverse() : open;
        for (const o of order) {
          const pid = o.engine.workerPids()[0]!;
          const cpuBefore = cpuSeconds(pid) ?? 0;
          const t = performance.now();
          const transcript = await o.engine.transcribe(clip.samples, { language: 'en' });
          seconds.get(o.id)![ci]!.push((performance.now() - t) / 1000);
          if (rep === 0) {
            texts.get(o.id)!.push(transcript.text);
            cpu.set(o.id, cpu.get(o.id)! + ((cpuSeconds(pid) ?? cpuBefore) - cpuBefore));
          }
        }
      }
    }
    const audio = clips.reduce((a, c) => a + c.duration, 0);
    const engines: LatencyEngineResult[] = open.map((o) => {
      const perClip = seconds.get(o.id)!.map((s) => median(s));
      const sorted = [...perClip].sort((a, b) => a - b);
      const firstRep = seconds.get(o.id)!.reduce((a, s) => a + s[0]!, 0);
      return {
        model: o.id,
        engine: o.engine.info.kind,
        medianSeconds: round(median(perClip)),
        p90Seconds: round(sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.9) - 1)]),
        rtf: round(firstRep / audio),
        cpuPerAudioSecond: round(cpu.get(o.id)! / audio),
        wer: round(pooledWer(clips.map((c, i) => ({ reference: c.reference, hypothesis: texts.get(o.id)![i]! }))), 4),
        latencyRatio: null,
        cpuRatio: null,
        loadSeconds: round(o.loadSeconds) ?? 0,
      };
    });
    const reference = engines[0];
    for (const e of engines) {
      e.latencyRatio = reference?.medianSeconds && e.medianSeconds !== null ? round(e.medianSeconds / reference.medianSeconds) : null;
      e.cpuRatio = reference?.cpuPerAudioSecond && e.cpuPerAudioSecond !== null ? round(e.cpuPerAudioSecond / reference.cpuPerAudioSecond) : null;
    }
    return { plan, clips: clips.map((c) => ({ id: c.id, seconds: round(c.duration) ?? 0 })), engines, missing };
  } finally {
    await Promise.all(open.map((o) => o.engine.close()));
  }
}

export function renderLatency(r: LatencyResult): string {
  const f = (v: number | null, digits = 2) => (v === null ? '—' : v.toFixed(digits));
  const lines = [
    `## Short clips: latency and WER per engine (${r.clips.length} clips of ${Math.min(...r.clips.map((c) => c.seconds)).toFixed(1)}–${Math.max(...r.clips.map((c) => c.seconds)).toFixed(1)} s, ${r.plan.threads} threads, ${r.plan.repetitions} repetitions, engines alternated)`,
    '',
    '| model | engine | median s / clip | p90 s | RTF | CPU s / audio s | WER | latency vs ' +
      r.engines[0]?.model +
      ' | CPU vs ' +
      r.engines[0]?.model +
      ' | load s |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...r.engines.map(
      (e) =>
        `| ${e.model} | ${e.engine} | ${f(e.medianSeconds)} | ${f(e.p90Seconds)} | ${f(e.rtf, 3)} | ${f(e.cpuPerAudioSecond, 3)} | ${e.wer === null ? '—' : `${(e.wer * 100).toFixed(1)} %`} | ${e.latencyRatio === null ? '—' : `${e.latencyRatio.toFixed(2)}×`} | ${e.cpuRatio === null ? '—' : `${e.cpuRatio.toFixed(2)}×`} | ${f(e.loadSeconds, 1)} |`,
    ),
    '',
    "Whisper pads every utterance to a 30 s window; Moonshine's encoder cost grows with the audio, so the gap is widest on the shortest clips.",
  ];
  if (r.missing.length) lines.push('', `Not installed, not measured: ${r.missing.join(', ')} (npm run fetch:test-models).`);
  return lines.join('\n');
}
