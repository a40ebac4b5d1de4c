// A subscriber of the server's events that writes the transcript history: each live final (its
// keywords when they arrive) and each batch transcription (its keywords when the transcription
// service publishes them). It never enriches anything itself. Retention runs at start and daily.
// Writes are asynchronous (a server database may be a network hop away): keywords wait for the
// write of their entry, and a failed write is logged, never thrown at the transcription.
import type { HistoryKeyword, HistorySource, HistoryStore, NewHistoryEntry } from '../history/types.js';
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
  /** "session/utterance" or a transcription id → its history id (once written), until its keywords arrive */
  private readonly pending = new Map<string, Promise<number | undefined>>();
  /** writes in flight, so stop() can wait for them before the store closes */
  private readonly inFlight = new Set<Promise<unknown>>();
  private timer?: NodeJS.Timeout;
  private readonly now: () => number;
  private unsubscribe: Array<() => void> = [];

  constructor(private readonly options: HistoryRecorderOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): this {
    const { events } = this.options;
    this.unsubscribe = [
      events.on('utterance.final', (e) => this.final(e)),
      events.on('utterance.keywords', (e) => void this.guard(() => this.keywords(`${e.sessionId}/${e.utteranceId}`, e.keywords))),
      events.on('transcription.done', (e) => this.transcription(e)),
      events.on('transcription.keywords', (e) => void this.guard(() => this.keywords(e.transcriptionId, e.keywords))),
    ];
    void this.purge();
    if (this.options.retentionDays > 0) {
      this.timer = setInterval(() => void this.purge(), DAY_MS);
      this.timer.unref();
    }
    return this;
  }

  /** Unsubscribes, then waits for the writes already started (call before closing the store). */
  async stop(): Promise<void> {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    if (this.timer) clearInterval(this.timer);
    await this.idle();
  }

  /** Resolves when every write started so far has finished (or failed). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Deletes what is older than the retention period; returns how many entries went. */
  async purge(): Promise<number> {
    const days = this.options.retentionDays;
    if (!(days > 0)) return 0;
    return (
      (await this.guard(async () => {
        const removed = await this.options.store.purgeOlderThan(this.now() - days * DAY_MS);
        if (removed > 0) this.options.log?.info({ removed, retentionDays: days }, 'history: purged old transcripts');
        return removed;
      })) ?? 0
    );
  }

  // A history failure (disk full, locked file, database unreachable) must never break transcription.
  private guard<T>(fn: () => Promise<T>): Promise<T | undefined> {
    const work = (async () => {
      try {
        return await fn();
      } catch (err) {
        this.options.log?.warn({ err }, `history: write failed: ${(err as Error).message}`);
        return undefined;
      }
    })();
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
    return work;
  }

  private remember(key: string, id: Promise<number | undefined>): void {
    this.pending.set(key, id);
    if (this.pending.size > PENDING_LIMIT) this.pending.delete(this.pending.keys().next().value!);
  }

  private final(e: UtteranceFinal): void {
    const text = e.text.trim();
    if (!text) return;
    const id = this.write({
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
    this.remember(`${e.sessionId}/${e.utteranceId}`, id);
  }

  private transcription(e: TranscriptionDone): void {
    const t = e.transcript;
    const text = t.text.trim();
    if (!text) return;
    const id = this.write({
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
    this.remember(e.transcriptionId, id);
  }

  /** Adds an entry; resolves to its id, or undefined when the write failed (logged). */
  private write(entry: NewHistoryEntry): Promise<number | undefined> {
    return this.guard(async () => (await this.options.store.add(entry)).id);
  }

  private async keywords(key: string, keywords: Keywords): Promise<void> {
    const pending = this.pending.get(key);
    if (pending === undefined) return;
    this.pending.delete(key);
    const id = await pending;
    if (id !== undefined) await this.options.store.setKeywords(id, toKeywords(keywords));
  }
}

function toKeywords(k: Keywords): HistoryKeyword[] {
  return k.keywords.filter((w) => w.text.trim()).map((w) => ({ text: w.text.trim(), category: w.category }));
}
