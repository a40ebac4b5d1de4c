// The job queue's vocabulary, shared by its two backends (in-process for a single node, BullMQ on Redis
// for a cluster) and the jobs service above them.
import type { Transcript } from '../engines/types.js';

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/** Where a job's audio is: an upload in the job audio store, a URL, or an S3 object the client named. */
export type JobSource =
  | { kind: 'upload'; key: string; bytes: number; filename?: string; mimetype?: string }
  | { kind: 'url'; url: string }
  | { kind: 's3'; bucket: string; key: string };

export interface JobOptions {
  task: 'transcribe' | 'translate';
  language?: string;
  prompt?: string;
  temperature?: number;
  wordTimestamps: boolean;
}

/** What a client asked for; immutable once queued. */
export interface JobSpec {
  id: string;
  /** the caller's identity id (jobs are visible to their owner when API keys are on) */
  owner: string;
  /** model id or source; undefined = each node's default route (language routes, model.name) */
  model?: string;
  source: JobSource;
  options: JobOptions;
  webhookUrl?: string;
  /** ISO time */
  createdAt: string;
}

export interface JobError {
  code: string;
  message: string;
}

export interface JobState {
  spec: JobSpec;
  status: JobStatus;
  /** fraction of the audio done, 0..1 */
  progress: number;
  /** the node running or that ran it (the last one, after a retry) */
  node?: string;
  startedAt?: string;
  finishedAt?: string;
  /** runs started (more than 1 after a node was lost mid-job) */
  attempts: number;
  error?: JobError;
  result?: Transcript;
}

export interface RunControl {
  signal: AbortSignal;
  /** fraction of the audio done */
  progress(fraction: number): void;
}

/** Runs one job on this node: fetch its audio, transcribe it. Throws on failure (an AbortError when cancelled). */
export type JobRunner = (spec: JobSpec, ctl: RunControl) => Promise<Transcript>;

export interface WorkOptions {
  /** queue names this node serves (see queueOf) */
  queues: string[];
  concurrency: number;
  run: JobRunner;
  /** after a job reaches a final state, once (audio clean-up) */
  onFinished?: (state: JobState) => Promise<void> | void;
  /** delivers the completion webhook once; throws to be retried */
  deliverWebhook: (state: JobState) => Promise<void>;
  webhookAttempts: number;
}

export interface JobBackend {
  readonly kind: 'memory' | 'redis';
  /** undefined when jobs can be queued and read; else the reason they cannot (e.g. Redis unreachable) */
  unavailable(): string | undefined;
  add(queue: string, spec: JobSpec): Promise<void>;
  get(id: string): Promise<JobState | undefined>;
  /** newest first; owner undefined = everyone's */
  list(owner: string | undefined, limit: number): Promise<JobState[]>;
  /** queued: removed from the queue; running: its decode is aborted wherever it runs. Returns the state after the request. */
  cancel(id: string): Promise<JobState | undefined>;
  /** forgets a job that has ended (its record and result); false when it is unknown or not ended */
  remove(id: string): Promise<boolean>;
  /** starts taking jobs from these queues */
  work(opts: WorkOptions): Promise<void>;
  close(): Promise<void>;
}

/** The queue for a model: one per model, so only nodes serving that model take its jobs. */
export function queueOf(model: string | undefined): string {
  if (!model) return 'default';
  // BullMQ queue names may not hold ':'; keep them readable and distinct
  const clean = model.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
  return clean === model ? `model.${clean}` : `model.${clean}.${shortHash(model)}`;
}

function shortHash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0).toString(36);
}

export const CANCELLED_REASON = 'cancelled by request';
