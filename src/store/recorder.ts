// Follows the server's events and writes the history: each streaming final (its keywords when they
// arrive) and each batch transcription (keywords extracted here, off the request path).
// Retention runs at start and once a day.
import type { EventEmitter } from 'node:events';
import type { Transcript } from '../engines/types.js';
import type { Enricher } from '../pipeline/enrich/index.js';
import type { HistoryKeyword, HistorySource, HistoryStore } from './history.js';

const DAY_MS = 24 * 3600 * 1000;
/** utterances whose keywords may still arrive; enrichment is quick, so a bounded map is plenty */
const PENDING_LIMIT = 2000;

export interface RecorderLogger {
  warn(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
}

export interface HistoryRecorderOptions {
  store: HistoryStore;
  events: EventEmitter;
  enricher?: Enricher;
  /** 0 keeps everything */
  retentionDays: number;
  log?: RecorderLogger;
  now?: () => number;
}

interface SessionEvent {
  id: string;
  state: 'started' | 'ended';
  model?: string;
  language?: string;
}

interface UtteranceEvent {
  session_id: string;
  type: 'partial' | 'final' | 'keywords';
  utterance_id: number | string;
  text?: string;
  start?: number;
  end?: number;
  language?: string;
  segments?: Array<{ start: number; end: number; text: string }>;
  keywords?: Array<{ text: string; category: string }>;
}

interface TranscriptionEvent {
  source: 'rest' | 'openai';
  transcript: Transcript;
}

export class HistoryRecorder {
  private readonly models = new Map<string, string>();
  /** "session/utterance" → history id, until its keywords arrive */
  private readonly pending = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly onSession = (e: SessionEvent) => this.session(e);
  private readonly onUtterance = (e: UtteranceEvent) => this.guard(() => this.utterance(e));
  private readonly onTranscription = (e: TranscriptionEvent) => this.guard(() => this.transcription(e));

  constructor(private readonly options: HistoryRecorderOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): this {
    this.options.events.on('session', this.onSession);
    this.options.events.on('utterance', this.onUtterance);
    this.options.events.on('transcription', this.onTranscription);
    this.purge();
    if (this.options.retentionDays > 0) {
      this.timer = setInterval(() => this.purge(), DAY_MS);
      this.timer.unref();
    }
    return this;
  }

  stop(): void {
    this.options.events.off('session', this.onSession);
    this.options.events.off('utterance', this.onUtterance);
    this.options.events.off('transcription', this.onTranscription);
    if (this.timer) clearInterval(this.timer);
  }

  /** Deletes what is older than the retention period; returns how many entries went. */
  purge(): number {
    const days = this.options.retentionDays;
    if (!(days > 0)) return 0;
    return this.guard(() => {
      const removed = this.options.store.purgeOlderThan(this.now() - days * DAY_MS);
      if (removed > 0) this.options.log?.info({ removed, retentionDays: days }, 'history: purged old transcripts');
      return removed;
    }) ?? 0;
  }

  // A history failure (disk full, locked file) must never break transcription.
  private guard<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      this.options.log?.warn({ err }, 'history: write failed');
      return undefined;
    }
  }

  private session(e: SessionEvent): void {
    if (e.state === 'started' && e.model) this.models.set(e.id, e.model);
    if (e.state === 'ended') this.models.delete(e.id);
  }

  private utterance(e: UtteranceEvent): void {
    const key = `${e.session_id}/${e.utterance_id}`;
    if (e.type === 'final') {
      const text = e.text?.trim();
      if (!text) return;
      const entry = this.options.store.add({
        kind: 'stream',
        source: 'ws',
        text,
        language: e.language,
        model: this.models.get(e.session_id),
        sessionId: e.session_id,
        utteranceId: String(e.utterance_id),
        start: e.start,
        end: e.end,
        duration: e.start !== undefined && e.end !== undefined ? Math.max(0, e.end - e.start) : undefined,
        segments: e.segments?.map((s) => ({ start: s.start, end: s.end, text: s.text.trim() })),
        createdAt: this.now(),
      });
      this.pending.set(key, entry.id);
      if (this.pending.size > PENDING_LIMIT) this.pending.delete(this.pending.keys().next().value!);
    } else if (e.type === 'keywords') {
      const id = this.pending.get(key);
      if (id === undefined) return;
      this.pending.delete(key);
      this.options.store.setKeywords(id, toKeywords(e.keywords));
    }
  }

  private transcription(e: TranscriptionEvent): void {
    const t = e.transcript;
    const text = t.text.trim();
    if (!text) return;
    const source: HistorySource = e.source === 'openai' ? 'openai' : 'rest';
    const entry = this.options.store.add({
      kind: 'batch',
      source,
      text,
      language: t.language,
      model: t.model,
      start: 0,
      end: t.duration,
      duration: t.duration,
      segments: t.segments.map((s) => ({ start: s.start, end: s.end, text: s.text.trim() })),
      createdAt: this.now(),
    });
    const enricher = this.options.enricher;
    if (!enricher?.config.enabled) return;
    enricher
      .enrich({ text, language: t.language })
      .then((result) => this.guard(() => this.options.store.setKeywords(entry.id, toKeywords(result.keywords))))
      .catch((err: unknown) => this.options.log?.warn({ err }, 'history: keyword extraction failed'));
  }
}

function toKeywords(list: Array<{ text: string; category: string }> | undefined): HistoryKeyword[] {
  return (list ?? []).filter((k) => typeof k?.text === 'string' && k.text.trim()).map((k) => ({ text: k.text.trim(), category: String(k.category ?? '') }));
}
