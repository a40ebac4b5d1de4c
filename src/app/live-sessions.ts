// The live-session service: every real-time interface (/ws today; Wyoming and OpenAI Realtime next)
// opens its stream sessions here. A session leases an engine, runs the pipeline's StreamSession,
// enriches each final once (when the server and the session both want it) and publishes typed
// events on the bus. The interface only turns its protocol into push/flush/stop calls and the
// session's events back into its own messages.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Config } from '../config/schema.js';
import type { EngineManager, Lease } from '../engines/manager.js';
import { EngineError, type EngineKind, type Task } from '../engines/types.js';
import type { Enricher } from '../pipeline/enrich/index.js';
import type { HallucinationFilter } from '../pipeline/filter/index.js';
import {
  StreamSession,
  type BackpressureEvent,
  type DecodeWindow,
  type DroppedEvent,
  type SessionErrorEvent,
  type SpeechEndEvent,
  type SpeechStartEvent,
  type StreamSessionStats,
} from '../pipeline/session.js';
import type { CreatedVad } from '../pipeline/vad/index.js';
import { keywordsOf, type AppEvents, type LiveInterface, type UtteranceFinal, type UtteranceKeywords, type UtterancePartial } from './events.js';

export interface LiveSessionRequest {
  interface: LiveInterface;
  /** the client's address, when the interface has one */
  remote?: string | null;
  /** a normalised language code; undefined = detect per utterance */
  language?: string;
  /** a model id or source; undefined = the language route or the default */
  model?: string;
  task?: Task;
  /** default: config.streaming.partials */
  partials?: boolean;
  /** keywords after each final; default true (always off when the server disables enrichment) */
  enrich?: boolean;
  vad?: { threshold?: number; minSilenceMs?: number; minPauseMs?: number; minSpeechMs?: number; speechPadMs?: number };
  /** partial cadence in ms; default config.streaming.partialIntervalMs */
  partialIntervalMs?: number;
  /** audio an utterance holds before its first partial, in ms; default config.streaming.firstPartialMs */
  firstPartialMs?: number;
  /** encoder windows of partial and final decodes; default config.streaming.partialWindow / finalWindow */
  partialWindow?: DecodeWindow;
  finalWindow?: DecodeWindow;
  /** text that guides every final decode (Whisper's initial prompt) */
  prompt?: string;
  /** default: config.streaming.maxUtteranceSeconds */
  maxUtteranceSeconds?: number;
}

/** What a session tells the interface that opened it (the bus gets the app-wide events). */
export interface LiveSessionEvents {
  speech_start: [SpeechStartEvent];
  speech_end: [SpeechEndEvent];
  partial: [UtterancePartial];
  final: [UtteranceFinal];
  keywords: [UtteranceKeywords];
  dropped: [DroppedEvent];
  error: [SessionErrorEvent];
  backpressure: [BackpressureEvent];
  /** an utterance's final decode is over (after its final, dropped or error, or alone when it held no text) */
  utterance_done: [{ utteranceId: number }];
}

export interface LiveSessionInfo {
  id: string;
  interface: LiveInterface;
  started: string;
  model: string;
  engine: EngineKind;
  language: string | null;
  remote: string | null;
}

export class LiveSession extends EventEmitter<LiveSessionEvents> {
  readonly info: LiveSessionInfo;
  private closed = false;

  constructor(
    readonly id: string,
    private readonly stream: StreamSession,
    private readonly lease: Lease,
    info: Omit<LiveSessionInfo, 'id'>,
    /** the settings the session runs with, for the interface's "ready" message */
    readonly settings: { partials: boolean; enrich: boolean; vad: 'silero' | 'energy' },
    private readonly onClose: (session: LiveSession) => void,
  ) {
    super();
    this.info = { id, ...info };
  }

  /** 16 kHz mono samples; false while the backlog is above half its bound (a hint to slow down). */
  push(samples: Float32Array): boolean {
    return this.stream.push(samples);
  }

  /** Ends the current utterance now and waits for its final. */
  flush(): Promise<void> {
    return this.stream.flush();
  }

  /** Finishes everything received, then closes. */
  async stop(): Promise<void> {
    await this.stream.stop();
    this.close();
  }

  stats(): StreamSessionStats {
    return this.stream.stats();
  }

  /** closed: push() would throw */
  get isClosed(): boolean {
    return this.closed || this.stream.isClosed;
  }

  /** Drops what is pending and releases the engine; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.close();
    this.stream.removeAllListeners();
    this.lease.release();
    this.onClose(this);
  }
}

export interface LiveSessionDeps {
  config: Config;
  engines: EngineManager;
  vad: CreatedVad;
  filter?: HallucinationFilter;
  enricher?: Enricher;
  events: AppEvents;
  log?: { warn(obj: unknown, msg?: string): void };
  /** follows each session for what the events do not carry (final latency, partials, backpressure) */
  metrics?: { followLiveSession(session: LiveSession): () => void };
}

export class LiveSessions {
  private readonly sessions = new Map<string, LiveSession>();

  constructor(private readonly deps: LiveSessionDeps) {}

  /** Sessions running now, oldest first. */
  list(): LiveSessionInfo[] {
    return [...this.sessions.values()].map((s) => s.info);
  }

  get(id: string): LiveSessionInfo | undefined {
    return this.sessions.get(id)?.info;
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * Opens a session: leases the engine (loading the model when the config allows), builds the
   * stream, publishes session.started. Throws the engine manager's errors (map them with toApiError).
   */
  async open(req: LiveSessionRequest): Promise<LiveSession> {
    const { config, engines, vad, filter, enricher, events } = this.deps;
    // req.model is the client's: the caller-source policy applies to it
    const main = await engines.acquire({ model: req.model, language: req.language, use: 'live', allowLoad: config.server.allowModelLoading, caller: true });
    // the overload policy's smaller model for partials (policy/overload.ts); a session runs without it if it cannot load
    let partialLease: Lease | undefined;
    const partialModel = config.streaming.partialModel;
    if (partialModel && partialModel !== main.modelId) {
      try {
        partialLease = await engines.acquire({ model: partialModel, language: req.language, use: 'live', allowLoad: config.server.allowModelLoading });
      } catch (err) {
        this.deps.log?.warn({ err, model: partialModel }, 'the partial model is unavailable; overloaded sessions will drop partials instead');
      }
    }
    const lease: Lease = {
      engine: main.engine,
      modelId: main.modelId,
      release: () => {
        main.release();
        partialLease?.release();
      },
    };
    const id = randomUUID();
    const partials = req.partials ?? config.streaming.partials;
    const enrich = (req.enrich ?? true) && Boolean(enricher?.config.enabled);
    const task = req.task ?? 'transcribe';
    if (task === 'translate' && !lease.engine.info.canTranslate) {
      lease.release();
      throw new EngineError('unsupported', `model ${lease.modelId} cannot translate (a ${lease.engine.info.kind} model transcribes its own language only)`);
    }
    const v = req.vad ?? {};
    const live = config.streaming;
    const stream = new StreamSession({
      engine: lease.engine,
      partialEngine: partialLease?.engine,
      vad: vad.create(),
      filter: filter ?? null,
      config: {
        language: req.language,
        task,
        partials,
        partialIntervalSec: (req.partialIntervalMs ?? live.partialIntervalMs) / 1000,
        minPartialSec: (req.firstPartialMs ?? live.firstPartialMs) / 1000,
        speculativeFinals: live.speculativeFinals,
        partialWindow: req.partialWindow ?? live.partialWindow,
        finalWindow: req.finalWindow ?? live.finalWindow,
        contextPrompt: live.contextPrompt,
        maxUtteranceSec: req.maxUtteranceSeconds ?? config.streaming.maxUtteranceSeconds,
        maxPendingSec: config.streaming.maxPendingSeconds,
        finalOptions: { beamSize: config.model.beamSize, ...(req.prompt ? { initialPrompt: req.prompt } : {}) },
        vad: {
          ...vad.stateDefaults,
          ...(v.threshold !== undefined ? { threshold: v.threshold, negThreshold: Math.max(0.05, v.threshold - 0.15) } : {}),
          // the server's hangover and pause, unless the VAD kind has its own (the energy VAD) or the client asks
          minSilenceMs: v.minSilenceMs ?? vad.stateDefaults.minSilenceMs ?? live.hangoverMs,
          minPauseMs: v.minPauseMs ?? live.minPauseMs,
          ...(v.minSpeechMs !== undefined ? { minSpeechMs: v.minSpeechMs } : {}),
          ...(v.speechPadMs !== undefined ? { preRollMs: v.speechPadMs, postRollMs: v.speechPadMs } : {}),
        },
      },
    });
    const engine = lease.engine.info.kind;
    const session = new LiveSession(
      id,
      stream,
      lease,
      { interface: req.interface, started: new Date().toISOString(), model: lease.modelId, engine, language: req.language ?? null, remote: req.remote ?? null },
      { partials, enrich, vad: vad.kind },
      (s) => {
        unfollow?.();
        if (!this.sessions.delete(s.id)) return;
        enricher?.endSession(s.id);
        events.emit('session.ended', { sessionId: s.id, endedAt: new Date().toISOString() });
      },
    );

    const unfollow = this.deps.metrics?.followLiveSession(session);
    stream.on('speech_start', (e) => session.emit('speech_start', e));
    stream.on('speech_end', (e) => session.emit('speech_end', e));
    stream.on('dropped', (e) => session.emit('dropped', e));
    stream.on('error', (e) => session.emit('error', e));
    stream.on('backpressure', (e) => session.emit('backpressure', e));
    stream.on('utterance_done', (e) => session.emit('utterance_done', e));
    stream.on('partial', (e) => {
      const partial: UtterancePartial = { sessionId: id, utteranceId: e.utteranceId, revision: e.revision, committed: e.committed, tentative: e.tentative };
      session.emit('partial', partial);
      events.emit('utterance.partial', partial);
    });
    stream.on('final', (e) => {
      const final: UtteranceFinal = {
        sessionId: id,
        interface: req.interface,
        utteranceId: e.utteranceId,
        text: e.text,
        start: e.start,
        end: e.end,
        language: e.language,
        model: lease.modelId,
        engine,
        task,
        segments: e.segments.map((s) => ({ start: s.start, end: s.end, text: s.text, avgLogprob: s.avgLogprob, noSpeechProb: s.noSpeechProb })),
        words: e.words.map((w) => ({ word: w.word.trim(), start: w.start, end: w.end, probability: w.probability })),
        processingTime: e.processingTime,
      };
      session.emit('final', final);
      events.emit('utterance.final', final);
      // Enrichment runs once per final, here; the history and the monitor take its result from the bus.
      if (!enrich || !enricher || !e.text) return;
      enricher
        .enrich({ text: e.text, language: e.language, utteranceId: String(e.utteranceId), sessionId: id })
        .then((result) => {
          const keywords: UtteranceKeywords = { sessionId: id, utteranceId: e.utteranceId, keywords: keywordsOf(result) };
          session.emit('keywords', keywords);
          events.emit('utterance.keywords', keywords);
        })
        .catch((err: unknown) => this.deps.log?.warn({ err, session: id }, 'enrichment failed'));
    });

    this.sessions.set(id, session);
    const { info } = session;
    events.emit('session.started', {
      sessionId: id,
      interface: info.interface,
      model: info.model,
      engine,
      language: info.language,
      remote: info.remote,
      startedAt: info.started,
    });
    return session;
  }

  /** Closes every session (server shutdown). */
  closeAll(): void {
    for (const s of [...this.sessions.values()]) s.close();
  }
}
