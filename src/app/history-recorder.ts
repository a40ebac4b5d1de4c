// A subscriber of the server's events that writes the transcript history: each live final (its
// keywords when they arrive) and each batch transcription (its keywords when the transcription
// service publishes them). It never enriches anything itself. Retention runs at start and daily.
import type { HistoryKeyword, HistorySource, HistoryStore } from '../history/types.js';
import type { AppEvents, Keywords, TranscriptionDone, UtteranceFinal } from './events.js';

const DAY_MS = 24 * 3600 * 1000;
/** entries whose keywords may still arrive; enrichment is quick, so a bounded map is plenty */
const PENDING_LIMIT = 2000;

export interface RecorderLogger {
  warn(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
}

export interface HistoryRecorderOptions {
  store: HistoryStore;
  events: AppEvents;
  /** 0 keeps everything */
  retentionDays: number;
  log?: RecorderLogger;
  now?: () => number;
}

const SOURCES: Record<string, HistorySource> = { rest: 'rest', openai: 'openai', cli: 'rest' };

export class HistoryRecorder {
  /** "session/utterance" or a transcription id → history id, until its keywords arrive */
  private readonly pending = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private readonly now: () => number;
  private unsubscribe: Array<() => void> = [];

  constructor(private readonly options: HistoryRecorderOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): this {
    const { events } = this.options;
    this.unsubscribe = [
      events.on('utterance.final', (e) => this.guard(() => this.final(e))),
      events.on('utterance.keywords', (e) => this.guard(() => this.keywords(`${e.sessionId}/${e.utteranceId}`, e.keywords))),
      events.on('transcription.done', (e) => this.guard(() => this.transcription(e))),
      events.on('transcription.keywords', (e) => this.guard(() => this.keywords(e.transcriptionId, e.keywords))),
    ];
    this.purge();
    if (this.options.retentionDays > 0) {
      this.timer = setInterval(() => this.purge(), DAY_MS);
      this.timer.unref();
    }
    return this;
  }

  stop(): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    if (this.timer) clearInterval(this.timer);
  }

  /** Deletes what is older than the retention period; returns how many entries went. */
  purge(): number {
    const days = this.options.retentionDays;
    if (!(days > 0)) return 0;
    return (
      this.guard(() => {
        const removed = this.options.store.purgeOlderThan(this.now() - days * DAY_MS);
        if (removed > 0) this.options.log?.info({ removed, retentionDays: days }, 'history: purged old transcripts');
        return removed;
      }) ?? 0
    );
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

  private remember(key: string, id: number): void {
    this.pending.set(key, id);
    if (this.pending.size > PENDING_LIMIT) this.pending.delete(this.pending.keys().next().value!);
  }

  private final(e: UtteranceFinal): void {
    const text = e.text.trim();
    if (!text) return;
    const entry = this.options.store.add({
      kind: 'stream',
      source: e.interface,
      text,
      language: e.language,
      model: e.model,
      sessionId: e.sessionId,
      utteranceId: String(e.utteranceId),
      start: e.start,
      end: e.end,
      duration: Math.max(0, e.end - e.start),
      segments: e.segments.map((s) => ({ start: s.start, end: s.end, text: s.text.trim() })),
      createdAt: this.now(),
    });
    this.remember(`${e.sessionId}/${e.utteranceId}`, entry.id);
  }

  private transcription(e: TranscriptionDone): void {
    const t = e.transcript;
    const text = t.text.trim();
    if (!text) return;
    const entry = this.options.store.add({
      kind: 'batch',
      source: SOURCES[e.source] ?? 'rest',
      text,
      language: t.language,
      model: t.model,
      start: 0,
      end: t.duration,
      duration: t.duration,
      segments: t.segments.map((s) => ({ start: s.start, end: s.end, text: s.text.trim() })),
      createdAt: this.now(),
    });
    this.remember(e.transcriptionId, entry.id);
  }

  private keywords(key: string, keywords: Keywords): void {
    const id = this.pending.get(key);
    if (id === undefined) return;
    this.pending.delete(key);
    this.options.store.setKeywords(id, toKeywords(keywords));
  }
}

function toKeywords(k: Keywords): HistoryKeyword[] {
  return k.keywords.filter((w) => w.text.trim()).map((w) => ({ text: w.text.trim(), category: w.category }));
}
