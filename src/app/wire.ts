// The JSON shapes clients see, projected from the typed events (src/app/events.ts) in one place:
// the /ws protocol (docs/ws-protocol.schema.json), the monitor feed (which adds session_id) and the
// keywords object of /transcribe and the OpenAI routes. The dashboard types (web/src/types.ts) are
// these types, so a change here is a compile error there.
import type { Keywords, TranscriptionDone, UtteranceFinal, UtterancePartial } from './events.js';

export interface WireKeywords {
  status: Keywords['status'];
  keywords: Array<{ text: string; category: string; score: number }>;
  categories: string[];
  source: Keywords['source'];
  model: string | null;
  latency_ms: number;
  fallback_reason: Keywords['fallbackReason'];
}

export interface WirePartial {
  utterance_id: number;
  revision: number;
  committed: string;
  tentative: string;
}

export interface WireSegment {
  start: number;
  end: number;
  text: string;
  avg_logprob: number;
  no_speech_prob: number;
}

export interface WireWord {
  word: string;
  start: number;
  end: number;
  probability: number;
}

export interface WireFinal {
  utterance_id: number;
  text: string;
  start: number;
  end: number;
  language: string;
  model: string;
  engine: string;
  segments: WireSegment[];
  words: WireWord[];
  processing_time: number;
}

export interface WireUtteranceKeywords extends WireKeywords {
  utterance_id: number;
}

export interface WireTranscription {
  type: 'transcription';
  source: string;
  time: string;
  text: string;
  language: string;
  duration: number;
  model: string;
  segments: Array<{ start: number; end: number; text: string }>;
}

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
