// Memory: peak RSS (VmHWM) after loading a model and transcribing one clip, for a real Earshot server
// (the Node process and its whisper.cpp worker) per model, and for faster-whisper per compute type on
// the same weights.
import { encodeWav } from '../src/audio/pcm.js';
import type { BenchClip } from './lib/corpus.js';
import { FasterWhisperRunner, ct2ModelDir } from './lib/faster-whisper.js';
import { childPids, peakMiB } from './lib/proc.js';
import { startServer } from './lib/server.js';
import { round } from './lib/stats.js';

export interface MemoryPlan {
  earshotModels: Array<{ id: string; format: string; ct2: string }>;
  fw: Array<{ ct2: string; computeType: string }>;
  threads: number;
}

export interface MemoryRow {
  engine: 'earshot' | 'faster-whisper';
  model: string;
  format: string;
  /** Earshot: the Node server; faster-whisper: the Python process */
  processMiB: number | null;
  /** Earshot only: the whisper.cpp worker (the engine proper) */
  workerMiB?: number | null;
  totalMiB: number | null;
}

export interface MemoryResult {
  clip: string;
  threads: number;
  rows: MemoryRow[];
}

export async function runMemory(clip: BenchClip, plan: MemoryPlan, python: string, log: (line: string) => void): Promise<MemoryResult> {
  const rows: MemoryRow[] = [];
  const wav = encodeWav(clip.samples);
  for (const m of plan.earshotModels) {
    // The rows compare ggml formats, so the server runs them on whisper.cpp (the default engine choice,
    // auto, would put a model with CTranslate2 weights on CTranslate2).
    const server = await startServer({ model: m.id, threads: plan.threads, env: { EARSHOT_ENGINE: 'whisper' } });
    try {
      const form = new FormData();
      form.append('file', new Blob([wav], { type: 'audio/wav' }), `${clip.id}.wav`);
      form.append('language', 'en');
      const res = await fetch(`${server.url}/transcribe`, { method: 'POST', body: form });
      await res.text();
      if (res.status !== 200) throw new Error(`memory: POST /transcribe on ${m.id} answered ${res.status}`);
      const serverMiB = peakMiB(server.pid);
      const workers = childPids(server.pid, 'earshot-whisper-worker').map((p) => peakMiB(p) ?? 0);
      const workerMiB = workers.length ? workers.reduce((a, b) => a + b, 0) : null;
      rows.push({
        engine: 'earshot',
        model: m.id,
        format: m.format,
        processMiB: round(serverMiB ?? undefined, 1),
        workerMiB: round(workerMiB ?? undefined, 1),
        totalMiB: round((serverMiB ?? 0) + (workerMiB ?? 0), 1),
      });
    } finally {
      await server.stop();
    }
  }
  for (const f of plan.fw) {
    const runner = await FasterWhisperRunner.start({ python, modelDir: ct2ModelDir(f.ct2), computeType: f.computeType, threads: plan.threads });
    try {
      await runner.transcribe(clip.pcmPath, { language: 'en', beamSize: 1 });
      const { peakMiB: peak } = await runner.memory();
      rows.push({ engine: 'faster-whisper', model: f.ct2, format: runner.computeType, processMiB: round(peak, 1), totalMiB: round(peak, 1) });
    } finally {
      await runner.close();
    }
  }
  for (const r of rows) log(`memory: ${r.engine} ${r.model} ${r.format}: ${r.totalMiB} MiB peak`);
  return { clip: clip.id, threads: plan.threads, rows };
}
