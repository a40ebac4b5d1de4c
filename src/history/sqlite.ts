// HistoryStore on a local SQLite file (better-sqlite3: synchronous, one connection per process;
// WAL lets several Earshot processes share the file; the async methods answer at once). Text search
// uses FTS5 when the SQLite build has it, LIKE otherwise, and LIKE for scripts written without
// spaces (Chinese, Japanese).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  normalizePaging,
  type HistoryEntry,
  type HistoryKeyword,
  type HistoryPage,
  type HistoryQuery,
  type HistorySegment,
  type HistoryStore,
  type NewHistoryEntry,
} from './types.js';
import { escapeLike, normalizeKeyword, searchWords, UNSPACED_SCRIPT } from './search-text.js';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS transcripts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  source TEXT NOT NULL,
  text TEXT NOT NULL,
  language TEXT,
  model TEXT,
  session_id TEXT,
  utterance_id TEXT,
  start_s REAL,
  end_s REAL,
  duration_s REAL,
  segments TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS transcripts_created ON transcripts(created_at);
CREATE INDEX IF NOT EXISTS transcripts_session ON transcripts(session_id);
CREATE TABLE IF NOT EXISTS keywords (
  transcript_id INTEGER NOT NULL REFERENCES transcripts(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  text TEXT NOT NULL,
  category TEXT NOT NULL,
  norm TEXT NOT NULL,
  category_norm TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS keywords_transcript ON keywords(transcript_id);
CREATE INDEX IF NOT EXISTS keywords_norm ON keywords(norm);
CREATE INDEX IF NOT EXISTS keywords_category ON keywords(category_norm);
`;

const FTS_SCHEMA = `
CREATE VIRTUAL TABLE transcripts_fts USING fts5(text, content='transcripts', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER transcripts_fts_insert AFTER INSERT ON transcripts BEGIN
  INSERT INTO transcripts_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER transcripts_fts_delete AFTER DELETE ON transcripts BEGIN
  INSERT INTO transcripts_fts(transcripts_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
INSERT INTO transcripts_fts(transcripts_fts) VALUES ('rebuild');
`;

interface Row {
  id: number;
  created_at: number;
  kind: string;
  source: string;
  text: string;
  language: string | null;
  model: string | null;
  session_id: string | null;
  utterance_id: string | null;
  start_s: number | null;
  end_s: number | null;
  duration_s: number | null;
  segments: string;
}

export interface SqliteHistoryOptions {
  /** use LIKE even when FTS5 exists (tests of the fallback) */
  disableFts?: boolean;
  /** how long to wait for another process's lock before failing with SQLITE_BUSY (default 5 s) */
  busyTimeoutMs?: number;
}

/** FTS5 query: every word must occur, each as a prefix ("disp" finds "disposed"). */
export function ftsQuery(text: string): string | undefined {
  const words = searchWords(text);
  if (words.length === 0) return undefined;
  return words.map((w) => `"${w.replace(/"/g, '""')}"*`).join(' ');
}

export class SqliteHistoryStore implements HistoryStore {
  readonly backend = 'sqlite';
  readonly fts: boolean;
  private readonly db: Database.Database;
  private readonly insertEntry: Database.Statement;
  private readonly insertKeyword: Database.Statement;
  private readonly deleteKeywords: Database.Statement;

  constructor(
    readonly path: string,
    options: SqliteHistoryOptions = {},
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    try {
      // busy_timeout first: switching to WAL needs a lock, and another process may hold one for a moment.
      this.db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
      this.db.pragma('journal_mode = WAL');
      // In WAL mode NORMAL loses nothing when the process dies (kill -9, a crash): a commit is in the
      // WAL file before add() returns. Only a power loss or OS crash can drop the last commits.
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      this.db.exec(SCHEMA);
      this.fts = !options.disableFts && this.ensureFts();
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.insertEntry = this.db.prepare(
      `INSERT INTO transcripts (created_at, kind, source, text, language, model, session_id, utterance_id, start_s, end_s, duration_s, segments)
       VALUES (@created_at, @kind, @source, @text, @language, @model, @session_id, @utterance_id, @start_s, @end_s, @duration_s, @segments)`,
    );
    this.insertKeyword = this.db.prepare('INSERT INTO keywords (transcript_id, position, text, category, norm, category_norm) VALUES (?, ?, ?, ?, ?, ?)');
    this.deleteKeywords = this.db.prepare('DELETE FROM keywords WHERE transcript_id = ?');
  }

  /** Creates the FTS index (and fills it from existing rows) when this SQLite has FTS5. */
  private ensureFts(): boolean {
    const exists = () => Boolean(this.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'transcripts_fts'").get());
    if (exists()) return true;
    try {
      this.db.exec(`BEGIN IMMEDIATE; ${FTS_SCHEMA} COMMIT;`);
      return true;
    } catch {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      // no FTS5 in this SQLite, or another process created the index first
      return exists();
    }
  }

  async add(entry: NewHistoryEntry): Promise<HistoryEntry> {
    const row = {
      created_at: entry.createdAt ?? Date.now(),
      kind: entry.kind,
      source: entry.source,
      text: entry.text,
      language: entry.language ?? null,
      model: entry.model ?? null,
      session_id: entry.sessionId ?? null,
      utterance_id: entry.utteranceId ?? null,
      start_s: entry.start ?? null,
      end_s: entry.end ?? null,
      duration_s: entry.duration ?? null,
      segments: JSON.stringify((entry.segments ?? []).map((s) => ({ start: s.start, end: s.end, text: s.text }))),
    };
    const id = this.db.transaction(() => {
      const id = Number(this.insertEntry.run(row).lastInsertRowid);
      this.writeKeywords(id, entry.keywords ?? []);
      return id;
    })();
    return this.entry(id)!;
  }

  private writeKeywords(id: number, keywords: HistoryKeyword[]): void {
    for (const [i, k] of keywords.entries()) this.insertKeyword.run(id, i, k.text, k.category, normalizeKeyword(k.text), normalizeKeyword(k.category));
  }

  async setKeywords(id: number, keywords: HistoryKeyword[]): Promise<boolean> {
    return this.db.transaction(() => {
      if (!this.db.prepare('SELECT 1 FROM transcripts WHERE id = ?').get(id)) return false;
      this.deleteKeywords.run(id);
      this.writeKeywords(id, keywords);
      return true;
    })();
  }

  async search(query: HistoryQuery = {}): Promise<HistoryPage> {
    const { page, pageSize } = normalizePaging(query);
    const where: string[] = [];
    const params: unknown[] = [];
    const text = query.text?.trim();
    if (text) {
      const match = this.fts && !UNSPACED_SCRIPT.test(text) ? ftsQuery(text) : undefined;
      if (match) {
        where.push('t.id IN (SELECT rowid FROM transcripts_fts WHERE transcripts_fts MATCH ?)');
        params.push(match);
      } else {
        // every word somewhere in the text (LIKE is case-insensitive for ASCII only)
        const found = searchWords(text);
        const words = found.length ? found : [text];
        for (const word of words) {
          where.push("t.text LIKE ? ESCAPE '\\'");
          params.push(`%${escapeLike(word)}%`);
        }
      }
    }
    if (query.keyword?.trim()) {
      where.push('EXISTS (SELECT 1 FROM keywords k WHERE k.transcript_id = t.id AND k.norm = ?)');
      params.push(normalizeKeyword(query.keyword));
    }
    if (query.category?.trim()) {
      where.push('EXISTS (SELECT 1 FROM keywords k WHERE k.transcript_id = t.id AND k.category_norm = ?)');
      params.push(normalizeKeyword(query.category));
    }
    if (query.sessionId) {
      where.push('t.session_id = ?');
      params.push(query.sessionId);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT count(*) AS n FROM transcripts t ${clause}`).get(...params) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT t.* FROM transcripts t ${clause} ORDER BY t.created_at DESC, t.id DESC LIMIT ? OFFSET ?`)
      .all(...params, pageSize, (page - 1) * pageSize) as Row[];
    return { items: this.withKeywords(rows), total, page, pageSize };
  }

  async get(id: number): Promise<HistoryEntry | undefined> {
    return this.entry(id);
  }

  private entry(id: number): HistoryEntry | undefined {
    const row = this.db.prepare('SELECT * FROM transcripts WHERE id = ?').get(id) as Row | undefined;
    return row ? this.withKeywords([row])[0] : undefined;
  }

  async delete(id: number): Promise<boolean> {
    return this.db.prepare('DELETE FROM transcripts WHERE id = ?').run(id).changes > 0;
  }

  async purgeOlderThan(cutoff: number): Promise<number> {
    return this.db.prepare('DELETE FROM transcripts WHERE created_at < ?').run(cutoff).changes;
  }

  async count(): Promise<number> {
    return (this.db.prepare('SELECT count(*) AS n FROM transcripts').get() as { n: number }).n;
  }

  async check(): Promise<void> {}

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private withKeywords(rows: Row[]): HistoryEntry[] {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const keywordRows = this.db
      .prepare(`SELECT transcript_id, text, category FROM keywords WHERE transcript_id IN (${ids.map(() => '?').join(',')}) ORDER BY transcript_id, position`)
      .all(...ids) as Array<{ transcript_id: number; text: string; category: string }>;
    const byId = new Map<number, HistoryKeyword[]>();
    for (const k of keywordRows) {
      const list = byId.get(k.transcript_id) ?? [];
      list.push({ text: k.text, category: k.category });
      byId.set(k.transcript_id, list);
    }
    return rows.map((r) => ({
      id: r.id,
      createdAt: r.created_at,
      kind: r.kind as HistoryEntry['kind'],
      source: r.source as HistoryEntry['source'],
      text: r.text,
      language: r.language,
      model: r.model,
      sessionId: r.session_id,
      utteranceId: r.utterance_id,
      start: r.start_s,
      end: r.end_s,
      duration: r.duration_s,
      segments: JSON.parse(r.segments) as HistorySegment[],
      keywords: byId.get(r.id) ?? [],
    }));
  }
}
