// Durable transcription jobs, OpenAI-style errors (/v1/): POST /v1/jobs (multipart upload, raw audio
// body, or JSON with a URL / s3:// source) → 202; GET /v1/jobs/:id (status, progress, node, result in
// any response format); GET /v1/jobs/:id/result (the result alone, as a file); POST /v1/jobs/:id/cancel
// (the record stays, status cancelled); DELETE /v1/jobs/:id (cancel if needed, then forget it); GET /v1/jobs. The work is the jobs service's (src/app/jobs.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { jobWire, type JobsService, type SubmitRequest } from '../../app/jobs.js';
import { render, RESPONSE_FORMATS, type ResponseFormat } from '../../formats/index.js';
import type { JobState } from '../../jobs/types.js';
import { formatBytes } from '../../util/bytes.js';
import type { AppContext } from '../context.js';
import { ApiError, toApiError } from '../errors.js';
import { parseLanguage } from '../http.js';

/** JSON body of POST /v1/jobs (a source the server fetches itself) */
export const jobJsonBody = z
  .object({
    url: z.string().min(1).max(4096).describe('http(s):// URL or s3://bucket/key of the audio'),
    model: z.string().min(1).max(500).optional(),
    language: z.string().max(32).optional(),
    prompt: z.string().max(4000).optional(),
    temperature: z.number().min(0).max(1).optional(),
    task: z.enum(['transcribe', 'translate']).optional(),
    word_timestamps: z.boolean().optional(),
    webhook_url: z.string().min(1).max(4096).optional(),
  })
  .strict();

export const jobListQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).optional() }).strict();
export const jobQuery = z.object({ response_format: z.enum(RESPONSE_FORMATS).optional() }).strict();

const DEFAULT_ALIASES = new Set(['whisper-1', 'default', 'gpt-4o-transcribe', 'gpt-4o-mini-transcribe']);

/** Job service errors (src/jobs/errors.ts codes) as HTTP statuses. */
const STATUS: Record<string, number> = {
  missing_source: 400,
  invalid_url: 400,
  forbidden_url: 400,
  storage_unavailable: 503,
  jobs_unavailable: 503,
  queue_full: 503,
};

function invalid(error: z.ZodError): ApiError {
  const issue = error.issues[0]!;
  const param = issue.path.join('.') || undefined;
  return new ApiError(400, 'invalid_value', `${param ?? 'request'}: ${issue.message}`, param);
}

async function readBody(stream: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      stream.resume();
      throw new ApiError(413, 'audio_too_large', `audio exceeds the ${formatBytes(maxBytes)} upload limit`, 'file');
    }
    chunks.push(chunk as Buffer);
  }
  if (size === 0) throw new ApiError(400, 'empty_audio', 'the audio upload is empty', 'file');
  return Buffer.concat(chunks);
}

type Fields = Record<string, string | string[]>;
/** A single-valued field; sent twice is a client error rather than a silent pick. */
const one = (fields: Fields, name: string) => {
  const v = fields[name];
  if (Array.isArray(v)) throw new ApiError(400, 'invalid_value', `${name} is given ${v.length} times; send it once`, name);
  return v;
};

function parseFormFields(fields: Fields): Omit<SubmitRequest, 'owner' | 'upload'> {
  const flag = (name: string) => {
    const raw = one(fields, name);
    if (raw === undefined || raw === '') return undefined;
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    throw new ApiError(400, 'invalid_value', `${name} must be "true" or "false"`, name);
  };
  const rawTemp = one(fields, 'temperature');
  const temperature = rawTemp === undefined || rawTemp === '' ? undefined : Number(rawTemp);
  if (temperature !== undefined && !(temperature >= 0 && temperature <= 1)) {
    throw new ApiError(400, 'invalid_value', 'temperature must be a number between 0 and 1', 'temperature');
  }
  const task = one(fields, 'task') ?? 'transcribe';
  if (task !== 'transcribe' && task !== 'translate') throw new ApiError(400, 'invalid_value', 'task must be transcribe or translate', 'task');
  const granularities = fields.timestamp_granularities === undefined ? [] : ([] as string[]).concat(fields.timestamp_granularities);
  for (const g of granularities) {
    if (g !== 'word' && g !== 'segment') throw new ApiError(400, 'invalid_value', `timestamp_granularities must be "segment" and/or "word", not "${g}"`);
  }
  return {
    model: one(fields, 'model'),
    url: one(fields, 'url'),
    webhookUrl: one(fields, 'webhook_url') || undefined,
    options: {
      task,
      language: one(fields, 'language'),
      prompt: one(fields, 'prompt'),
      temperature,
      wordTimestamps: flag('word_timestamps') ?? granularities.includes('word'),
    },
  };
}

function addField(fields: Fields, name: string, value: string): void {
  const key = name.endsWith('[]') ? name.slice(0, -2) : name;
  const prev = fields[key];
  fields[key] = prev === undefined ? (name.endsWith('[]') ? [value] : value) : ([] as string[]).concat(prev, value);
}

async function readSubmission(request: FastifyRequest, maxBytes: number): Promise<Omit<SubmitRequest, 'owner'>> {
  const fields: Fields = {};
  if (request.isMultipart()) {
    let upload: SubmitRequest['upload'];
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        if ((part.fieldname !== 'file' && part.fieldname !== 'audio') || upload) {
          part.file.resume();
          throw new ApiError(400, 'invalid_value', `unexpected file field "${part.fieldname}": send the audio in field "file"`, 'file');
        }
        const body = await readBody(part.file, maxBytes);
        if (part.file.truncated) throw new ApiError(413, 'audio_too_large', `audio exceeds the ${formatBytes(maxBytes)} upload limit`, 'file');
        upload = { body, filename: part.filename, mimetype: part.mimetype };
      } else addField(fields, part.fieldname, String(part.value));
    }
    return { ...parseFormFields(fields), upload };
  }
  const type = String(request.headers['content-type'] ?? '');
  if (/^application\/json\b/i.test(type)) {
    const parsed = jobJsonBody.safeParse(request.body);
    if (!parsed.success) throw invalid(parsed.error);
    const b = parsed.data;
    return {
      model: b.model,
      url: b.url,
      webhookUrl: b.webhook_url,
      options: { task: b.task ?? 'transcribe', language: b.language, prompt: b.prompt, temperature: b.temperature, wordTimestamps: b.word_timestamps ?? false },
    };
  }
  const body = request.body as Readable | undefined;
  if (body && typeof body.pipe === 'function') {
    // a bare audio body; options in the query string
    for (const [k, v] of Object.entries((request.query ?? {}) as Record<string, unknown>)) if (typeof v === 'string') addField(fields, k, v);
    return { ...parseFormFields(fields), upload: { body: await readBody(body, maxBytes), mimetype: type || undefined } };
  }
  throw new ApiError(415, 'unsupported_media', 'send multipart/form-data with the audio in field "file", audio/* bytes, or JSON {"url": ...}');
}

function renderResult(state: JobState, format: ResponseFormat) {
  if (!state.result) return undefined;
  return render(state.result, format, { words: state.spec.options.wordTimestamps, segments: true });
}

function wire(state: JobState, format: ResponseFormat): Record<string, unknown> {
  const out = renderResult(state, format);
  return { ...jobWire(state), result: out ? out.body : null, response_format: format };
}

export async function jobRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const service = (): JobsService => {
    if (!ctx.jobs) throw new ApiError(503, 'jobs_disabled', 'jobs are disabled on this server (jobs.enabled=false)');
    return ctx.jobs;
  };
  /** with API keys, each key sees its own jobs; without keys there is no owner to tell apart */
  const ownerOf = (request: FastifyRequest) => (ctx.keys?.enabled ? request.identity?.id : undefined);
  /** the service's own errors, and a queue that went away mid-request, in the API's terms */
  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ApiError) throw err;
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && code in STATUS) throw new ApiError(STATUS[code]!, code, (err as Error).message);
      const why = ctx.jobs?.unavailable();
      if (why) throw new ApiError(503, 'jobs_unavailable', why);
      const api = toApiError(err);
      if (api.status === 500) ctx.log.error({ err }, 'job request failed');
      throw api;
    }
  };
  const found = async (request: FastifyRequest) => {
    const { id } = request.params as { id: string };
    const state = await guard(() => service().get(id, ownerOf(request)));
    if (!state) throw new ApiError(404, 'job_not_found', `no job "${id}"`, 'id');
    return state;
  };
  const format = (request: FastifyRequest): ResponseFormat => {
    const parsed = jobQuery.safeParse(request.query ?? {});
    if (!parsed.success) throw invalid(parsed.error);
    return parsed.data.response_format ?? 'json';
  };

  app.post('/v1/jobs', async (request, reply) => {
    const jobs = service();
    const why = jobs.unavailable();
    if (why) {
      // nothing of the upload is kept: refuse before reading it
      throw new ApiError(503, 'jobs_unavailable', why);
    }
    const submission = await readSubmission(request, ctx.config.limits.maxUploadBytes);
    let language: string | undefined;
    try {
      language = parseLanguage(submission.options.language);
    } catch (err) {
      const e = toApiError(err);
      throw new ApiError(400, e.code, e.message, 'language');
    }
    const requested = submission.model && !DEFAULT_ALIASES.has(submission.model) ? submission.model : undefined;
    if (requested && !ctx.store.has(requested) && !ctx.engines.list().some((m) => m.id === requested) && !ctx.engines.canResolve(requested)) {
      throw new ApiError(404, 'model_not_found', `The model '${requested}' does not exist or you do not have access to it.`, 'model');
    }
    const owner = request.identity?.id ?? 'anonymous';
    const state = await guard(() => jobs.submit({ ...submission, model: requested, owner, options: { ...submission.options, language } }));
    return reply.status(202).header('location', `/v1/jobs/${state.spec.id}`).send(wire(state, 'json'));
  });

  app.get('/v1/jobs', async (request) => {
    const parsed = jobListQuery.safeParse(request.query ?? {});
    if (!parsed.success) throw invalid(parsed.error);
    const limit = parsed.data.limit ?? 20;
    const states = await guard(() => service().list(ownerOf(request), limit));
    return { object: 'list', data: states.map((s) => jobWire(s)) };
  });

  app.get('/v1/jobs/:id', async (request) => {
    const fmt = format(request);
    return wire(await found(request), fmt);
  });

  app.get('/v1/jobs/:id/result', async (request, reply) => {
    const fmt = format(request);
    const state = await found(request);
    const out = renderResult(state, fmt);
    if (!out) throw new ApiError(409, 'job_not_completed', `job ${state.spec.id} is ${state.status}; its result exists once it is completed`, 'id');
    return reply.type(out.contentType).send(out.body);
  });

  app.post('/v1/jobs/:id/cancel', async (request) => {
    const body = request.body;
    if (body !== undefined && body !== null && !(typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0)) {
      throw new ApiError(400, 'invalid_value', 'cancel takes no parameters: send no body or {}');
    }
    const state = await found(request);
    if (state.status !== 'queued' && state.status !== 'running') {
      throw new ApiError(409, 'job_finished', `job ${state.spec.id} is already ${state.status}`, 'id');
    }
    const after = await guard(() => service().cancel(state.spec.id, ownerOf(request)));
    return wire(after ?? state, 'json');
  });

  app.delete('/v1/jobs/:id', async (request) => {
    const state = await found(request);
    const removed = await guard(() => service().remove(state.spec.id, ownerOf(request)));
    if (!removed) throw new ApiError(409, 'job_busy', `job ${state.spec.id} could not be removed yet; retry`, 'id');
    return { id: state.spec.id, object: 'transcription.job.deleted', deleted: true };
  });
}
