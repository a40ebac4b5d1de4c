// /ws: real-time streaming. A thin adapter between WebSocket frames and a live session from the
// live-session service (src/app/live-sessions.ts): it parses config/audio/flush/stop, decodes PCM,
// and renders the session's events as the protocol's messages (docs/streaming.md,
// docs/ws-protocol.schema.json). Enrichment, history and the monitor happen in the app layer.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import type { LiveSession } from '../../app/live-sessions.js';
import { wireFinal, wireKeywords, wirePartial, wireStats } from '../../app/wire.js';
import { f32leToFloat32, s16leToFloat32, StreamResampler } from '../../audio/pcm.js';
import { normalizeLanguage } from '../../util/languages.js';
import type { AppContext } from '../context.js';
import { toApiError } from '../errors.js';
import { upgradeRequired } from '../http.js';
import { CLOSE_GOING_AWAY, refuseSocket } from '../limits.js';

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
    /** partial cadence: the utterance grows by at least this much between two partial decodes */
    partial_interval_ms: z.number().int().min(100).max(10_000).optional(),
    /** the first partial of an utterance comes once it holds this much audio (pre-roll included) */
    first_partial_ms: z.number().int().min(100).max(10_000).optional(),
    /** encoder window of partial / final decodes: 'fit' (the audio plus 1 s, at least 10 s) or 'full' (30 s) */
    partial_window: z.enum(['fit', 'full']).optional(),
    final_window: z.enum(['fit', 'full']).optional(),
    /** period of the `stats` message; 0 = none */
    stats_interval_ms: z.union([z.literal(0), z.number().int().min(250).max(60_000)]).optional(),
    enrich: z.boolean().optional(),
    vad: z
      .object({
        threshold: z.number().min(0.05).max(0.99).optional(),
        min_silence_ms: z.number().int().min(100).max(10_000).optional(),
        min_pause_ms: z.number().int().min(100).max(10_000).optional(),
        min_speech_ms: z.number().int().min(0).max(10_000).optional(),
        speech_pad_ms: z.number().int().min(0).max(2000).optional(),
        max_utterance_s: z.number().min(2).max(30).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

type SessionConfig = z.infer<typeof configMessage>;
type Encoding = 'pcm_s16le' | 'pcm_f32le';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export async function wsRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  // limits are applied on upgrade by Limits.admitLive, so a refusal arrives as a close frame (4429)
  app.route({
    method: 'GET',
    url: '/ws',
    config: { rateLimit: false },
    handler: upgradeRequired,
    wsHandler: (socket: WebSocket, request: FastifyRequest) => {
      new WsConnection(socket, request, ctx).listen();
    },
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
  if (q.partial_interval_ms) out.partial_interval_ms = Number(q.partial_interval_ms);
  if (q.first_partial_ms) out.first_partial_ms = Number(q.first_partial_ms);
  if (q.stats_interval_ms) out.stats_interval_ms = Number(q.stats_interval_ms);
  if (q.partial_window === 'fit' || q.partial_window === 'full') out.partial_window = q.partial_window;
  if (q.final_window === 'fit' || q.final_window === 'full') out.final_window = q.final_window;
  if (q.enrich) out.enrich = q.enrich !== 'false';
  return out;
}

/** One /ws connection: messages are handled strictly in order; audio waits for the session to exist. */
class WsConnection {
  private session?: LiveSession;
  private resampler?: StreamResampler;
  private encoding: Encoding = 'pcm_s16le';
  private starting?: Promise<boolean>;
  private closed = false;
  private stopping = false;
  private statsTimer?: NodeJS.Timeout;
  private chain: Promise<void> = Promise.resolve();
  /** refused at admission (shutdown, per-key limits): no message is handled */
  private refused = false;
  private releaseSlot?: () => void;
  private undrain?: () => void;
  private readonly log;

  constructor(
    private readonly socket: WebSocket,
    private readonly request: FastifyRequest,
    private readonly ctx: AppContext,
  ) {
    this.log = ctx.log.child({ remote: request.ip });
  }

  listen(): void {
    this.socket.on('close', () => this.cleanup());
    // Admission before any message is handled: messages queue behind it on the chain.
    this.chain = this.admit();
    this.socket.on('error', (err) => {
      this.log.debug({ err }, 'socket error');
      this.cleanup();
    });
    this.socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      this.chain = this.chain
        .then(() => this.handle(buf, isBinary))
        .catch((err: unknown) => {
          this.log.error({ err }, 'ws message failed');
          this.sendError('internal_error', 'internal error handling the message');
        });
    });
  }

  private send(msg: Record<string, unknown>): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(msg));
  }

  private sendError(code: string, message: string, fatal = false): void {
    this.send({ type: 'error', code, message, fatal });
  }

  /** Refuses the connection while shutting down or over the key's rate or live-session limit. */
  private async admit(): Promise<void> {
    const { shutdown, limits, keys } = this.ctx;
    if (shutdown?.draining) {
      this.refused = true;
      this.socket.close(CLOSE_GOING_AWAY, 'server shutting down');
      return;
    }
    if (!limits || !keys) return;
    const admission = await limits.admitLive(this.request.identity ?? keys.anonymous(this.request.ip));
    if (!admission.ok) {
      this.refused = true;
      refuseSocket(this.socket, admission);
      return;
    }
    if (this.closed) admission.release();
    else this.releaseSlot = admission.release;
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.statsTimer);
    this.releaseSlot?.();
    this.undrain?.();
    this.session?.close();
  }

  /** Shutdown: the audio already received is decoded to its last final, then a close frame says why. */
  private async drain(): Promise<void> {
    await this.chain.catch(() => undefined);
    if (this.closed) return;
    this.stopping = true;
    const session = this.session;
    await session?.stop();
    this.send({ type: 'done', session_id: session?.id ?? randomUUID(), stats: session?.stats() ?? null, reason: 'server shutting down' });
    this.socket.close(CLOSE_GOING_AWAY, 'server shutting down');
  }

  private start(cfg: Partial<SessionConfig>): Promise<boolean> {
    this.starting ??= this.open(cfg);
    return this.starting;
  }

  private async open(cfg: Partial<SessionConfig>): Promise<boolean> {
    let language: string | undefined;
    try {
      language = normalizeLanguage(cfg.language);
    } catch (err) {
      this.sendError('invalid_config', (err as Error).message, true);
      this.socket.close(1008, 'invalid config');
      return false;
    }
    let session: LiveSession;
    try {
      session = await this.ctx.live.open({
        interface: 'ws',
        remote: this.request.ip,
        language,
        model: cfg.model,
        task: cfg.task,
        partials: cfg.partials,
        partialIntervalMs: cfg.partial_interval_ms,
        firstPartialMs: cfg.first_partial_ms,
        partialWindow: cfg.partial_window,
        finalWindow: cfg.final_window,
        enrich: cfg.enrich,
        maxUtteranceSeconds: cfg.vad?.max_utterance_s,
        vad: {
          threshold: cfg.vad?.threshold,
          minSilenceMs: cfg.vad?.min_silence_ms,
          minPauseMs: cfg.vad?.min_pause_ms,
          minSpeechMs: cfg.vad?.min_speech_ms,
          speechPadMs: cfg.vad?.speech_pad_ms,
        },
      });
    } catch (err) {
      const api = toApiError(err);
      this.sendError(api.code, api.message, true);
      // 1011 is the server's fault; a model the client named that cannot be had is the client's (1008)
      this.socket.close(api.status < 500 ? 1008 : 1011, api.status < 500 ? 'model refused' : 'model unavailable');
      return false;
    }
    if (this.closed) {
      session.close();
      return false;
    }
    this.session = session;
    this.undrain = this.ctx.shutdown?.onDrain(() => this.drain());
    this.encoding = cfg.encoding ?? 'pcm_s16le';
    const sampleRate = cfg.sample_rate ?? 16000;
    this.resampler = sampleRate === 16000 ? undefined : new StreamResampler(sampleRate, 16000);
    this.render(session);
    const statsEvery = cfg.stats_interval_ms ?? this.ctx.config.streaming.statsIntervalMs;
    if (statsEvery > 0) {
      this.statsTimer = setInterval(() => this.send({ type: 'stats', ...wireStats(session.id, session.stats()) }), statsEvery);
      this.statsTimer.unref();
    }
    this.send({
      type: 'ready',
      session_id: session.id,
      model: session.info.model,
      language: language ?? 'auto',
      format: { encoding: this.encoding, sample_rate: sampleRate, channels: 1 },
      partials: session.settings.partials,
      enrich: session.settings.enrich,
      vad: session.settings.vad,
      max_frame_bytes: MAX_FRAME_BYTES,
    });
    return true;
  }

  /** The session's events as protocol messages. */
  private render(session: LiveSession): void {
    session.on('speech_start', (e) => this.send({ type: 'speech_start', utterance_id: e.utteranceId, start: e.start }));
    session.on('speech_end', (e) => this.send({ type: 'speech_end', utterance_id: e.utteranceId, start: e.start, end: e.end, reason: e.reason }));
    session.on('partial', (e) => this.send({ type: 'partial', ...wirePartial(e) }));
    session.on('final', (e) => this.send({ type: 'final', ...wireFinal(e) }));
    session.on('keywords', (e) => this.send({ type: 'keywords', utterance_id: e.utteranceId, ...wireKeywords(e.keywords) }));
    session.on('dropped', (e) =>
      this.send({
        type: 'filtered',
        utterance_id: e.utteranceId,
        start: e.start,
        end: e.end,
        text: e.text,
        reasons: e.reasons.map((r) => ({ rule: r.rule, pattern: r.pattern ?? null })),
      }),
    );
    session.on('error', (e) => this.send({ type: 'error', code: e.code, message: e.message, utterance_id: e.utteranceId ?? null, fatal: e.fatal }));
    session.on('backpressure', (e) =>
      this.send({
        type: 'backpressure',
        dropped_seconds: e.droppedSeconds,
        total_dropped_seconds: e.totalDroppedSeconds,
        pending_seconds: e.pendingSeconds,
        dropped_utterances: e.droppedUtterances,
      }),
    );
  }

  private pushAudio(bytes: Buffer): void {
    const width = this.encoding === 'pcm_s16le' ? 2 : 4;
    if (bytes.length % width !== 0) {
      this.sendError('bad_frame', `audio frames must hold whole ${this.encoding} samples (${width} bytes each); got ${bytes.length} bytes — frame dropped`);
      return;
    }
    if (bytes.length === 0) return;
    let samples = this.encoding === 'pcm_s16le' ? s16leToFloat32(bytes) : f32leToFloat32(bytes);
    if (this.encoding === 'pcm_f32le' && samples.some((v) => !Number.isFinite(v))) {
      this.sendError('bad_frame', 'pcm_f32le frame holds NaN or infinite samples — frame dropped');
      return;
    }
    if (this.resampler) samples = this.resampler.push(samples);
    this.session!.push(samples);
  }

  private async handle(data: Buffer, isBinary: boolean): Promise<void> {
    if (this.closed || this.stopping || this.refused) return;
    if (data.length > MAX_FRAME_BYTES) {
      this.sendError('frame_too_large', `frame of ${data.length} bytes exceeds ${MAX_FRAME_BYTES} — frame dropped`);
      return;
    }
    if (isBinary) {
      if (!(await this.start(queryConfig(this.request)))) return;
      this.pushAudio(data);
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      this.sendError('bad_json', 'text frames must be JSON objects');
      return;
    }
    const type = typeof msg === 'object' && msg !== null ? (msg as { type?: unknown }).type : undefined;
    switch (type) {
      case 'config': {
        if (this.starting) {
          this.sendError('config_after_start', 'config must be the first message; the session already runs with its settings');
          return;
        }
        const parsed = configMessage.safeParse(msg);
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          this.sendError('invalid_config', `${issue.path.join('.') || 'config'}: ${issue.message}`, true);
          this.socket.close(1008, 'invalid config');
          return;
        }
        await this.start({ ...queryConfig(this.request), ...parsed.data });
        return;
      }
      case 'audio': {
        const b64 = (msg as { data?: unknown }).data;
        if (typeof b64 !== 'string' || b64.length % 4 !== 0 || !BASE64.test(b64)) {
          this.sendError('bad_base64', '"data" must be standard base64 — frame dropped');
          return;
        }
        if (!(await this.start(queryConfig(this.request)))) return;
        this.pushAudio(Buffer.from(b64, 'base64'));
        return;
      }
      case 'flush':
        if (this.session) await this.session.flush();
        return;
      case 'stop': {
        this.stopping = true;
        const session = this.session;
        await session?.stop();
        clearInterval(this.statsTimer);
        const stats = session?.stats() ?? null;
        if (session && stats) this.send({ type: 'stats', ...wireStats(session.id, stats) });
        // a stop before any audio still gets a done with an id, as the protocol promises
        this.send({ type: 'done', session_id: session?.id ?? randomUUID(), stats });
        this.socket.close(1000, 'stopped');
        return;
      }
      default:
        this.sendError('unknown_type', `unknown message type ${JSON.stringify(type ?? null)}: expected config, audio, flush or stop`);
    }
  }
}
