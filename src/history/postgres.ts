// HistoryStore on PostgreSQL, shared by every node of a cluster (config cluster.databaseUrl).
//
// Text search mirrors the SQLite store so one query means the same on one node and on many:
// - Words of space-separated scripts (English, Korean, most others) match as word prefixes through a
//   tsvector built with the `simple` configuration. `simple` lower-cases and keeps every token as
//   written — no stemming, no stop words — which is what a mixed Korean/English history needs: the
//   `english` configuration would stem English and drop its stop words, and PostgreSQL ships no Korean
//   dictionary at all (a Korean word with its particle, "회의는", stays one token that "회의" prefixes).
// - Scripts written without spaces (Chinese, Japanese, Thai) have no word boundaries for a tsvector,
//   so their words match anywhere in the text (ILIKE), served by a pg_trgm trigram index, like the
//   SQLite store's LIKE path.
// The pool reconnects by itself: while the database is unreachable every call fails fast with
// HistoryUnavailableError (routes answer 503), and the next call after it returns succeeds.
import pg from 'pg';
import { migrate, type Migration } from './pg-migrate.js';
import { escapeLike, normalizeKeyword, searchWords, UNSPACED_SCRIPT } from './search-text.js';
import {
  HistoryUnavailableError,
  normalizePaging,
  type HistoryEntry,
  type HistoryKeyword,
  type HistoryPage,
  type HistoryQuery,
  type HistorySegment,
  type HistoryStore,
  type NewHistoryEntry,
} from './types.js';

export const MIGRATIONS: Migration[] = [
  {
    id: 'history-1',
    sql: `
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TABLE history_transcripts (
  id BIGSERIAL PRIMARY KEY,
  created_at BIGINT NOT NULL,
  kind TEXT NOT NULL,
  source TEXT NOT NULL,
  text TEXT NOT NULL,
  language TEXT,
  model TEXT,
  session_id TEXT,
  utterance_id TEXT,
  start_s DOUBLE PRECISION,
  end_s DOUBLE PRECISION,
  duration_s DOUBLE PRECISION,
  segments JSONB NOT NULL DEFAULT '[]',
  text_search TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED
);
CREATE INDEX history_transcripts_created ON history_transcripts (created_at DESC, id DESC);
CREATE INDEX history_transcripts_session ON history_transcripts (session_id);
CREATE INDEX history_transcripts_text_search ON history_transcripts USING GIN (text_search);
CREATE INDEX history_transcripts_text_trgm ON history_transcripts USING GIN (text gin_trgm_ops);
CREATE TABLE history_keywords (
  transcript_id BIGINT NOT NULL REFERENCES history_transcripts(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  text TEXT NOT NULL,
  category TEXT NOT NULL,
  norm TEXT NOT NULL,
  category_norm TEXT NOT NULL,
  PRIMARY KEY (transcript_id, position)
);
CREATE INDEX history_keywords_norm ON history_keywords (norm);
CREATE INDEX history_keywords_category ON history_keywords (category_norm);
`,
  },
];

const COLUMNS = 'id, created_at, kind, source, text, language, model, session_id, utterance_id, start_s, end_s, duration_s, segments';

interface Row {
  id: string;
  created_at: string;
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
  segments: HistorySegment[];
}

export interface PostgresHistoryOptions {
  /** ms to wait for a connection before reporting the database unavailable (default 3000) */
  connectTimeoutMs?: number;
  /** pool size (default 5) */
  maxConnections?: number;
  log?: { warn(obj: unknown, msg?: string): void };
}

/**
 * tsquery text: every word a prefix ('ill':* & 'disposed':*), each quoted so operators in the search
 * string stay text; to_tsquery('simple', …) then lower-cases them as the index did.
 */
export function tsQuery(text: string): string | undefined {
  const words = searchWords(text);
  if (words.length === 0) return undefined;
  return words.map((w) => `'${w.replace(/'/g, "''")}':*`).join(' & ');
}

/** SQLSTATE classes that say "the server is not there or not taking work", as opposed to a bad query. */
const UNAVAILABLE_SQLSTATE = /^(08|53|57)/;

function unavailable(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return UNAVAILABLE_SQLSTATE.test(code);
  // no SQLSTATE: a socket error (ECONNREFUSED, ETIMEDOUT…), a connect timeout or a terminated connection
  return true;
}

export class PostgresHistoryStore implements HistoryStore {
  readonly backend = 'postgres';
  private readonly pool: pg.Pool;
  private schema?: Promise<void>;

  constructor(
    readonly url: string,
    options: PostgresHistoryOptions = {},
  ) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 5,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
      idleTimeoutMillis: 30_000,
      application_name: 'earshot',
    });
    // an idle connection the server dropped (restart, failover) must not crash the process; the pool replaces it
    this.pool.on('error', (err) => options.log?.warn({ err }, 'history: PostgreSQL connection lost'));
  }

  /** Creates or upgrades the schema once per process (and, through the advisory lock, once per cluster). */
  private ready(): Promise<void> {
    this.schema ??= migrate(this.pool, MIGRATIONS).then(
      () => undefined,
      (err: unknown) => {
        this.schema = undefined; // try again on the next call
        throw err;
      },
    );
    return this.schema;
  }

  /** Runs `fn` once the schema exists; connection failures become HistoryUnavailableError. */
  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      await this.ready();
      return await fn();
    } catch (err) {
      if (err instanceof HistoryUnavailableError || !unavailable(err)) throw err;
      throw new HistoryUnavailableError(`shared history unavailable: PostgreSQL is unreachable (${(err as Error).message})`, { cause: err });
    }
  }

  async add(entry: NewHistoryEntry): Promise<HistoryEntry> {
    return this.run(() =>
      this.transaction(async (client) => {
        const { rows } = await client.query<Row>(
          `INSERT INTO history_transcripts (created_at, kind, source, text, language, model, session_id, utterance_id, start_s, end_s, duration_s, segments)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING ${COLUMNS}`,
          [
            entry.createdAt ?? Date.now(),
            entry.kind,
            entry.source,
            entry.text,
            entry.language ?? null,
            entry.model ?? null,
            entry.sessionId ?? null,
            entry.utteranceId ?? null,
            entry.start ?? null,
            entry.end ?? null,
            entry.duration ?? null,
            JSON.stringify((entry.segments ?? []).map((s) => ({ start: s.start, end: s.end, text: s.text }))),
          ],
        );
        const row = rows[0]!;
        const keywords = entry.keywords ?? [];
        await this.writeKeywords(client, row.id, keywords);
        return toEntry(row, keywords);
      }),
    );
  }

  async setKeywords(id: number, keywords: HistoryKeyword[]): Promise<boolean> {
    return this.run(() =>
      this.transaction(async (client) => {
        // the row lock keeps a concurrent delete or keyword update from interleaving
        const found = await client.query('SELECT 1 FROM history_transcripts WHERE id = $1 FOR UPDATE', [id]);
        if (found.rowCount === 0) return false;
        await client.query('DELETE FROM history_keywords WHERE transcript_id = $1', [id]);
        await this.writeKeywords(client, String(id), keywords);
        return true;
      }),
    );
  }

  async search(query: HistoryQuery = {}): Promise<HistoryPage> {
    const { page, pageSize } = normalizePaging(query);
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const text = query.text?.trim();
    if (text) {
      const match = UNSPACED_SCRIPT.test(text) ? undefined : tsQuery(text);
      if (match) {
        where.push(`t.text_search @@ to_tsquery('simple', ${param(match)})`);
      } else {
        const found = searchWords(text);
        for (const word of found.length ? found : [text]) where.push(`t.text ILIKE ${param(`%${escapeLike(word)}%`)} ESCAPE '\\'`);
      }
    }
    if (query.keyword?.trim()) {
      where.push(`EXISTS (SELECT 1 FROM history_keywords k WHERE k.transcript_id = t.id AND k.norm = ${param(normalizeKeyword(query.keyword))})`);
    }
    if (query.category?.trim()) {
      where.push(`EXISTS (SELECT 1 FROM history_keywords k WHERE k.transcript_id = t.id AND k.category_norm = ${param(normalizeKeyword(query.category))})`);
    }
    if (query.sessionId) where.push(`t.session_id = ${param(query.sessionId)}`);
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    return this.run(async () => {
      const total = await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM history_transcripts t ${clause}`, params);
      const rows = await this.pool.query<Row>(
        `SELECT ${COLUMNS.replace(/(\w+)/g, 't.$1')} FROM history_transcripts t ${clause}
         ORDER BY t.created_at DESC, t.id DESC LIMIT ${param(pageSize)} OFFSET ${param((page - 1) * pageSize)}`,
        params,
      );
      return { items: await this.withKeywords(rows.rows), total: Number(total.rows[0]!.n), page, pageSize };
    });
  }

  async get(id: number): Promise<HistoryEntry | undefined> {
    if (!Number.isSafeInteger(id)) return undefined;
    return this.run(async () => {
      const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM history_transcripts WHERE id = $1`, [id]);
      return rows.length ? (await this.withKeywords(rows))[0] : undefined;
    });
  }

  async delete(id: number): Promise<boolean> {
    if (!Number.isSafeInteger(id)) return false;
    return this.run(async () => ((await this.pool.query('DELETE FROM history_transcripts WHERE id = $1', [id])).rowCount ?? 0) > 0);
  }

  async purgeOlderThan(cutoff: number): Promise<number> {
    return this.run(async () => (await this.pool.query('DELETE FROM history_transcripts WHERE created_at < $1', [Math.floor(cutoff)])).rowCount ?? 0);
  }

  async count(): Promise<number> {
    return this.run(async () => Number((await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM history_transcripts')).rows[0]!.n));
  }

  async check(): Promise<void> {
    await this.run(async () => {
      await this.pool.query('SELECT 1');
    });
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }

  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  private async writeKeywords(client: pg.PoolClient, id: string, keywords: HistoryKeyword[]): Promise<void> {
    if (keywords.length === 0) return;
    await client.query(
      `INSERT INTO history_keywords (transcript_id, position, text, category, norm, category_norm)
       SELECT $1, k.position - 1, k.text, k.category, k.norm, k.category_norm
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS k(text, category, norm, category_norm, position)`,
      [
        id,
        keywords.map((k) => k.text),
        keywords.map((k) => k.category),
        keywords.map((k) => normalizeKeyword(k.text)),
        keywords.map((k) => normalizeKeyword(k.category)),
      ],
    );
  }

  private async withKeywords(rows: Row[]): Promise<HistoryEntry[]> {
    if (rows.length === 0) return [];
    const { rows: keywordRows } = await this.pool.query<{ transcript_id: string; text: string; category: string }>(
      'SELECT transcript_id, text, category FROM history_keywords WHERE transcript_id = ANY($1::bigint[]) ORDER BY transcript_id, position',
      [rows.map((r) => r.id)],
    );
    const byId = new Map<string, HistoryKeyword[]>();
    for (const k of keywordRows) {
      const list = byId.get(k.transcript_id) ?? [];
      list.push({ text: k.text, category: k.category });
      byId.set(k.transcript_id, list);
    }
    return rows.map((r) => toEntry(r, byId.get(r.id) ?? []));
  }
}

function toEntry(r: Row, keywords: HistoryKeyword[]): HistoryEntry {
  return {
    id: Number(r.id),
    createdAt: Number(r.created_at),
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
    segments: r.segments,
    keywords: keywords.map((k) => ({ text: k.text, category: k.category })),
  };
}
