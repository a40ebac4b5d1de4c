// One sherpa-onnx worker: a Node child process running worker-main, spoken to over IPC.
// Never throws to its caller: a dead worker rejects its own jobs and stream calls with worker_crashed.
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { EngineError } from '../types.js';
import type { PoolWorker } from '../pool/worker-pool.js';
import type { FromWorker, RawSherpaResult, SherpaWorkerInfo, StreamHypothesis, ToWorker, WorkerInit } from './protocol.js';
import { childEnv } from '../../config/env.js';

/** The worker entry point: the compiled .js next to this file, or the .ts source under tsx. */
function workerEntry(): { path: string; execArgv: string[] } {
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith('.ts')) {
    return { path: self.replace(/worker-process\.ts$/, 'worker-main.ts'), execArgv: ['--import', import.meta.resolve('tsx')] };
  }
  return { path: self.replace(/worker-process\.js$/, 'worker-main.js'), execArgv: [] };
}

interface RunningJob {
  resolve(result: RawSherpaResult): void;
  reject(error: Error): void;
}

interface StreamCall {
  resolve(hypotheses: StreamHypothesis[]): void;
  reject(error: Error): void;
}

export class SherpaWorkerProcess extends EventEmitter implements PoolWorker<SherpaWorkerInfo> {
  readonly pid: number | undefined;
  info: SherpaWorkerInfo | undefined;
  private readonly child: ChildProcess;
  private readonly jobs = new Map<string, RunningJob>();
  private readonly streamCalls = new Map<string, StreamCall>();
  private readonly streamIds = new Set<string>();
  private readonly readyPromise: Promise<SherpaWorkerInfo>;
  private stderrTail = '';
  private exited = false;
  private killReason: string | undefined;
  private nextCall = 0;

  constructor(init: WorkerInit) {
    super();
    const entry = workerEntry();
    this.child = fork(entry.path, [JSON.stringify(init)], {
      execArgv: entry.execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // ONNX Runtime spins idle threads unless told otherwise; leave the CPU to the rest.
      env: { OMP_WAIT_POLICY: 'PASSIVE', ...childEnv() },
    });
    this.pid = this.child.pid;
    this.readyPromise = new Promise<SherpaWorkerInfo>((resolve, reject) => {
      this.once('ready', resolve);
      this.once('exit', () =>
        reject(new EngineError('model_load_failed', `sherpa worker exited before loading the model: ${this.stderrTail.trim().slice(-500) || 'no output'}`)),
      );
    });
    this.readyPromise.catch(() => undefined);
    const keepTail = (chunk: Buffer) => (this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-4000));
    this.child.stdout!.on('data', keepTail);
    this.child.stderr!.on('data', keepTail);
    this.child.on('message', (message) => this.handle(message as FromWorker));
    this.child.on('error', (err) => this.finish(null, null, err.message));
    this.child.on('exit', (code, signal) => this.finish(code, signal));
  }

  ready(): Promise<SherpaWorkerInfo> {
    return this.readyPromise;
  }

  get alive(): boolean {
    return !this.exited;
  }

  get running(): number {
    return this.jobs.size;
  }

  /** live streams pinned to this worker */
  get streams(): number {
    return this.streamIds.size;
  }

  private post(message: ToWorker): boolean {
    if (this.exited || !this.child.connected) return false;
    try {
      this.child.send(message);
      return true;
    } catch {
      return false;
    }
  }

  submit(id: string, job: RunningJob, audio: Float32Array, chunks: Array<[number, number]>): void {
    this.jobs.set(id, job);
    if (!this.post({ type: 'transcribe', id, audio, chunks })) {
      this.jobs.delete(id);
      job.reject(new EngineError('worker_crashed', 'sherpa worker is not running'));
    }
  }

  cancel(id: string): void {
    if (this.jobs.has(id)) this.post({ type: 'cancel', id });
  }

  openStream(id: string): void {
    if (this.exited) throw new EngineError('worker_crashed', 'sherpa worker is not running');
    this.streamIds.add(id);
    this.post({ type: 'stream_open', id });
  }

  /** Feeds audio (or, without audio, ends the input) and answers the hypotheses it produced. */
  streamCall(id: string, audio?: Float32Array): Promise<StreamHypothesis[]> {
    return new Promise((resolve, reject) => {
      if (!this.streamIds.has(id)) return reject(new EngineError('closed', 'stream is closed'));
      const call = this.nextCall++;
      this.streamCalls.set(`${id}:${call}`, { resolve, reject });
      const sent = audio ? this.post({ type: 'stream_accept', id, call, audio }) : this.post({ type: 'stream_finish', id, call });
      if (!sent) {
        this.streamCalls.delete(`${id}:${call}`);
        reject(new EngineError('worker_crashed', 'sherpa worker is not running'));
      }
    });
  }

  closeStream(id: string): void {
    if (this.streamIds.delete(id)) this.post({ type: 'stream_close', id });
  }

  kill(reason = 'sherpa worker killed'): void {
    if (this.exited) return;
    this.killReason = reason;
    this.child.kill('SIGKILL');
  }

  async shutdown(graceMs = 5000): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.once('exit', () => resolve()));
    // Closing the IPC channel ends the worker (it exits on 'disconnect').
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.kill('sherpa worker did not stop in time'), graceMs);
    await done;
    clearTimeout(timer);
  }

  private handle(message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        this.info = message.info;
        this.emit('ready', message.info);
        return;
      case 'result': {
        const job = this.jobs.get(message.id);
        if (!job) return;
        this.jobs.delete(message.id);
        job.resolve(message.result);
        this.emit('idle');
        return;
      }
      case 'error': {
        const job = this.jobs.get(message.id);
        if (!job) return;
        this.jobs.delete(message.id);
        job.reject(new EngineError(message.code, message.message));
        this.emit('idle');
        return;
      }
      case 'stream_result':
      case 'stream_error': {
        const key = `${message.id}:${message.call}`;
        const call = this.streamCalls.get(key);
        if (!call) return;
        this.streamCalls.delete(key);
        if (message.type === 'stream_result') call.resolve(message.hypotheses);
        else call.reject(new EngineError('internal', message.message));
        return;
      }
      case 'fatal':
        this.stderrTail += `\n${message.message}`;
        return;
    }
  }

  private finish(code: number | null, signal: NodeJS.Signals | null, spawnError?: string): void {
    if (this.exited) return;
    this.exited = true;
    const why =
      this.killReason ??
      spawnError ??
      `sherpa worker exited (${signal ? `signal ${signal}` : `code ${code}`})${this.stderrTail ? `: ${this.stderrTail.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
    const jobs = [...this.jobs.values()];
    this.jobs.clear();
    for (const job of jobs) job.reject(new EngineError('worker_crashed', why));
    const calls = [...this.streamCalls.values()];
    this.streamCalls.clear();
    for (const call of calls) call.reject(new EngineError('worker_crashed', why));
    this.streamIds.clear();
    this.emit('exit', code, signal);
  }
}
