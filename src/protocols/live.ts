// Live sessions for the protocol interfaces (Wyoming, OpenAI Realtime): a leased engine, a StreamSession
// with the server's VAD and hallucination filter, the session registered where the monitor and dashboard
// look, finals published on the event bus and enriched once — the same lifecycle /ws gives its sessions.
// TEMPORARY ADAPTER: the application layer's live-session service (src/app/) replaces this file.
import { randomUUID } from 'node:crypto';
import { normalizeLanguage } from '../engines/languages.js';
import type { Lease } from '../engines/manager.js';
import { scheduleEnrichment } from '../pipeline/enrich/index.js';
import { StreamSession, type FinalEvent } from '../pipeline/session.js';
import type { SpeechStateOptions } from '../pipeline/vad/speech-state.js';
import type { AppContext } from '../server/context.js';
import { ApiError } from '../server/errors.js';
import { liveSessions } from '../server/routes/ws.js';

export interface LiveStreamRequest {
  /** which interface opened it (shown as the session's remote) */
  interface: 'wyoming' | 'realtime';
  remote: string;
  /** an installed model id; default model when absent */
  model?: string;
  language?: string;
  prompt?: string;
  partials?: boolean;
  vad?: Partial<SpeechStateOptions>;
}

export interface LiveStream {
  id: string;
  modelId: string;
  /** normalised language, undefined = detect */
  language?: string;
  session: StreamSession;
  /** aborts the session and releases everything (idempotent) */
  close(): void;
}

/** Opens a session; throws EngineError (model_load_failed, unsupported) or ApiError (bad language) when it cannot. */
export async function openLiveStream(ctx: AppContext, req: LiveStreamRequest): Promise<LiveStream> {
  let language: string | undefined;
  try {
    language = normalizeLanguage(req.language);
  } catch (err) {
    throw new ApiError(400, 'invalid_language', (err as Error).message, 'language');
  }
  const lease: Lease = await ctx.engines.acquire({ model: req.model, language, allowLoad: false });
  const id = randomUUID();
  const vad = ctx.vad!;
  let session: StreamSession;
  try {
    session = new StreamSession({
      engine: lease.engine,
      vad: vad.create(),
      filter: ctx.filter ?? null,
      config: {
        language,
        partials: req.partials ?? true,
        finalOptions: { beamSize: ctx.config.model.beamSize, ...(req.prompt ? { initialPrompt: req.prompt } : {}) },
        vad: { ...vad.stateDefaults, ...req.vad },
      },
    });
  } catch (err) {
    lease.release();
    throw err;
  }
  // errors reach the interface through its own listener; this one keeps an unheard error from throwing
  session.on('error', () => undefined);
  const publish = (type: string, body: Record<string, unknown>) => ctx.events.emit('utterance', { session_id: id, type, ...body });
  session.on('partial', (e) => publish('partial', { utterance_id: e.utteranceId, revision: e.revision, committed: e.committed, tentative: e.tentative }));
  session.on('final', (e: FinalEvent) => {
    publish('final', {
      utterance_id: e.utteranceId,
      text: e.text,
      start: e.start,
      end: e.end,
      language: e.language,
      segments: e.segments.map((s) => ({ start: s.start, end: s.end, text: s.text, avg_logprob: s.avgLogprob, no_speech_prob: s.noSpeechProb })),
      words: e.words.map((w) => ({ word: w.word.trim(), start: w.start, end: w.end, probability: w.probability })),
      processing_time: e.processingTime,
    });
    if (ctx.enricher && e.text) {
      scheduleEnrichment(ctx.enricher, { text: e.text, language: e.language, utteranceId: String(e.utteranceId), sessionId: id }, (k) =>
        publish('keywords', {
          utterance_id: e.utteranceId,
          status: k.status,
          keywords: k.keywords,
          categories: k.categories,
          source: k.source,
          model: k.model,
          latency_ms: k.latencyMs,
        }),
      );
    }
  });
  liveSessions.set(id, {
    id,
    started: new Date().toISOString(),
    model: lease.modelId,
    language,
    remote: `${req.interface} ${req.remote}`,
    stats: () => ({ ...session.stats() }),
  });
  ctx.events.emit('session', { id, state: 'started', model: lease.modelId, language });
  let closed = false;
  return {
    id,
    modelId: lease.modelId,
    language,
    session,
    close: () => {
      if (closed) return;
      closed = true;
      session.close();
      session.removeAllListeners();
      lease.release();
      if (liveSessions.delete(id)) ctx.events.emit('session', { id, state: 'ended' });
      ctx.enricher?.endSession(id);
    },
  };
}
