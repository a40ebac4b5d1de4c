// One native worker process: spawn, framed I/O, and the jobs running inside it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { childEnv, whisperWorkerOverride } from '../../config/env.js';
import { PROJECT_ROOT } from '../../version.js';
import { EngineError } from '../types.js';
import { encodeFrame, FrameDecoder, type RawResult, type RawSegment, type WorkerInfo } from './protocol.js';

export function workerBinaryPath(): string {
  const fromEnv = whisperWorkerOverride();
  if (fromEnv) return fromEnv;
  return join(PROJECT_ROOT, 'native', 'build', 'earshot-whisper-worker');
}

/** Another program speaking the worker protocol (the CTranslate2 worker): it replaces the native binary. */
export interface WorkerLaunch {
  command: string;
  args: string[];
}

export interface WorkerProcessOptions {
  modelPath: string;
  launch?: WorkerLaunch;
  threads: number;
  parallel: number;
  gpu: boolean;
  gpuDevice?: number;
  flashAttn?: boolean;
  /** cross-attention DTW word timing for jobs that ask for word times (a second model copy, loaded on first use) */
  dtw?: boolean;
}

export interface RunningJob {
  id: string;
  resolve: (result: RawResult) => void;
  reject: (error: EngineError) => void;
  onSegment?: (segment: RawSegment, index: number) => void;
  onProgress?: (percent: number) => void;
}

/**
 * Emits 'exit' (code, signal, jobs that were running) once, whatever ends the process.
 * Never throws to its caller: a dead worker rejects its own jobs with worker_crashed.
 */
/** Info: what the worker's ready frame carries (whisper.cpp's WorkerInfo; another program's own). */
export class WorkerProcess<Info = WorkerInfo> extends EventEmitter {
  readonly pid: number | undefined;
  info: Info | undefined;
  private readonly child: ChildProcess;
  private readonly jobs = new Map<string, RunningJob>();
  private readonly decoder = new FrameDecoder();
  private readonly readyPromise: Promise<Info>;
  private stderrTail = '';
  private exited = false;

  constructor(readonly options: WorkerProcessOptions) {
    super();
    let binary: string;
    let args: string[];
    if (options.launch) {
      binary = options.launch.command;
      args = options.launch.args;
    } else {
      binary = workerBinaryPath();
      if (!existsSync(binary)) {
        throw new EngineError('model_load_failed', `native worker not built: ${binary} is missing (run "npm run build:native")`);
      }
      args = ['--model', options.modelPath, '--threads', String(options.threads), '--parallel', String(options.parallel)];
      if (options.gpu) args.push('--gpu', '--gpu-device', String(options.gpuDevice ?? 0));
      if (options.flashAttn) args.push('--flash-attn');
      if (options.dtw) args.push('--dtw');
    }
    // Passive OpenMP waiting: spinning threads steal the CPU from Node, ffmpeg and other workers
    // (measured here: 40 % less CPU time per clip on a busy 2-core machine).
    const env = { OMP_WAIT_POLICY: 'PASSIVE', ...childEnv() };
    this.child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.pid = this.child.pid;

    this.readyPromise = new Promise<Info>((resolve, reject) => {
      this.once('ready', resolve);
      this.once('exit', () =>
        reject(new EngineError('model_load_failed', `worker exited before loading the model: ${this.stderrTail.trim().slice(-500) || 'no output'}`)),
      );
    });
    this.readyPromise.catch(() => undefined);

    this.child.stdout!.on('data', (chunk: Buffer) => {
      let frames: Record<string, unknown>[];
      try {
        frames = this.decoder.push(chunk);
      } catch (err) {
        this.kill(`protocol error from worker: ${(err as Error).message}`);
        return;
      }
      for (const frame of frames) this.handle(frame);
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-4000);
    });
    // EPIPE on a dead worker's stdin is expected; 'exit' does the cleanup.
    this.child.stdin!.on('error', () => undefined);
    this.child.on('error', (err) => this.finish(null, null, err.message));
    this.child.on('exit', (code, signal) => this.finish(code, signal));
  }

  ready(): Promise<Info> {
    return this.readyPromise;
  }

  get alive(): boolean {
    return !this.exited;
  }

  get running(): number {
    return this.jobs.size;
  }

  runningJobIds(): string[] {
    return [...this.jobs.keys()];
  }

  submit(job: RunningJob, audio: Float32Array, options: Record<string, unknown>): void {
    if (this.exited) {
      job.reject(new EngineError('worker_crashed', 'worker is not running'));
      return;
    }
    this.jobs.set(job.id, job);
    for (const part of encodeFrame({ type: 'transcribe', id: job.id, options }, new Uint8Array(audio.buffer, audio.byteOffset, audio.byteLength))) {
      this.child.stdin!.write(part);
    }
  }

  cancel(id: string): void {
    if (this.exited || !this.jobs.has(id)) return;
    for (const part of encodeFrame({ type: 'cancel', id })) this.child.stdin!.write(part);
  }

  /** Hard stop; running jobs are rejected with `reason`. */
  kill(reason = 'worker killed'): void {
    if (this.exited) return;
    this.killReason = reason;
    this.child.kill('SIGKILL');
  }

  /** Polite stop: close stdin, let the worker finish, kill after the grace period. */
  async shutdown(graceMs = 5000): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.once('exit', () => resolve()));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.kill('worker did not stop in time'), graceMs);
    await done;
    clearTimeout(timer);
  }

  private killReason: string | undefined;

  private handle(frame: Record<string, unknown>): void {
    const type = frame.type as string;
    const job = typeof frame.id === 'string' ? this.jobs.get(frame.id) : undefined;
    switch (type) {
      case 'ready':
        this.info = frame.info as Info;
        this.emit('ready', this.info);
        break;
      case 'segment':
        job?.onSegment?.(frame.segment as RawSegment, frame.index as number);
        break;
      case 'progress':
        job?.onProgress?.(frame.progress as number);
        break;
      case 'result':
        if (job) {
          this.jobs.delete(job.id);
          job.resolve(frame as unknown as RawResult);
          this.emit('idle');
        }
        break;
      case 'error':
        if (job) {
          this.jobs.delete(job.id);
          const code = frame.code === 'aborted' ? 'aborted' : frame.code === 'bad_audio' ? 'bad_audio' : 'internal';
          job.reject(new EngineError(code, String(frame.message)));
          this.emit('idle');
        }
        break;
      case 'fatal':
        this.stderrTail += `\n${String(frame.message)}`;
        break;
      default:
        break;
    }
  }

  private finish(code: number | null, signal: NodeJS.Signals | null, spawnError?: string): void {
    if (this.exited) return;
    this.exited = true;
    const why =
      this.killReason ??
      spawnError ??
      `worker exited (${signal ? `signal ${signal}` : `code ${code}`})${this.stderrTail ? `: ${this.stderrTail.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
    const jobs = [...this.jobs.values()];
    this.jobs.clear();
    for (const job of jobs) job.reject(new EngineError('worker_crashed', why));
    this.emit('exit', code, signal, jobs);
  }
}
