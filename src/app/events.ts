// The one typed event map of the server. Services publish these; everything that follows the
// server — the /ws client messages, the monitor feed, the history recorder, (later) metrics — is a
// subscriber that projects them, never a parser of another subscriber's output.
import { EventEmitter } from 'node:events';
import type { EngineKind, Task, Transcript } from '../engines/types.js';
import type { EnrichmentResult, FallbackReason } from '../pipeline/enrich/types.js';

/** Which interface a live session came through. Open: new protocols name themselves. */
export type LiveInterface = 'ws' | 'wyoming' | 'realtime' | (string & {});

/** Which interface a batch transcription came through. */
export type BatchSource = 'rest' | 'openai' | 'cli' | (string & {});

export interface SessionStarted {
  sessionId: string;
  interface: LiveInterface;
  model: string;
  engine: EngineKind;
  /** null: detected per utterance */
  language: string | null;
  /** the client's address, when the interface has one */
  remote: string | null;
  /** ISO time */
  startedAt: string;
}

export interface SessionEnded {
  sessionId: string;
  endedAt: string;
}

export interface UtterancePartial {
  sessionId: string;
  utteranceId: number;
  revision: number;
  /** words two consecutive decodes agreed on; never changes once sent */
  committed: string;
  /** the rest of the newest decode; may change */
  tentative: string;
}

export interface FinalSegment {
  start: number;
  end: number;
  text: string;
  /** unset for engines without decoder statistics (Moonshine, CTC) */
  avgLogprob?: number;
  noSpeechProb?: number;
}

export interface FinalWord {
  word: string;
  start: number;
  end: number;
  probability: number;
}

/** One finished utterance of a live session: stream-time seconds, the model and engine that decoded it. */
export interface UtteranceFinal {
  sessionId: string;
  /** the interface the session came through (the history records it as the entry's source) */
  interface: LiveInterface;
  utteranceId: number;
  text: string;
  start: number;
  end: number;
  language: string;
  model: string;
  engine: EngineKind;
  task: Task;
  segments: FinalSegment[];
  words: FinalWord[];
  /** seconds the engine took */
  processingTime: number;
}

/** Keywords as every interface shows them (one shape: /ws, /transcribe, the OpenAI routes, history). */
export interface Keywords {
  status: EnrichmentResult['status'];
  keywords: Array<{ text: string; category: string; score: number }>;
  categories: string[];
  source: EnrichmentResult['source'];
  /** the LLM that answered (source 'llm') */
  model: string | null;
  latencyMs: number;
  /** set when an LLM is configured but did not produce this result */
  fallbackReason: FallbackReason | null;
}

export interface UtteranceKeywords {
  sessionId: string;
  utteranceId: number;
  keywords: Keywords;
}

/** One finished batch transcription (after the hallucination filter). */
export interface TranscriptionDone {
  /** unique per transcription; keywords that follow carry it */
  transcriptionId: string;
  source: BatchSource;
  transcript: Transcript;
  /** ISO time */
  at: string;
}

export interface TranscriptionKeywords {
  transcriptionId: string;
  keywords: Keywords;
}

export interface AppEventMap {
  'session.started': SessionStarted;
  'session.ended': SessionEnded;
  'utterance.partial': UtterancePartial;
  'utterance.final': UtteranceFinal;
  'utterance.keywords': UtteranceKeywords;
  'transcription.done': TranscriptionDone;
  'transcription.keywords': TranscriptionKeywords;
}

export type AppEventName = keyof AppEventMap;

/** The server's event bus, typed by AppEventMap. A throwing subscriber is reported, never breaks the publisher. */
export class AppEvents {
  private readonly emitter = new EventEmitter();

  constructor(private readonly onSubscriberError: (err: unknown, event: AppEventName) => void = () => undefined) {
    this.emitter.setMaxListeners(1000);
  }

  /** Subscribes; returns the unsubscribe function. */
  on<K extends AppEventName>(event: K, listener: (payload: AppEventMap[K]) => void): () => void {
    const guarded = (payload: AppEventMap[K]) => {
      try {
        listener(payload);
      } catch (err) {
        this.onSubscriberError(err, event);
      }
    };
    this.emitter.on(event, guarded);
    return () => this.emitter.off(event, guarded);
  }

  emit<K extends AppEventName>(event: K, payload: AppEventMap[K]): void {
    this.emitter.emit(event, payload);
  }

  listenerCount(event: AppEventName): number {
    return this.emitter.listenerCount(event);
  }
}

/** The one projection of an enrichment result into the keywords every interface shows. */
export function keywordsOf(result: EnrichmentResult): Keywords {
  return {
    status: result.status,
    keywords: result.keywords.map((k) => ({ text: k.text, category: k.category, score: k.score })),
    categories: result.categories,
    source: result.source,
    model: result.model ?? null,
    latencyMs: result.latencyMs,
    fallbackReason: result.fallbackReason ?? null,
  };
}
