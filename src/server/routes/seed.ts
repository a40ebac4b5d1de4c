// The seed-compatible API: GET /, GET /health, POST /transcribe (seeds 000, 001, 004).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { healthStatus } from '../../app/status.js';
import { wireKeywords } from '../../app/wire.js';
import { isResponseFormat, render, RESPONSE_FORMATS } from '../../formats/index.js';
import { VERSION } from '../../version.js';
import type { AppContext } from '../context.js';
import { sendDashboard, wantsHtml } from '../dashboard-page.js';
import { ApiError } from '../errors.js';
import { abortOnDisconnect, parseEngine, parseLanguage } from '../http.js';
import { field, readUpload } from '../upload.js';

export const ENDPOINTS = [
  '/health',
  '/transcribe',
  '/v1/audio/transcriptions',
  '/v1/audio/translations',
  '/v1/models',
  '/ws',
  '/api/models',
  '/api/models/load',
  '/api/enrich',
  '/api/config',
  '/api/stats',
  '/api/monitor',
  '/api/history',
];

export function statusBody(ctx: AppContext): Record<string, unknown> {
  const def = ctx.engines.defaultState();
  return {
    name: 'earshot',
    version: VERSION,
    status: healthStatus(ctx),
    model: ctx.engines.defaultModelId ?? ctx.engines.defaultModelSource,
    engines: ctx.engines
      .list()
      .filter((m) => !m.retiring)
      .map((m) => ({ id: m.id, state: m.state, kind: m.info?.kind, default: m.default })),
    device: ctx.engines.device,
    endpoints: ENDPOINTS,
    uptime: Math.round((Date.now() - ctx.startedAt) / 1000),
    ...(def.error ? { error: def.error } : {}),
  };
}

function llmHealth(ctx: AppContext): Record<string, unknown> {
  const s = ctx.enricher!.state();
  return { configured: s.configured, reachable: s.reachable, model: s.model, last_latency_ms: s.lastLatencyMs, error_rate: s.errorRate };
}

export async function seedRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get('/', async (request, reply) => {
    // browsers get the dashboard; API clients (curl's */*, JSON accept headers) the JSON status
    if (wantsHtml(request.headers.accept)) return sendDashboard(reply);
    return reply.header('vary', 'Accept').send(statusBody(ctx));
  });

  app.get('/health', async (_request, reply) => {
    const def = ctx.engines.defaultState();
    const status = healthStatus(ctx);
    const loaded = ctx.engines.list().filter((m) => !m.retiring);
    const stats = loaded.find((m) => m.default)?.stats;
    // Seed 004's SUPPORTED_LANGUAGES view: each language route, and whether its model is loaded.
    const routes = Object.entries(ctx.config.languages).map(([language, route]) => {
      const entry = loaded.find((m) => m.id === route.model || m.source === route.model);
      return [
        language,
        {
          model_id: entry?.id ?? route.model,
          engine: entry?.info?.kind ?? null,
          model_loaded: entry?.state === 'ready',
          ...(entry?.info ? { device: entry.info.device } : {}),
        },
      ];
    });
    return reply.status(status === 'ok' ? 200 : 503).send({
      status,
      model_loaded: status === 'ok',
      // the processor (CTC feature extractor + tokenizer, Whisper's mel front end) loads with the model
      processor_loaded: status === 'ok',
      // the device the model really runs on (a CTC worker without a CUDA provider reports cpu)
      device: def.info?.device ?? ctx.engines.device,
      model_id: ctx.engines.defaultModelId ?? ctx.engines.defaultModelSource,
      engine: def.info?.kind ?? 'whisper',
      version: VERSION,
      ...(stats ? { workers: stats.workers, busy: stats.busy, queued: stats.queued, worker_restarts: stats.restarts } : {}),
      ...(def.error ? { error: def.error } : {}),
      ...(routes.length ? { languages: Object.fromEntries(routes) } : {}),
      ...(ctx.enricher ? { llm: llmHealth(ctx) } : {}),
    });
  });

  app.post('/transcribe', async (request: FastifyRequest, reply: FastifyReply) => {
    const { audio, fields } = await readUpload(request, {
      fileFields: ['audio', 'file'],
      limits: { maxBytes: ctx.config.limits.maxUploadBytes, maxSeconds: ctx.config.limits.maxAudioSeconds },
      idleMs: ctx.config.limits.uploadIdleSeconds * 1000,
    });
    const language = parseLanguage(field(fields, 'language', 'lang'), fields.lang !== undefined ? 'lang' : 'language');
    const task = field(fields, 'task') ?? 'transcribe';
    if (task !== 'transcribe' && task !== 'translate') {
      throw new ApiError(422, 'invalid_parameter', `task must be "transcribe" or "translate", not "${task}"`, 'task');
    }
    const format = field(fields, 'response_format') ?? 'json';
    if (!isResponseFormat(format)) {
      throw new ApiError(422, 'invalid_parameter', `response_format must be one of ${RESPONSE_FORMATS.join(', ')}`, 'response_format');
    }
    const words = field(fields, 'word_timestamps') === 'true';
    const engine = parseEngine(field(fields, 'engine'));
    const abort = abortOnDisconnect(request, reply);
    try {
      const { transcript, dropped, keywords } = await ctx.transcription.transcribe({
        source: 'rest',
        audio: audio.samples,
        model: field(fields, 'model'),
        allowLoad: ctx.config.server.allowModelLoading,
        engine,
        keywords: field(fields, 'enrich') === 'true',
        options: { language, task, wordTimestamps: words || format === 'srt' || format === 'vtt', signal: abort.signal, beamSize: ctx.config.model.beamSize },
      });
      // Say what the hallucination filter removed, so a client can tell "silence" from "nothing heard".
      const extra: Record<string, unknown> = {};
      if (dropped.length) extra.filtered = dropped.map((d) => ({ rule: d.rule, pattern: d.pattern ?? null, text: d.text }));
      if (keywords) extra.keywords = wireKeywords(keywords);
      // Seed 004 sent lang=KR and got "language": "KR" back: answer in the client's own code.
      const asSent = field(fields, 'lang');
      if (asSent !== undefined && language === transcript.language) extra.language = asSent;
      const out = render(transcript, format, { seed: true, words, extra });
      return reply.type(out.contentType).send(out.body);
    } finally {
      abort.done();
    }
  });
}
