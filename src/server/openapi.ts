// OpenAPI 3.1 at /openapi.json and an interactive viewer at /docs (assets served from the package,
// no CDN). @fastify/swagger walks every registered route; the description of each endpoint (request
// and error shapes) comes from ROUTE_DOCS below, attached in swagger's transform. The docs are kept
// out of the routes' runtime `schema` on purpose: Fastify would compile them into validators and
// serializers and change what the handlers (which validate with zod and answer in two error shapes)
// send. Request shapes are generated from those same zod schemas.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { RESPONSE_FORMATS } from '../formats/index.js';
import { VERSION } from '../version.js';
import { enrichBody } from './routes/enrich.js';
import { listQuery, subtitlesBody } from './routes/history.js';
import { jobJsonBody, jobListQuery, jobQuery } from './routes/jobs.js';
import { loadBody } from './routes/models.js';

type Schema = Record<string, unknown>;

const fromZod = (schema: z.ZodType): Schema => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Schema;
  return rest;
};

// ------------------------------------------------------------------------------------ shared shapes

const seedError: Schema = {
  type: 'object',
  description: 'Error (seed and /api shape)',
  required: ['success', 'error'],
  properties: {
    success: { const: false },
    error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } },
  },
};

const openAiError: Schema = {
  type: 'object',
  description: 'Error (OpenAI shape)',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['message', 'type', 'code'],
      properties: { message: { type: 'string' }, type: { type: 'string' }, param: { type: ['string', 'null'] }, code: { type: ['string', 'null'] } },
    },
  },
};

const rateHeaders = {
  'retry-after': { description: 'seconds until the key may call again (429 only)', schema: { type: 'integer' } },
};

/** The error responses every endpoint can give, in its family's shape. */
function errors(shape: Schema, extra: Record<string, string> = {}): Record<string, Schema> {
  const json = (description: string, headers?: Schema) => ({
    description,
    ...(headers ? { headers } : {}),
    content: { 'application/json': { schema: shape } },
  });
  const out: Record<string, Schema> = {
    '401': json('missing or invalid API key (when keys are configured)'),
    '429': json('rate limit or live-session limit of the key (or client IP) exceeded', rateHeaders),
    '4XX': json('bad request: the error says which parameter and why'),
    '5XX': json('the model or its worker is unavailable (503) or an internal error'),
  };
  for (const [status, description] of Object.entries(extra)) out[status] = json(description);
  return out;
}

const json = (schema: Schema, description = 'OK'): Schema => ({ description, content: { 'application/json': { schema } } });

/** /health/ready's answer: each check (model, shutdown, database, redis) with its error when failing. */
const readinessBody = (status: 'ready' | 'not_ready'): Schema => ({
  type: 'object',
  required: ['status', 'node', 'checks'],
  properties: {
    status: { const: status },
    node: { type: 'string' },
    checks: {
      type: 'object',
      additionalProperties: { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' }, error: { type: 'string' } } },
    },
    reasons: { type: 'array', items: { type: 'string' } },
  },
});
const anyObject: Schema = { type: 'object', additionalProperties: true };

const segment: Schema = {
  type: 'object',
  required: ['start', 'end', 'text'],
  properties: { id: { type: 'integer' }, start: { type: 'number' }, end: { type: 'number' }, text: { type: 'string' } },
  additionalProperties: true,
};

const audioFile = { type: 'string', format: 'binary', description: 'audio or video in any format ffmpeg decodes (wav, mp3, flac, ogg, m4a, webm...)' };
const rawAudio = { 'audio/*': { schema: { type: 'string', format: 'binary' } }, 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } };
const textOut = (description: string) => ({ schema: { type: 'string', description } });

const seedTranscribeFields: Schema = {
  audio: { ...audioFile, description: 'the audio (seed 000 field name); "file" works too' },
  file: { ...audioFile, description: 'the audio (seeds 001/004 field name)' },
  language: { type: 'string', description: 'ISO 639-1 code, a language name, "KR" style codes, or "auto"' },
  lang: { type: 'string', description: 'seed 004 alias of language' },
  task: { type: 'string', enum: ['transcribe', 'translate'] },
  response_format: { type: 'string', enum: [...RESPONSE_FORMATS] },
  word_timestamps: { type: 'string', enum: ['true', 'false'] },
  enrich: { type: 'string', enum: ['true', 'false'], description: 'add LLM keywords' },
  model: { type: 'string', description: 'a loaded or installed model id' },
  engine: {
    type: 'string',
    enum: ['whisper', 'ct2'],
    description: 'run a Whisper model on whisper.cpp or CTranslate2 instead of the configured engine (model.engine)',
  },
  format: { type: 'string', enum: ['pcm_s16le', 'pcm_f32le'], description: 'headerless PCM input' },
  sample_rate: { type: 'string', description: 'sample rate of headerless PCM input (4000-192000)' },
};

const openAiFields: Schema = {
  file: audioFile,
  model: { type: 'string', description: '"whisper-1" (the default model) or a model id' },
  language: { type: 'string' },
  prompt: { type: 'string' },
  response_format: { type: 'string', enum: [...RESPONSE_FORMATS] },
  temperature: { type: 'number', minimum: 0, maximum: 1 },
  'timestamp_granularities[]': { type: 'array', items: { type: 'string', enum: ['word', 'segment'] } },
  stream: { type: 'boolean' },
  enrich: { type: 'boolean' },
  engine: { type: 'string', enum: ['whisper', 'ct2'], description: 'Earshot extension: run a Whisper model on whisper.cpp or CTranslate2' },
};

const transcriptionJson: Schema = {
  type: 'object',
  required: ['text'],
  properties: { text: { type: 'string' }, language: { type: 'string' }, duration: { type: 'number' }, segments: { type: 'array', items: segment } },
  additionalProperties: true,
};

const nullable = (schema: Schema): Schema => ({ anyOf: [schema, { type: 'null' }] });

const jobFields: Schema = {
  file: audioFile,
  model: { type: 'string', description: '"whisper-1" (the default route) or a model id' },
  language: { type: 'string' },
  prompt: { type: 'string' },
  temperature: { type: 'number', minimum: 0, maximum: 1 },
  task: { type: 'string', enum: ['transcribe', 'translate'] },
  'timestamp_granularities[]': { type: 'array', items: { type: 'string', enum: ['word', 'segment'] } },
  word_timestamps: { type: 'string', enum: ['true', 'false'] },
  webhook_url: { type: 'string', description: 'called once the job ends (POST, JSON, signed when jobs.webhook.secret is set)' },
};

const jobObject: Schema = {
  type: 'object',
  required: ['id', 'object', 'status', 'progress', 'created_at', 'attempts'],
  properties: {
    id: { type: 'string' },
    object: { const: 'transcription.job' },
    status: { type: 'string', enum: ['queued', 'running', 'completed', 'failed', 'cancelled'] },
    model: nullable({ type: 'string' }),
    progress: { type: 'number', minimum: 0, maximum: 1, description: 'fraction of the audio done' },
    created_at: { type: 'string', format: 'date-time' },
    started_at: nullable({ type: 'string', format: 'date-time' }),
    finished_at: nullable({ type: 'string', format: 'date-time' }),
    node: nullable({ type: 'string', description: 'the node running or that ran it' }),
    attempts: { type: 'integer', description: 'runs started (2+ after a node was lost mid-job)' },
    source: { type: 'object', additionalProperties: true },
    webhook_url: nullable({ type: 'string' }),
    error: nullable({ type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } }),
    response_format: { type: 'string', enum: [...RESPONSE_FORMATS] },
    result: {
      description: 'the transcript once completed, in response_format (an object for json and verbose_json, a string otherwise)',
      anyOf: [{ type: 'object', additionalProperties: true }, { type: 'string' }, { type: 'null' }],
    },
  },
  additionalProperties: true,
};

const idParam = (what: string) => ({ type: 'object', required: ['id'], properties: { id: { type: 'string', description: what } } });

// ------------------------------------------------------------------------------------ per endpoint

interface RouteDoc {
  summary: string;
  description?: string;
  tags: string[];
  security?: unknown[];
  querystring?: Schema;
  params?: Schema;
  body?: Schema;
  response: Record<string, Schema>;
  hide?: boolean;
}

const websocketDoc = (summary: string, description: string): RouteDoc => ({
  summary,
  description,
  tags: ['streaming'],
  response: {
    '101': { description: 'switching protocols to WebSocket' },
    ...errors(seedError),
  },
});

export const ROUTE_DOCS: Record<string, RouteDoc> = {
  'GET /': {
    summary: 'Server status (JSON) or the dashboard (browsers)',
    tags: ['seed'],
    security: [],
    response: {
      '200': {
        description: 'status, or the dashboard for Accept: text/html',
        content: { 'application/json': { schema: anyObject }, 'text/html': textOut('dashboard') },
      },
      '503': { description: 'dashboard not built', content: { 'text/html': textOut('explanation') } },
      ...errors(seedError),
    },
  },
  'GET /health': {
    summary: 'Health: model state, device, engine queue',
    tags: ['seed'],
    security: [],
    response: {
      '200': json({
        type: 'object',
        required: ['status', 'model_loaded'],
        properties: { status: { const: 'ok' }, model_loaded: { type: 'boolean' } },
        additionalProperties: true,
      }),
      '503': json(
        { type: 'object', required: ['status'], properties: { status: { enum: ['loading', 'error'] } }, additionalProperties: true },
        'model loading or failed',
      ),
      ...errors(seedError),
    },
  },
  'GET /health/live': {
    summary: 'Liveness: 200 while the process serves HTTP',
    tags: ['health'],
    security: [],
    response: {
      '200': json({ type: 'object', required: ['status', 'node'], properties: { status: { const: 'ok' }, node: { type: 'string' } } }),
      ...errors(seedError),
    },
  },
  'GET /health/ready': {
    summary: 'Readiness: model loaded and the configured PostgreSQL and Redis reachable',
    tags: ['health'],
    security: [],
    response: {
      '200': json(readinessBody('ready')),
      '503': json(readinessBody('not_ready'), 'not ready: `reasons` says why (model loading, a dependency unreachable, shutting down)'),
      ...errors(seedError),
    },
  },
  'POST /transcribe': {
    summary: 'Transcribe an upload (seeds 000, 001, 004)',
    tags: ['seed'],
    body: {
      content: {
        'multipart/form-data': { schema: { type: 'object', properties: seedTranscribeFields } },
        ...rawAudio,
      },
    },
    response: {
      '200': {
        description: 'the transcript (json: {success, text, language, segments}; text, srt, vtt, verbose_json as asked)',
        content: {
          'application/json': { schema: transcriptionJson },
          'text/plain': textOut('text'),
          'text/vtt': textOut('WebVTT'),
          'application/x-subrip': textOut('SRT'),
        },
      },
      ...errors(seedError, { '413': 'upload or audio duration over the limits', '415': 'not multipart and not audio/*' }),
    },
  },
  'GET /v1/models': {
    summary: 'List models (OpenAI)',
    tags: ['openai'],
    response: {
      '200': json({ type: 'object', required: ['object', 'data'], properties: { object: { const: 'list' }, data: { type: 'array', items: anyObject } } }),
      ...errors(openAiError),
    },
  },
  'GET /v1/models/:id': {
    summary: 'One model (OpenAI)',
    tags: ['openai'],
    params: idParam('model id'),
    response: {
      '200': json({
        type: 'object',
        required: ['id', 'object'],
        properties: { id: { type: 'string' }, object: { const: 'model' } },
        additionalProperties: true,
      }),
      ...errors(openAiError),
    },
  },
  'POST /v1/audio/transcriptions': {
    summary: 'Transcribe (OpenAI audio API)',
    tags: ['openai'],
    body: { content: { 'multipart/form-data': { schema: { type: 'object', required: ['file'], properties: openAiFields } } } },
    response: {
      '200': {
        description: 'json, verbose_json, text, srt, vtt, or server-sent events with stream=true',
        content: {
          'application/json': { schema: transcriptionJson },
          'text/plain': textOut('text'),
          'text/vtt': textOut('WebVTT'),
          'application/x-subrip': textOut('SRT'),
          'text/event-stream': textOut('transcript.text.delta / done events'),
        },
      },
      ...errors(openAiError),
    },
  },
  'POST /v1/audio/translations': {
    summary: 'Translate to English (OpenAI audio API)',
    tags: ['openai'],
    body: { content: { 'multipart/form-data': { schema: { type: 'object', required: ['file'], properties: openAiFields } } } },
    response: {
      '200': {
        description: 'the English transcript',
        content: {
          'application/json': { schema: transcriptionJson },
          'text/plain': textOut('text'),
          'text/vtt': textOut('WebVTT'),
          'application/x-subrip': textOut('SRT'),
        },
      },
      ...errors(openAiError),
    },
  },
  'POST /v1/jobs': {
    summary: 'Queue a transcription job (long audio; any node serving the model runs it)',
    description:
      'Multipart upload (field "file"), a bare audio/* body (options in the query), or JSON {"url": "https://… | s3://bucket/key"}. ' +
      'Answers 202 at once; poll GET /v1/jobs/{id} or pass webhook_url for a signed callback (Standard Webhooks headers). ' +
      '503 with the reason when the job queue is unreachable.',
    tags: ['jobs'],
    body: {
      content: {
        'multipart/form-data': { schema: { type: 'object', required: ['file'], properties: jobFields } },
        'application/json': { schema: fromZod(jobJsonBody) },
        ...rawAudio,
      },
    },
    response: { '202': json(jobObject, 'queued'), ...errors(openAiError, { '413': 'upload over the limit', '415': 'not multipart, JSON or audio/*' }) },
  },
  'GET /v1/jobs': {
    summary: "Recent jobs (newest first; with API keys, the key's own)",
    tags: ['jobs'],
    querystring: fromZod(jobListQuery),
    response: {
      '200': json({ type: 'object', required: ['object', 'data'], properties: { object: { const: 'list' }, data: { type: 'array', items: jobObject } } }),
      ...errors(openAiError),
    },
  },
  'GET /v1/jobs/:id': {
    summary: 'A job: status, progress, node, timestamps, and its result in the response format asked',
    tags: ['jobs'],
    params: idParam('job id'),
    querystring: fromZod(jobQuery),
    response: { '200': json(jobObject), ...errors(openAiError, { '404': 'no such job' }) },
  },
  'GET /v1/jobs/:id/result': {
    summary: 'The result of a completed job alone, in the response format asked (a file for text, srt, vtt)',
    tags: ['jobs'],
    params: idParam('job id'),
    querystring: fromZod(jobQuery),
    response: {
      '200': {
        description: 'the transcript',
        content: {
          'application/json': { schema: transcriptionJson },
          'text/plain': textOut('text'),
          'text/vtt': textOut('WebVTT'),
          'application/x-subrip': textOut('SRT'),
        },
      },
      ...errors(openAiError, { '404': 'no such job', '409': 'the job is not completed' }),
    },
  },
  'POST /v1/jobs/:id/cancel': {
    summary: 'Cancel a job (queued: removed from its queue; running: its decode is stopped on whichever node runs it); the record stays',
    tags: ['jobs'],
    params: idParam('job id'),
    body: { content: { 'application/json': { schema: { type: 'object', properties: {}, additionalProperties: false, description: 'no parameters' } } } },
    response: { '200': json(jobObject, 'the job after the cancellation'), ...errors(openAiError, { '404': 'no such job', '409': 'already ended' }) },
  },
  'DELETE /v1/jobs/:id': {
    summary: 'Delete a job: cancelled first if it has not ended, then its record and result are gone',
    tags: ['jobs'],
    params: idParam('job id'),
    response: {
      '200': json({
        type: 'object',
        required: ['id', 'object', 'deleted'],
        properties: { id: { type: 'string' }, object: { const: 'transcription.job.deleted' }, deleted: { const: true } },
      }),
      ...errors(openAiError, { '404': 'no such job' }),
    },
  },
  'GET /ws': websocketDoc(
    'Live transcription over WebSocket',
    'Protocol in docs/streaming.md and docs/ws-protocol.schema.json. Refused sessions get an error message and close code 4429 (rate_limited, too_many_sessions); at shutdown, a final for the audio received and close code 1001.',
  ),
  'GET /v1/realtime': {
    summary: 'OpenAI Realtime transcription (WebSocket)',
    description:
      'OpenAI Realtime API in transcription mode (?intent=transcription): session.update / transcription_session.update, input_audio_buffer.append, .commit and .clear; server VAD or manual turns. Browsers send the key as the openai-insecure-api-key.<key> subprotocol. Refused sessions get an error event and close code 4429 (rate_limited, too_many_sessions); at shutdown, the transcription of the audio received and close code 1001.',
    tags: ['openai'],
    response: { '101': { description: 'switching protocols to WebSocket' }, ...errors(openAiError) },
  },
  'GET /api/monitor': websocketDoc('Monitor feed (WebSocket): live sessions, utterances, status', 'Read-only; the dashboard uses it.'),
  'GET /api/stats': {
    summary: 'Server status: models, queues, sessions, filter, machine',
    tags: ['api'],
    response: { '200': json(anyObject), ...errors(seedError) },
  },
  'GET /api/config': { summary: 'Effective configuration (secrets masked)', tags: ['api'], response: { '200': json(anyObject), ...errors(seedError) } },
  'GET /api/models': { summary: 'Loaded and installed models', tags: ['models'], response: { '200': json(anyObject), ...errors(seedError) } },
  'POST /api/models/load': {
    summary: 'Load a model (hot swap of the default unless default=false)',
    tags: ['models'],
    body: { content: { 'application/json': { schema: fromZod(loadBody) } } },
    response: { '200': json(anyObject, 'loaded (wait=true)'), '202': json(anyObject, 'loading in the background'), ...errors(seedError) },
  },
  'POST /api/models/unload': {
    summary: 'Unload a model that is not the default',
    tags: ['models'],
    body: { content: { 'application/json': { schema: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } } } },
    response: { '200': json({ type: 'object', properties: { success: { const: true } } }), ...errors(seedError) },
  },
  'GET /api/history': {
    summary: 'Search transcript history',
    tags: ['history'],
    querystring: fromZod(listQuery),
    response: {
      '200': json({
        type: 'object',
        required: ['items', 'total'],
        properties: { items: { type: 'array', items: anyObject }, total: { type: 'integer' } },
        additionalProperties: true,
      }),
      ...errors(seedError),
    },
  },
  'GET /api/history/:id': {
    summary: 'One history entry',
    tags: ['history'],
    params: idParam('entry id'),
    response: { '200': json(anyObject), ...errors(seedError) },
  },
  'DELETE /api/history/:id': {
    summary: 'Delete a history entry',
    tags: ['history'],
    params: idParam('entry id'),
    response: { '200': json(anyObject), ...errors(seedError) },
  },
  'GET /api/history/:id/subtitles': {
    summary: 'Subtitles of a history entry',
    tags: ['history'],
    params: idParam('entry id'),
    querystring: { type: 'object', properties: { format: { type: 'string', enum: ['srt', 'vtt'] } } },
    response: { '200': { description: 'subtitles', content: { 'application/x-subrip': textOut('SRT'), 'text/vtt': textOut('WebVTT') } }, ...errors(seedError) },
  },
  'POST /api/subtitles': {
    summary: 'Render segments as subtitles',
    tags: ['history'],
    body: { content: { 'application/json': { schema: fromZod(subtitlesBody) } } },
    response: { '200': { description: 'subtitles', content: { 'application/x-subrip': textOut('SRT'), 'text/vtt': textOut('WebVTT') } }, ...errors(seedError) },
  },
  'POST /api/enrich': {
    summary: 'Keywords and categories for a text (LLM or built-in)',
    tags: ['api'],
    body: { content: { 'application/json': { schema: fromZod(enrichBody) } } },
    response: { '200': json(anyObject), ...errors(seedError) },
  },
  'GET /api/enrich/state': {
    summary: 'Enrichment state: LLM reachability, breaker, queue',
    tags: ['api'],
    response: { '200': json(anyObject), ...errors(seedError) },
  },
  'GET /metrics': {
    summary: 'Prometheus metrics',
    description: 'Prometheus text format. Requires "Authorization: Bearer <metrics.apiKey>" when that is configured; API keys do not apply.',
    tags: ['operations'],
    security: [],
    response: {
      '200': { description: 'metrics', content: { 'text/plain': textOut('Prometheus text format') } },
      '401': { description: 'metrics key missing or wrong', content: { 'text/plain': textOut('explanation') } },
    },
  },
  'GET /openapi.json': {
    summary: 'This document',
    tags: ['operations'],
    security: [],
    response: { '200': json(anyObject) },
  },
};

/** `auth`: whether this server requires API keys; the document then declares bearer auth (it describes this server). */
export async function registerOpenApi(app: FastifyInstance, opts: { auth: boolean }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Earshot',
        version: VERSION,
        description:
          'Self-hosted speech server: the seed REST API, the OpenAI audio API, live WebSocket streaming, models, history. ' +
          'Errors come in the OpenAI shape under /v1/ and as {success: false, error: {code, message}} elsewhere.',
      },
      ...(opts.auth
        ? {
            components: {
              securitySchemes: {
                bearer: { type: 'http', scheme: 'bearer', description: 'an API key (server.apiKeys / server.keys); also X-API-Key or ?api_key=' },
              },
            },
            security: [{ bearer: [] }],
          }
        : {}),
    },
    transform: ({ schema, url, route }) => {
      const method = (Array.isArray(route.method) ? route.method[0] : route.method) as string;
      // HEAD twins of GET routes and the viewer's own pages stay out of the document
      if (method === 'HEAD' || url === '/docs' || url.startsWith('/docs/')) return { schema: { ...(schema ?? {}), hide: true } as never, url };
      const doc = ROUTE_DOCS[`${method} ${url}`];
      // a route nobody described shows up as such (and fails the OpenAPI test) rather than vanishing
      if (!doc) return { schema: { summary: 'UNDOCUMENTED', tags: ['undocumented'] } as never, url };
      const { summary, description, tags, security, querystring, params, body, response } = doc;
      return {
        schema: { summary, description, tags, ...(security && opts.auth ? { security } : {}), querystring, params, body, response } as never,
        url,
      };
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: false } });
  // the plugin's own route is /docs/json; the conventional address is /openapi.json
  app.get('/openapi.json', { config: { rateLimit: false } }, async () => app.swagger());
}
