// The faster-whisper side: a Python venv (Earshot's CTranslate2 runtime, made on first use)
// and a client for bench/faster_whisper_runner.py, one process per (compute type, threads), model
// loaded once, jobs and answers as JSON lines.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ensureCt2Runtime } from '../../src/engines/ct2/runtime.js';
import { defaultHome } from '../../src/models/store.js';

export const BENCH_DIR = join(fileURLToPath(new URL('.', import.meta.url)), '..');

/** The CTranslate2 folder `npm run fetch:test-models` keeps: the very weights the ggml models came from. */
export function ct2ModelDir(name: string): string {
  const dir = join(defaultHome(), 'cache', 'ct2', name);
  if (!existsSync(join(dir, '.complete.json'))) throw new Error(`CTranslate2 weights of ${name} missing at ${dir}: run npm run fetch:test-models`);
  return dir;
}

function importsWork(python: string): boolean {
  return spawnSync(python, ['-c', 'import faster_whisper, ctranslate2'], { stdio: 'ignore' }).status === 0;
}

/**
 * A Python that can import faster_whisper: $EARSHOT_BENCH_PYTHON, or the venv of Earshot's own
 * CTranslate2 engine (made on first use; src/engines/ct2/requirements.txt pins the same
 * faster-whisper and CTranslate2 versions), so the reference and Earshot's CTranslate2 engine run
 * the very same library build.
 */
export async function ensurePython(log: (line: string) => void): Promise<string> {
  if (process.env.EARSHOT_BENCH_PYTHON) {
    const python = process.env.EARSHOT_BENCH_PYTHON;
    if (!importsWork(python)) throw new Error(`EARSHOT_BENCH_PYTHON=${python} cannot import faster_whisper`);
    return python;
  }
  return ensureCt2Runtime({ home: defaultHome(), install: true, log });
}

export interface RunnerOptions {
  python: string;
  modelDir: string;
  /** CTranslate2 compute type: int8, float32, … */
  computeType: string;
  threads: number;
  /**
   * OMP_WAIT_POLICY for the Python process. Earshot's worker runs with PASSIVE; giving faster-whisper
   * the same keeps libgomp's busy-waiting threads from skewing the comparison on a shared machine.
   */
  ompWaitPolicy?: 'PASSIVE' | 'ACTIVE' | null;
}

export interface DecodeSettings {
  language: string;
  beamSize: number;
  vadFilter?: boolean;
}

export interface RunnerResult {
  seconds: number;
  text: string;
}

interface Waiter {
  resolve: (msg: Record<string, unknown>) => void;
  reject: (err: Error) => void;
}

export class FasterWhisperRunner {
  readonly pid: number;
  /** seconds from spawn to the model being loaded (Python start and imports included) */
  loadSeconds = 0;
  versions: Record<string, string> = {};
  computeType = '';
  private readonly waiters: Waiter[] = [];
  private stderr = '';
  private exited = false;
  private nextId = 0;

  private constructor(
    private readonly child: ChildProcess,
    readonly options: RunnerOptions,
  ) {
    this.pid = child.pid!;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return; // a library printing to stdout: not ours
      }
      const waiter = this.waiters.shift();
      if (!waiter) return;
      if (msg.type === 'error') waiter.reject(new Error(`faster-whisper: ${String(msg.message)}`));
      else waiter.resolve(msg);
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    // Writing to a runner that just died: the exit handler below reports it.
    child.stdin!.on('error', () => undefined);
    child.once('exit', (code, signal) => {
      this.exited = true;
      const err = new Error(`faster-whisper runner exited (${code ?? signal}): ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      for (const w of this.waiters.splice(0)) w.reject(err);
    });
  }

  static async start(options: RunnerOptions): Promise<FasterWhisperRunner> {
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1', HF_HUB_OFFLINE: '1' };
    const policy = options.ompWaitPolicy === undefined ? 'PASSIVE' : options.ompWaitPolicy;
    if (policy) env.OMP_WAIT_POLICY = policy;
    const started = performance.now();
    const child = spawn(
      options.python,
      [join(BENCH_DIR, 'faster_whisper_runner.py'), '--model', options.modelDir, '--compute-type', options.computeType, '--threads', String(options.threads)],
      { stdio: ['pipe', 'pipe', 'pipe'], env },
    );
    const runner = new FasterWhisperRunner(child, options);
    const ready = await runner.next();
    runner.loadSeconds = (performance.now() - started) / 1000;
    runner.versions = ready.versions as Record<string, string>;
    runner.computeType = String(ready.compute_type);
    return runner;
  }

  private next(): Promise<Record<string, unknown>> {
    if (this.exited) return Promise.reject(new Error(`faster-whisper runner is gone: ${this.stderr.trim()}`));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private request(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const answer = this.next();
    this.child.stdin!.write(JSON.stringify({ id: String(this.nextId++), ...body }) + '\n');
    return answer;
  }

  async transcribe(pcmPath: string, settings: DecodeSettings): Promise<RunnerResult> {
    const r = await this.request({
      pcm: pcmPath,
      language: settings.language,
      beam_size: settings.beamSize,
      best_of: 1,
      vad_filter: settings.vadFilter ?? false,
    });
    return { seconds: Number(r.seconds), text: String(r.text) };
  }

  /** peak and current resident memory of the Python process, MiB */
  async memory(): Promise<{ peakMiB: number; rssMiB: number }> {
    const r = await this.request({ cmd: 'memory' });
    return { peakMiB: Number(r.hwm_kb) / 1024, rssMiB: Number(r.rss_kb) / 1024 };
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}
