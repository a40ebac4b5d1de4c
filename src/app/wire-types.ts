// The JSON shapes clients see (the /ws protocol, the monitor feed, the keywords object of the batch
// endpoints). Types only, importing nothing, so the dashboard (web/src/types.ts) uses them as they are.
// src/app/wire.ts projects the typed events into these.

export interface WireKeywords {
  status: 'ok' | 'unavailable';
  keywords: Array<{ text: string; category: string; score: number }>;
  categories: string[];
  source: 'llm' | 'builtin' | 'none';
  model: string | null;
  latency_ms: number;
  /** why the configured LLM did not produce these (not_configured, breaker_open, overloaded, timeout, …) */
  fallback_reason: string | null;
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
  /** absent for engines without decoder statistics (Moonshine, CTC) */
  avg_logprob?: number;
  no_speech_prob?: number;
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

/** The /ws `stats` message body: how a live session keeps up (docs/streaming.md). */
export interface WireSessionStats {
  session_id: string;
  received_seconds: number;
  rtf: number;
  lag_seconds: number;
  pending_seconds: number;
  load: 'normal' | 'fewer_partials' | 'small_partials' | 'no_partials';
  utterances: number;
  finals: number;
  partials: number;
  partial_decodes: number;
  speculative_decodes: number;
  speculative_cancelled: number;
  finals_reused: number;
  finals_decoded: number;
  dropped_seconds: number;
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

/** Monitor-feed messages carry the session they belong to. */
export type MonitorPartial = WirePartial & { session_id: string };
export type MonitorFinal = WireFinal & { session_id: string };
export type MonitorKeywords = WireUtteranceKeywords & { session_id: string };

export interface MonitorUtterance {
  utterance_id: number;
  partial?: MonitorPartial;
  final?: MonitorFinal;
  keywords?: MonitorKeywords;
}

export interface MonitorSession {
  id: string;
  /** the node running the session (config cluster.nodeName; the hostname by default) */
  node: string;
  state: 'started' | 'ended';
  started: string;
  ended: string | null;
  model: string | null;
  language: string | null;
  remote: string | null;
}

export type MonitorSnapshotSession = MonitorSession & { utterances: MonitorUtterance[] };
