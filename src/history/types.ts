// The transcript history contract: what the server records (streaming finals, batch transcriptions,
// their keywords) and how the dashboard reads it back. SQLite implements it for a single node
// (sqlite.ts), PostgreSQL for a cluster (postgres.ts); the interface is asynchronous because a
// server database is a network round trip away.

export type HistoryKind = 'stream' | 'batch';

/** Where a transcript came from: a live interface (/ws, Wyoming, OpenAI Realtime), the seed REST API or the OpenAI API. */
export type HistorySource = 'ws' | 'wyoming' | 'realtime' | 'rest' | 'openai' | (string & {});

export interface HistorySegment {
  start: number;
  end: number;
  text: string;
}

export interface HistoryKeyword {
  text: string;
  category: string;
}

export interface NewHistoryEntry {
  kind: HistoryKind;
  source: HistorySource;
  text: string;
  language?: string;
  model?: string;
  /** streaming: the session and the utterance within it */
  sessionId?: string;
  utteranceId?: string;
  /** seconds: within the session (stream) or the file (batch) */
  start?: number;
  end?: number;
  /** audio seconds (batch: the file; stream: end - start) */
  duration?: number;
  segments?: HistorySegment[];
  keywords?: HistoryKeyword[];
  /** ms since the epoch; default now */
  createdAt?: number;
}

export interface HistoryEntry {
  id: number;
  createdAt: number;
  kind: HistoryKind;
  source: HistorySource;
  text: string;
  language: string | null;
  model: string | null;
  sessionId: string | null;
  utteranceId: string | null;
  start: number | null;
  end: number | null;
  duration: number | null;
  segments: HistorySegment[];
  keywords: HistoryKeyword[];
}

export interface HistoryQuery {
  /** words that must all appear in the text (prefix match per word) */
  text?: string;
  /** an exact keyword (case-insensitive) the entry must carry */
  keyword?: string;
  /** a keyword category the entry must carry */
  category?: string;
  sessionId?: string;
  /** 1-based */
  page?: number;
  pageSize?: number;
}

export interface HistoryPage {
  items: HistoryEntry[];
  total: number;
  page: number;
  pageSize: number;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 200;

export interface HistoryStore {
  /** which engine holds the history (status pages) */
  readonly backend: 'sqlite' | 'postgres';
  add(entry: NewHistoryEntry): Promise<HistoryEntry>;
  /** replaces the keywords of an entry (enrichment arrives after the final); false when it is gone */
  setKeywords(id: number, keywords: HistoryKeyword[]): Promise<boolean>;
  /** newest first */
  search(query?: HistoryQuery): Promise<HistoryPage>;
  get(id: number): Promise<HistoryEntry | undefined>;
  delete(id: number): Promise<boolean>;
  /** deletes entries created before `cutoff` (ms since the epoch); returns how many */
  purgeOlderThan(cutoff: number): Promise<number>;
  count(): Promise<number>;
  /** resolves when the store can serve requests now; rejects with HistoryUnavailableError otherwise */
  check(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The history's database cannot be reached right now (a server database that is down or restarting).
 * Routes answer 503 with its message; the store recovers by itself when the database is back.
 */
export class HistoryUnavailableError extends Error {
  readonly code = 'history_unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HistoryUnavailableError';
  }
}

/** Page and size after clamping to sane bounds. */
export function normalizePaging(query: HistoryQuery): { page: number; pageSize: number } {
  const page = Number.isFinite(query.page) && query.page! >= 1 ? Math.floor(query.page!) : 1;
  const size = Number.isFinite(query.pageSize) && query.pageSize! >= 1 ? Math.floor(query.pageSize!) : DEFAULT_PAGE_SIZE;
  return { page, pageSize: Math.min(size, MAX_PAGE_SIZE) };
}
