// /ws: real-time streaming. A thin adapter from WebSocket messages to a StreamSession
// (VAD → utterances → partials/finals → hallucination filter), plus keywords after each final.
// The protocol is documented in docs/streaming.md and docs/ws-protocol.schema.json.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { f32leToFloat32, s16leToFloat32, StreamResampler } from '../../audio/pcm.js';
import type { Lease } from '../../engines/manager.js';
import { normalizeLanguage } from '../../engines/languages.js';
import { scheduleEnrichment } from '../../pipeline/enrich/index.js';
import { StreamSession, type FinalEvent } from '../../pipeline/session.js';
import type { AppContext } from '../context.js';
import { toApiError } from '../errors.js';

/** Frames above this are refused with an error (the session goes on); ws itself closes above 4 MiB (app.ts). */
export const MAX_FRAME_BYTES = 1024 * 1024;

const configMessage = z
  .object({
    type: z.literal('config'),
    language: z.string().max(16).optional(),
    sample_rate: z.number().int().min(8000).max(48000).optional(),
    encoding: z.enum(['pcm_s16le', 'pcm_f32le']).optional(),
    model: z.string().max(200).optional(),
    task: z.enum(['transcribe', 'translate']).optional(),
    partials: z.boolean().optional(),
    enrich: z.boolean().optional(),
    vad: z
      .object({
        threshold: z.number().min(0.05).max(0.99).optional(),
        min_silence_ms: z.number().int().min(100).max(10_000).optional(),
        min_speech_ms: z.number().int().min(0).max(10_000).optional(),
        speech_pad_ms: z.number().int().min(0).max(2000).optional(),
        max_utterance_s: z.number().min(2).max(30).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

type SessionConfig = z.infer<typeof configMessage>;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Live sessions, for the monitor feed and the stats endpoint. */
export interface LiveSession {
  id: string;
  started: string;
  model: string;
  language?: string;
  remote: string;
  stats: () => Record<string, unknown>;
}

export const liveSessions = new Map<string, LiveSession>();

export async function wsRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get('/ws', { websocket: true }, (socket: WebSocket, request: FastifyRequest) => {
    void handleConnection(socket, request, ctx);
  });
}

function queryConfig(request: FastifyRequest): Partial<SessionConfig> {
  const q = (request.query ?? {}) as Record<string, string>;
  const out: Partial<SessionConfig> = {};
  if (q.language) out.language = q.language;
  if (q.sample_rate) out.sample_rate = Number(q.sample_rate);
  if (q.encoding === 'pcm_s16le' || q.encoding === 'pcm_f32le') out.encoding = q.encoding;
  if (q.model) out.model = q.model;
  if (q.partials) out.partials = q.partials !== 'false';
  if (q.enrich) out.enrich = q.enrich !== 'false';
  return out;
}

async function handleConnection(socket: WebSocket, request: FastifyRequest, ctx: AppContext): Promise<void> {
  const id = randomUUID();
  const log = ctx.log.child({ session: id });
  let session: StreamSession | undefined;
  let lease: Lease | undefined;
  let resampler: StreamResampler | undefined;
  let encoding: 'pcm_s16le' | 'pcm_f32le' = 'pcm_s16le';
  let enrich = true;
  let starting: Promise<boolean> | undefined;
  let closed = false;
  let stopping = false;
  // Messages are handled strictly in order; audio waits for the session to exist.
  let chain: Promise<void> = Promise.resolve();

  const send = (msg: Record<string, unknown>) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(msg));
  };
  const sendError = (code: string, message: string, fatal = false) => send({ type: 'error', code, message, fatal });

  const cleanup = () => {
    if (closed) return;
    closed = true;
    session?.close();
    session?.removeAllListeners();
    lease?.release();
    if (liveSessions.delete(id)) ctx.events.emit('session', { id, state: 'ended' });
    ctx.enricher?.endSession(id);
  };
  socket.on('close', cleanup);
  socket.on('error', (err) => {
    log.debug({ err }, 'socket error');
    cleanup();
  });

  const start = (cfg: Partial<SessionConfig>): Promise<boolean> =>
    (starting ??= (async () => {
      let language: string | undefined;
      try {
        language = normalizeLanguage(cfg.language);
      } catch (err) {
        sendError('invalid_config', (err as Error).message, true);
        socket.close(1008, 'invalid config');
        return false;
      }
      try {
        lease = await ctx.engines.acquire({ model: cfg.model, language, allowLoad: ctx.config.server.allowModelLoading });
      } catch (err) {
        const api = toApiError(err);
        sendError(api.code, api.message, true);
        socket.close(1011, 'model unavailable');
        return false;
      }
      if (closed) {
        lease.release();
        return false;
      }
      encoding = cfg.encoding ?? 'pcm_s16le';
      const sampleRate = cfg.sample_rate ?? 16000;
      resampler = sampleRate === 16000 ? undefined : new StreamResampler(sampleRate, 16000);
      enrich = cfg.enrich ?? true;
      const vad = ctx.vad!;
      session = new StreamSession({
        engine: lease.engine,
        vad: vad.create(),
        filter: ctx.filter ?? null,
        config: {
          language,
          task: cfg.task,
          partials: cfg.partials ?? true,
          maxUtteranceSec: cfg.vad?.max_utterance_s,
          finalOptions: { beamSize: ctx.config.model.beamSize },
          vad: {
            ...vad.stateDefaults,
            ...(cfg.vad?.threshold !== undefined ? { threshold: cfg.vad.threshold, negThreshold: Math.max(0.05, cfg.vad.threshold - 0.15) } : {}),
            ...(cfg.vad?.min_silence_ms !== undefined ? { minSilenceMs: cfg.vad.min_silence_ms } : {}),
            ...(cfg.vad?.min_speech_ms !== undefined ? { minSpeechMs: cfg.vad.min_speech_ms } : {}),
            ...(cfg.vad?.speech_pad_ms !== undefined ? { preRollMs: cfg.vad.speech_pad_ms, postRollMs: cfg.vad.speech_pad_ms } : {}),
          },
        },
      });
      wireSession(session, { id, ctx, send, enrich: () => enrich, language });
      liveSessions.set(id, {
        id,
        started: new Date().toISOString(),
        model: lease.modelId,
        language,
        remote: request.ip,
        stats: () => ({ ...session!.stats() }),
      });
      ctx.events.emit('session', { id, state: 'started', model: lease.modelId, language });
      send({
        type: 'ready',
        session_id: id,
        model: lease.modelId,
        language: language ?? 'auto',
        format: { encoding, sample_rate: sampleRate, channels: 1 },
        partials: cfg.partials ?? true,
        enrich,
        vad: vad.kind,
        max_frame_bytes: MAX_FRAME_BYTES,
      });
      return true;
    })());

  const pushAudio = (bytes: Buffer) => {
    const width = encoding === 'pcm_s16le' ? 2 : 4;
    if (bytes.length % width !== 0) {
      sendError('bad_frame', `audio frames must hold whole ${encoding} samples (${width} bytes each); got ${bytes.length} bytes — frame dropped`);
      return;
    }
    if (bytes.length === 0) return;
    let samples = encoding === 'pcm_s16le' ? s16leToFloat32(bytes) : f32leToFloat32(bytes);
    if (encoding === 'pcm_f32le' && samples.some((v) => !Number.isFinite(v))) {
      sendError('bad_frame', 'pcm_f32le frame holds NaN or infinite samples — frame dropped');
      return;
    }
    if (resampler) samples = resampler.push(samples);
    session!.push(samples);
  };

  const handle = async (data: Buffer, isBinary: boolean): Promise<void> => {
    if (closed || stopping) return;
    if (data.length > MAX_FRAME_BYTES) {
      sendError('frame_too_large', `frame of ${data.length} bytes exceeds ${MAX_FRAME_BYTES} — frame dropped`);
      return;
    }
    if (isBinary) {
      if (!(await start(queryConfig(request)))) return;
      pushAudio(data);
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      sendError('bad_json', 'text frames must be JSON objects');
      return;
    }
    const type = typeof msg === 'object' && msg !== null ? (msg as { type?: unknown }).type : undefined;
    switch (type) {
      case 'config': {
        if (starting) {
          sendError('config_after_start', 'config must be the first message; the session already runs with its settings');
          return;
        }
        const parsed = configMessage.safeParse(msg);
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          sendError('invalid_config', `${issue.path.join('.') || 'config'}: ${issue.message}`, true);
          socket.close(1008, 'invalid config');
          return;
        }
        await start({ ...queryConfig(request), ...parsed.data });
        return;
      }
      case 'audio': {
        const b64 = (msg as { data?: unknown }).data;
        if (typeof b64 !== 'string' || b64.length % 4 !== 0 || !BASE64.test(b64)) {
          sendError('bad_base64', '"data" must be standard base64 — frame dropped');
          return;
        }
        if (!(await start(queryConfig(request)))) return;
        pushAudio(Buffer.from(b64, 'base64'));
        return;
      }
      case 'flush':
        if (session) await session.flush();
        return;
      case 'stop':
        stopping = true;
        if (session) await session.stop();
        send({ type: 'done', session_id: id, stats: session?.stats() ?? null });
        socket.close(1000, 'stopped');
        return;
      default:
        sendError('unknown_type', `unknown message type ${JSON.stringify(type ?? null)}: expected config, audio, flush or stop`);
    }
  };

  socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    chain = chain
      .then(() => handle(buf, isBinary))
      .catch((err: unknown) => {
        log.error({ err }, 'ws message failed');
        sendError('internal_error', 'internal error handling the message');
      });
  });
}

function wireSession(
  session: StreamSession,
  opts: { id: string; ctx: AppContext; send: (m: Record<string, unknown>) => void; enrich: () => boolean; language?: string },
): void {
  const { id, ctx, send } = opts;
  const publish = (type: string, body: Record<string, unknown>) => ctx.events.emit('utterance', { session_id: id, type, ...body });
  session.on('speech_start', (e) => send({ type: 'speech_start', utterance_id: e.utteranceId, start: e.start }));
  session.on('speech_end', (e) => send({ type: 'speech_end', utterance_id: e.utteranceId, start: e.start, end: e.end, reason: e.reason }));
  session.on('partial', (e) => {
    const msg = { utterance_id: e.utteranceId, revision: e.revision, committed: e.committed, tentative: e.tentative };
    send({ type: 'partial', ...msg });
    publish('partial', msg);
  });
  session.on('final', (e: FinalEvent) => {
    const msg = {
      utterance_id: e.utteranceId,
      text: e.text,
      start: e.start,
      end: e.end,
      language: e.language,
      segments: e.segments.map((s) => ({ start: s.start, end: s.end, text: s.text, avg_logprob: s.avgLogprob, no_speech_prob: s.noSpeechProb })),
      words: e.words.map((w) => ({ word: w.word.trim(), start: w.start, end: w.end, probability: w.probability })),
      processing_time: e.processingTime,
    };
    send({ type: 'final', ...msg });
    publish('final', msg);
    if (opts.enrich() && ctx.enricher && e.text) {
      scheduleEnrichment(
        ctx.enricher,
        { text: e.text, language: e.language, utteranceId: String(e.utteranceId), sessionId: id },
        (k) => {
          const kw = {
            utterance_id: e.utteranceId,
            status: k.status,
            keywords: k.keywords,
            categories: k.categories,
            source: k.source,
            model: k.model,
            latency_ms: k.latencyMs,
          };
          send({ type: 'keywords', ...kw });
          publish('keywords', kw);
        },
      );
    }
  });
  session.on('dropped', (e) =>
    send({ type: 'filtered', utterance_id: e.utteranceId, start: e.start, end: e.end, text: e.text, reasons: e.reasons.map((r) => ({ rule: r.rule, pattern: r.pattern ?? null })) }),
  );
  session.on('error', (e) => send({ type: 'error', code: e.code, message: e.message, utterance_id: e.utteranceId ?? null, fatal: e.fatal }));
  session.on('backpressure', (e) =>
    send({
      type: 'backpressure',
      dropped_seconds: e.droppedSeconds,
      total_dropped_seconds: e.totalDroppedSeconds,
      pending_seconds: e.pendingSeconds,
      dropped_utterances: e.droppedUtterances,
    }),
  );
}
