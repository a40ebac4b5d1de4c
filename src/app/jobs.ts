// Durable transcription jobs: the service every interface uses (today /v1/jobs). A job is queued in a
// backend (src/jobs: BullMQ on Redis for a cluster, in-process for one node); uploaded audio waits in
// the job audio store (S3 in a cluster, the home folder on one node); any node serving the job's model
// runs it through the same batch transcription service as /v1/audio/transcriptions (filter, history
// events), with progress, cancellation and an optional signed webhook at the end.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { decodeAudio } from '../audio/decode.js';
import type { Config } from '../config/schema.js';
import type { Transcript } from '../engines/types.js';
import { verboseJson } from '../formats/index.js';
import { JobSourceError } from '../jobs/errors.js';
import { checkUrl, openUrl } from '../jobs/fetch.js';
import type { AudioStore } from '../jobs/storage.js';
import { queueOf, type JobBackend, type JobOptions, type JobSource, type JobSpec, type JobState, type RunControl } from '../jobs/types.js';
import { deliverWebhook } from '../jobs/webhook.js';
import { mapS3Error, s3Client } from '../models/sources/s3.js';
import type { AppLogger } from './services.js';
import type { TranscriptionService } from './transcription.js';

export interface SubmitRequest {
  /** the caller's identity id */
  owner: string;
  /** a model id or source; undefined = the node's default route */
  model?: string;
  upload?: { body: Buffer; filename?: string; mimetype?: string };
  /** http(s):// or s3:// */
  url?: string;
  options: JobOptions;
  webhookUrl?: string;
}

export interface JobsDeps {
  config: Config;
  backend: JobBackend;
  /** where uploads wait; undefined = uploads refused (a cluster without a shared store) */
  audio?: AudioStore;
  transcription: TranscriptionService;
  /** this node's name, recorded on the jobs it runs */
  node: string;
  log: AppLogger;
}

export class JobsService {
  constructor(private readonly deps: JobsDeps) {}

  get backendKind(): 'memory' | 'redis' {
    return this.deps.backend.kind;
  }

  /** undefined when jobs can be submitted and read; else why not */
  unavailable(): string | undefined {
    return this.deps.backend.unavailable();
  }

  /** Queue names this node takes jobs from: the default route's, and one per model it serves. */
  servedQueues(): string[] {
    const { config } = this.deps;
    const models =
      config.jobs.models.length > 0
        ? config.jobs.models
        : [config.model.name, ...Object.values(config.languages).flatMap((r) => [r.batch ?? r.model].filter((m): m is string => Boolean(m)))];
    return [...new Set([queueOf(undefined), ...models.map((m) => queueOf(m))])];
  }

  async start(): Promise<void> {
    const { config } = this.deps;
    await this.deps.backend.work({
      queues: this.servedQueues(),
      concurrency: config.jobs.concurrency,
      run: (spec, ctl) => this.run(spec, ctl),
      onFinished: (state) => this.cleanUp(state),
      deliverWebhook: (state) => this.deliver(state),
      webhookAttempts: config.jobs.webhook.attempts,
    });
  }

  async submit(req: SubmitRequest): Promise<JobState> {
    this.assertAvailable();
    const { config } = this.deps;
    const id = randomUUID();
    let source: JobSource;
    if (req.upload) {
      if (!this.deps.audio) {
        throw new JobSourceError(
          'storage_unavailable',
          'uploads to jobs need a store every node reaches: set jobs.storage.bucket (EARSHOT_JOBS_S3_BUCKET); or send a URL / s3:// source',
        );
      }
      const key = `${id}.audio`;
      await this.deps.audio.put(key, req.upload.body, req.upload.mimetype);
      source = { kind: 'upload', key, bytes: req.upload.body.length, filename: req.upload.filename, mimetype: req.upload.mimetype };
    } else if (req.url) {
      source = this.parseSource(req.url);
    } else {
      throw new JobSourceError('missing_source', 'send the audio as multipart field "file", or a JSON body with "url" (http(s):// or s3://)');
    }
    if (req.webhookUrl) checkUrl(req.webhookUrl, config.jobs.allowPrivateNetworks, 'webhook_url');
    const spec: JobSpec = {
      id,
      owner: req.owner,
      ...(req.model ? { model: req.model } : {}),
      source,
      options: req.options,
      ...(req.webhookUrl ? { webhookUrl: req.webhookUrl } : {}),
      createdAt: new Date().toISOString(),
    };
    try {
      await this.deps.backend.add(queueOf(req.model), spec);
    } catch (err) {
      if (source.kind === 'upload') await this.deps.audio?.remove(source.key).catch(() => {});
      throw err;
    }
    return (await this.deps.backend.get(id)) ?? { spec, status: 'queued', progress: 0, attempts: 0 };
  }

  private parseSource(raw: string): JobSource {
    const { config } = this.deps;
    const s3 = /^s3:\/\/([^/]+)\/(.+)$/i.exec(raw.trim());
    if (s3) {
      const [, bucket, key] = s3 as unknown as [string, string, string];
      const allowed = config.jobs.s3SourceBuckets;
      if (!allowed.includes('*') && !allowed.includes(bucket)) {
        throw new JobSourceError('forbidden_url', `s3://${bucket} is not among the buckets jobs may read (jobs.s3SourceBuckets)`);
      }
      return { kind: 's3', bucket, key };
    }
    if (/^s3:/i.test(raw)) throw new JobSourceError('invalid_url', 'an s3:// source is s3://bucket/key');
    return { kind: 'url', url: checkUrl(raw, config.jobs.allowPrivateNetworks, 'url').href };
  }

  private assertAvailable(): void {
    const why = this.unavailable();
    if (why) throw new JobSourceError('jobs_unavailable', why);
  }

  /** A job by id; another owner's job is not found (owner undefined = no keys: everyone's). */
  async get(id: string, owner?: string): Promise<JobState | undefined> {
    this.assertAvailable();
    const state = await this.deps.backend.get(id);
    return state && (owner === undefined || state.spec.owner === owner) ? state : undefined;
  }

  async list(owner: string | undefined, limit: number): Promise<JobState[]> {
    this.assertAvailable();
    return this.deps.backend.list(owner, limit);
  }

  async cancel(id: string, owner?: string): Promise<JobState | undefined> {
    const state = await this.get(id, owner);
    if (!state) return undefined;
    return this.deps.backend.cancel(id);
  }

  /** Cancels the job if it has not ended, then forgets it (record, result). */
  async remove(id: string, owner?: string): Promise<boolean> {
    const state = await this.get(id, owner);
    if (!state) return false;
    if (state.status === 'queued' || state.status === 'running') await this.deps.backend.cancel(id);
    return this.deps.backend.remove(id);
  }

  close(): Promise<void> {
    return this.deps.backend.close();
  }

  /** Runs a job on this node: its audio from wherever it waits, decoded and transcribed. */
  private async run(spec: JobSpec, ctl: RunControl): Promise<Transcript> {
    const { config, transcription } = this.deps;
    const input = await this.open(spec.source, ctl.signal);
    const audio = await decodeAudio(input, { maxBytes: config.limits.maxUploadBytes, maxSeconds: config.limits.maxAudioSeconds });
    const duration = audio.duration || 1;
    const { transcript } = await transcription.transcribe({
      source: 'jobs',
      audio: audio.samples,
      model: spec.model,
      allowLoad: true,
      options: {
        language: spec.options.language,
        task: spec.options.task,
        temperature: spec.options.temperature,
        temperatureIncrement: spec.options.temperature !== undefined ? 0.2 : undefined,
        initialPrompt: spec.options.prompt,
        wordTimestamps: spec.options.wordTimestamps,
        beamSize: config.model.beamSize,
        signal: ctl.signal,
        onProgress: (percent) => ctl.progress(percent / 100),
        onSegment: (segment) => ctl.progress(segment.end / duration),
      },
    });
    return transcript;
  }

  private async open(source: JobSource, signal: AbortSignal): Promise<{ stream: Readable; filename?: string; mimetype?: string }> {
    const { config } = this.deps;
    if (source.kind === 'upload') {
      if (!this.deps.audio) throw new JobSourceError('storage_unavailable', 'this node has no job audio store configured');
      return { stream: await this.deps.audio.open(source.key, signal), filename: source.filename, mimetype: source.mimetype };
    }
    if (source.kind === 'url') {
      const res = await openUrl(source.url, { allowPrivate: config.jobs.allowPrivateNetworks, signal, timeoutMs: 30_000 });
      return { stream: res.body, filename: res.filename, mimetype: res.contentType };
    }
    const loc = { bucket: source.bucket, key: source.key, region: config.jobs.storage.region, endpoint: config.jobs.storage.endpoint };
    try {
      const res = await s3Client(loc).send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal: signal });
      if (!res.Body) throw new JobSourceError('fetch_failed', `s3://${loc.bucket}/${loc.key}: empty response`);
      return { stream: res.Body as Readable, filename: loc.key.split('/').pop(), mimetype: res.ContentType };
    } catch (err) {
      if (err instanceof JobSourceError) throw err;
      throw new JobSourceError('fetch_failed', mapS3Error(err, loc, signal).message, { cause: err });
    }
  }

  private async cleanUp(state: JobState): Promise<void> {
    if (state.spec.source.kind === 'upload') await this.deps.audio?.remove(state.spec.source.key);
  }

  private async deliver(state: JobState): Promise<void> {
    const { config } = this.deps;
    if (!state.spec.webhookUrl) return;
    await deliverWebhook(
      state.spec.webhookUrl,
      state.spec.id,
      { type: `job.${state.status}`, data: jobWire(state, 'verbose_json') },
      {
        secret: config.jobs.webhook.secret,
        allowPrivate: config.jobs.allowPrivateNetworks,
        timeoutMs: config.jobs.webhook.timeoutSeconds * 1000,
      },
    );
  }
}

/** A job as clients see it (/v1/jobs and webhooks): snake_case, times in ISO, the result rendered by the caller. */
export function jobWire(state: JobState, format?: 'verbose_json'): Record<string, unknown> {
  const { spec } = state;
  return {
    id: spec.id,
    object: 'transcription.job',
    status: state.status,
    model: spec.model ?? null,
    progress: Math.round(state.progress * 1000) / 1000,
    created_at: spec.createdAt,
    started_at: state.startedAt ?? null,
    finished_at: state.finishedAt ?? null,
    node: state.node ?? null,
    attempts: state.attempts,
    source: spec.source.kind === 'upload' ? { type: 'upload', filename: spec.source.filename ?? null, bytes: spec.source.bytes } : sourceWire(spec.source),
    webhook_url: spec.webhookUrl ?? null,
    error: state.error ?? null,
    ...(format === 'verbose_json' && state.result ? { result: verboseJson(state.result, { segments: true, words: spec.options.wordTimestamps }) } : {}),
  };
}

function sourceWire(source: Exclude<JobSource, { kind: 'upload' }>): Record<string, unknown> {
  return source.kind === 'url' ? { type: 'url', url: source.url } : { type: 's3', url: `s3://${source.bucket}/${source.key}` };
}
