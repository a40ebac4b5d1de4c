// OpenAI's audio API: /v1/audio/transcriptions, /v1/audio/translations, /v1/models.
// Errors come out in OpenAI's shape through the app's error handler (any /v1/ URL).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Segment } from '../../engines/types.js';
import { isResponseFormat, render, RESPONSE_FORMATS, type ResponseFormat } from '../../formats/index.js';
import { wireKeywords } from '../../app/wire.js';
import type { AppContext } from '../context.js';
import { ApiError, toApiError } from '../errors.js';
import { abortOnDisconnect, parseEngine, parseLanguage } from '../http.js';
import { field, readUpload, type Fields } from '../upload.js';

/** Names clients send that mean "the server's default model". */
const DEFAULT_ALIASES = new Set(['whisper-1', 'default', 'gpt-4o-transcribe', 'gpt-4o-mini-transcribe']);

const GRANULARITIES = ['segment', 'word'] as const;

/** OpenAI answers 400 for every bad parameter; the seed API's 422 becomes 400 here. */
function asOpenAi(err: unknown): never {
  if (err instanceof ApiError && err.status === 422) throw new ApiError(400, err.code, err.message, err.param);
  throw err;
}

function parseNumber(fields: Fields, name: string, min: number, max: number): number | undefined {
  const raw = field(fields, name);
  if (raw === undefined || raw === '') return undefined;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) throw new ApiError(400, 'invalid_value', `${name} must be a number between ${min} and ${max}`, name);
  return v;
}

function parseBool(fields: Fields, name: string): boolean {
  const raw = field(fields, name);
  if (raw === undefined || raw === '') return false;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ApiError(400, 'invalid_value', `${name} must be true or false`, name);
}

async function modelList(ctx: AppContext): Promise<Array<{ id: string; object: 'model'; created: number; owned_by: string }>> {
  const installed = await ctx.store.list();
  const ids = new Map<string, number>();
  for (const m of installed) ids.set(m.id, Math.floor(Date.parse(m.created) / 1000));
  for (const m of ctx.engines.list()) if (!m.retiring && !ids.has(m.id)) ids.set(m.id, Math.floor(Date.parse(m.loadedAt ?? new Date().toISOString()) / 1000));
  return [...ids].map(([id, created]) => ({ id, object: 'model' as const, created: created || 0, owned_by: 'earshot' }));
}

/** Resolves the `model` field: an installed or loaded id, a default alias, or (when allowed) a source to load. */
async function resolveModel(ctx: AppContext, requested: string | undefined): Promise<{ model?: string; allowLoad: boolean }> {
  if (!requested || DEFAULT_ALIASES.has(requested)) return { model: undefined, allowLoad: false };
  if (ctx.store.has(requested) || ctx.engines.list().some((m) => m.id === requested && !m.retiring)) return { model: requested, allowLoad: true };
  if (ctx.config.server.allowModelLoading) {
    ctx.engines.checkCallerSource(requested);
    if (ctx.engines.canResolve(requested)) return { model: requested, allowLoad: true };
  }
  throw new ApiError(404, 'model_not_found', `The model '${requested}' does not exist or you do not have access to it.`, 'model');
}

function writeSse(reply: FastifyReply, data: unknown): void {
  reply.raw.write(`data: ${JSON.stringify(data)}\n\n`);
}

export async function openAiRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get('/v1/models', async () => ({ object: 'list', data: await modelList(ctx) }));

  app.get('/v1/models/:id', async (request) => {
    const { id } = request.params as { id: string };
    const found = (await modelList(ctx)).find((m) => m.id === id);
    if (!found) throw new ApiError(404, 'model_not_found', `The model '${id}' does not exist`, 'model');
    return found;
  });

  const handle = (task: 'transcribe' | 'translate') => async (request: FastifyRequest, reply: FastifyReply) => {
    const { audio, fields } = await readUpload(request, {
      fileFields: ['file'],
      limits: { maxBytes: ctx.config.limits.maxUploadBytes, maxSeconds: ctx.config.limits.maxAudioSeconds },
      idleMs: ctx.config.limits.uploadIdleSeconds * 1000,
    }).catch(asOpenAi);

    const format = field(fields, 'response_format') ?? 'json';
    if (!isResponseFormat(format)) {
      throw new ApiError(400, 'invalid_value', `response_format must be one of ${RESPONSE_FORMATS.join(', ')}`, 'response_format');
    }
    const granularities = fields.timestamp_granularities === undefined ? [] : ([] as string[]).concat(fields.timestamp_granularities);
    for (const g of granularities) {
      if (!(GRANULARITIES as readonly string[]).includes(g)) {
        throw new ApiError(400, 'invalid_value', `timestamp_granularities must be "segment" and/or "word", not "${g}"`, 'timestamp_granularities');
      }
    }
    if (granularities.length > 0 && format !== 'verbose_json') {
      throw new ApiError(400, 'invalid_value', 'timestamp_granularities requires response_format=verbose_json', 'timestamp_granularities');
    }
    let language: string | undefined;
    try {
      language = task === 'translate' ? undefined : parseLanguage(field(fields, 'language'));
    } catch (err) {
      asOpenAi(err);
    }
    const temperature = parseNumber(fields, 'temperature', 0, 1);
    const stream = task === 'transcribe' && parseBool(fields, 'stream');
    const enrich = parseBool(fields, 'enrich');
    if (stream && format !== 'json' && format !== 'text') {
      throw new ApiError(400, 'invalid_value', 'stream=true supports response_format json or text', 'stream');
    }
    const { model, allowLoad } = await resolveModel(ctx, field(fields, 'model'));
    const engine = parseEngine(field(fields, 'engine'), 400);
    const wantWords = granularities.includes('word');
    const wantSegments = granularities.length === 0 || granularities.includes('segment');

    const abort = abortOnDisconnect(request, reply);
    const streamed: string[] = [];
    if (stream) {
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    }
    try {
      const { transcript, keywords } = await ctx.transcription.transcribe({
        source: 'openai',
        audio: audio.samples,
        model,
        allowLoad,
        engine,
        keywords: enrich,
        options: {
          language,
          task,
          temperature,
          temperatureIncrement: temperature !== undefined ? 0.2 : undefined,
          initialPrompt: field(fields, 'prompt'),
          wordTimestamps: wantWords || format === 'srt' || format === 'vtt',
          beamSize: ctx.config.model.beamSize,
          signal: abort.signal,
          onSegment: stream
            ? (segment: Segment) => {
                const delta = (streamed.length > 0 ? ' ' : '') + segment.text;
                streamed.push(segment.text);
                writeSse(reply, { type: 'transcript.text.delta', delta, logprobs: null });
              }
            : undefined,
        },
      });
      if (stream) {
        writeSse(reply, { type: 'transcript.text.done', text: transcript.text, logprobs: null });
        reply.raw.end();
        return reply;
      }
      const out = render(transcript, format as ResponseFormat, {
        words: wantWords,
        segments: wantSegments,
        extra: keywords ? { keywords: wireKeywords(keywords) } : undefined,
      });
      return reply.type(out.contentType).send(out.body);
    } catch (err) {
      if (!stream) throw err;
      // Headers are out: report the failure as a final SSE event in OpenAI's error shape.
      const api = toApiError(err);
      writeSse(reply, {
        type: 'error',
        error: { message: api.message, type: api.status >= 500 ? 'server_error' : 'invalid_request_error', param: api.param ?? null, code: api.code },
      });
      reply.raw.end();
      return reply;
    } finally {
      abort.done();
    }
  };

  app.post('/v1/audio/transcriptions', handle('transcribe'));
  app.post('/v1/audio/translations', handle('translate'));
}
