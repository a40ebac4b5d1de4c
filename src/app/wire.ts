// The typed events (src/app/events.ts) projected, in one place, into the JSON clients see
// (shapes in wire-types.ts): the /ws protocol (docs/ws-protocol.schema.json), the monitor feed
// (which adds session_id) and the keywords object of /transcribe and the OpenAI routes.
import type { Keywords, TranscriptionDone, UtteranceFinal, UtterancePartial } from './events.js';
import type { StreamSessionStats } from '../pipeline/session.js';
import type { WireFinal, WireKeywords, WirePartial, WireSessionStats, WireTranscription } from './wire-types.js';

export type * from './wire-types.js';

/** The keywords object, the same on every endpoint. */
export function wireKeywords(k: Keywords): WireKeywords {
  return {
    status: k.status,
    keywords: k.keywords,
    categories: k.categories,
    source: k.source,
    model: k.model,
    latency_ms: k.latencyMs,
    fallback_reason: k.fallbackReason,
  };
}

export function wirePartial(e: UtterancePartial): WirePartial {
  return { utterance_id: e.utteranceId, revision: e.revision, committed: e.committed, tentative: e.tentative };
}

export function wireFinal(e: UtteranceFinal): WireFinal {
  return {
    utterance_id: e.utteranceId,
    text: e.text,
    start: e.start,
    end: e.end,
    language: e.language,
    model: e.model,
    engine: e.engine,
    segments: e.segments.map((s) => ({ start: s.start, end: s.end, text: s.text, avg_logprob: s.avgLogprob, no_speech_prob: s.noSpeechProb })),
    words: e.words,
    processing_time: e.processingTime,
  };
}

export function wireStats(sessionId: string, s: StreamSessionStats): WireSessionStats {
  return {
    session_id: sessionId,
    received_seconds: s.receivedSeconds,
    rtf: s.rtf,
    lag_seconds: s.lagSeconds,
    pending_seconds: s.pendingSeconds,
    load: s.load,
    utterances: s.utterances,
    finals: s.finals,
    partials: s.partials,
    partial_decodes: s.partialDecodes,
    speculative_decodes: s.speculativeDecodes,
    speculative_cancelled: s.speculativeCancelled,
    finals_reused: s.finalsFromSpeculation + s.finalsFromPartial,
    finals_decoded: s.finalsDecoded,
    dropped_seconds: s.backpressureDroppedSeconds,
  };
}

export function wireTranscription(e: TranscriptionDone): WireTranscription {
  const t = e.transcript;
  return {
    type: 'transcription',
    source: e.source,
    time: e.at,
    text: t.text,
    language: t.language,
    duration: t.duration,
    model: t.model,
    segments: t.segments.map((s) => ({ start: s.start, end: s.end, text: s.text })),
  };
}
