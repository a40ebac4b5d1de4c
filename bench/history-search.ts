// npm run bench:history [-- --entries N --rounds R]
// History search latency, SQLite (the single-node store: FTS5) against PostgreSQL (the cluster store:
// tsvector + pg_trgm), same entries, same queries, in the same run. The PostgreSQL server is a
// throwaway one on this machine (loopback, so the figure is the store's cost plus one local round trip,
// not a network's). Entries are sentences of the real test corpus (English) and Korean sentences,
// recombined with a fixed seed; each query alternates between the stores. Writes
// bench/results/history-search-<date>-<host>.{json,md}.
import { mkdtemp, rm } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pocketsphinxClips } from '../src/eval/corpus.js';
import { PostgresHistoryStore, SqliteHistoryStore, type HistoryQuery, type HistoryStore, type NewHistoryEntry } from '../src/history/index.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { BENCH_DIR } from './lib/faster-whisper.js';
import { loadAverageNow, machineFacts } from './lib/machine.js';
import { median, percentile, round } from './lib/stats.js';

const { values } = parseArgs({ options: { entries: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '30' } } });
const ENTRIES = Number(values.entries);
const ROUNDS = Number(values.rounds);

const KOREAN = [
  '회의는 내일 오후 세 시에 서울 본사에서 열립니다',
  '다음 주 월요일까지 보고서를 제출해 주세요',
  '부산 지점의 매출이 지난달보다 늘었습니다',
  '고객 문의는 이메일로 보내 주시기 바랍니다',
  '새 제품 출시는 삼월 말로 연기되었습니다',
];
const CATEGORIES = ['person', 'place', 'date', 'topic'];

const QUERIES: Array<[string, HistoryQuery]> = [
  ['latest page (no filter)', {}],
  ['English word', { text: 'disposed' }],
  ['English prefix', { text: 'dashw' }],
  ['two English words', { text: 'young man' }],
  ['Korean word', { text: '서울' }],
  ['Korean prefix', { text: '회의' }],
  ['keyword filter', { keyword: 'seoul' }],
  ['category + text', { category: 'place', text: 'man' }],
  ['page 50', { page: 50 }],
];

/** Deterministic pseudo-random numbers (mulberry32): the same entries on every run. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function entries(count: number): NewHistoryEntry[] {
  const english = pocketsphinxClips().map((c) => c.reference.toLowerCase());
  const random = rng(42);
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)]!;
  const t0 = Date.now() - count * 1000;
  return Array.from({ length: count }, (_, i) => {
    const korean = random() < 0.3;
    const text = korean ? `${pick(KOREAN)} ${pick(KOREAN)}` : `${pick(english)} ${pick(english)}`;
    const keyword = korean ? '서울' : pick(['Seoul', 'meeting', 'Dashwood', 'Friday']);
    return {
      kind: i % 3 ? 'stream' : 'batch',
      source: i % 3 ? 'ws' : 'rest',
      text,
      language: korean ? 'ko' : 'en',
      model: 'base',
      sessionId: `s${i % 500}`,
      keywords: random() < 0.4 ? [{ text: keyword, category: pick(CATEGORIES) }] : [],
      createdAt: t0 + i * 1000,
    };
  });
}

async function timed(store: HistoryStore, q: HistoryQuery): Promise<{ ms: number; total: number }> {
  const t = performance.now();
  const page = await store.search(q);
  return { ms: performance.now() - t, total: page.total };
}

async function main(): Promise<void> {
  const log = (line: string) => process.stderr.write(`[bench:history ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  const machine = machineFacts();
  const load = loadAverageNow();
  const started = new Date().toISOString();
  const dir = await mkdtemp(join(os.tmpdir(), 'earshot-bench-history-'));
  const pg = await startPostgres();
  const sqlite = new SqliteHistoryStore(join(dir, 'history.sqlite'));
  const postgres = new PostgresHistoryStore(pg.url);
  const rows: Array<{
    query: string;
    total: number;
    sqlite: { medianMs: number; p95Ms: number };
    postgres: { medianMs: number; p95Ms: number };
    ratio: number;
  }> = [];
  try {
    const data = entries(ENTRIES);
    log(`writing ${ENTRIES} entries to each store`);
    const writes = { sqlite: 0, postgres: 0 };
    for (const [name, store] of [
      ['sqlite', sqlite],
      ['postgres', postgres],
    ] as const) {
      const t = performance.now();
      for (const e of data) await store.add(e);
      writes[name] = (performance.now() - t) / ENTRIES;
    }
    for (const [label, q] of QUERIES) {
      const times = { sqlite: [] as number[], postgres: [] as number[] };
      // one warm-up each, then alternate which store goes first
      const a = await timed(sqlite, q);
      const b = await timed(postgres, q);
      if (a.total !== b.total) throw new Error(`"${label}": SQLite finds ${a.total}, PostgreSQL ${b.total}`);
      for (let r = 0; r < ROUNDS; r++) {
        const order = r % 2 ? (['postgres', 'sqlite'] as const) : (['sqlite', 'postgres'] as const);
        for (const name of order) times[name].push((await timed(name === 'sqlite' ? sqlite : postgres, q)).ms);
      }
      const s = { medianMs: round(median(times.sqlite), 3)!, p95Ms: round(percentile(times.sqlite, 95), 3)! };
      const p = { medianMs: round(median(times.postgres), 3)!, p95Ms: round(percentile(times.postgres, 95), 3)! };
      rows.push({ query: label, total: a.total, sqlite: s, postgres: p, ratio: round(median(times.postgres) / median(times.sqlite), 2)! });
      log(`${label}: ${a.total} found; SQLite ${s.medianMs} ms, PostgreSQL ${p.medianMs} ms`);
    }
    const result = {
      schema: 1,
      started,
      entries: ENTRIES,
      rounds: ROUNDS,
      machine: { cpuModel: machine.cpuModel, cores: machine.cores, loadAverage: { start: load, end: loadAverageNow() } },
      writeMsPerEntry: { sqlite: round(writes.sqlite, 3), postgres: round(writes.postgres, 3) },
      queries: rows,
    };
    const name = `history-search-${started.slice(0, 10)}-${machine.host}`;
    writeFileSync(join(BENCH_DIR, 'results', `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
    const md = [
      `# History search: SQLite vs PostgreSQL (${started.slice(0, 10)})`,
      '',
      `${machine.cpuModel}, ${machine.cores} cores, load average at start ${load.join(' ')}. ${ENTRIES} entries (70 % English from the test corpus, 30 % Korean), ` +
        `page size 20, ${ROUNDS} rounds per query alternating the stores; PostgreSQL on loopback (one local round trip per query, plus one for keywords).`,
      '',
      `Writes (one entry per call, sequential): SQLite ${result.writeMsPerEntry.sqlite} ms, PostgreSQL ${result.writeMsPerEntry.postgres} ms per entry.`,
      '',
      '| query | found | SQLite median (ms) | p95 | PostgreSQL median (ms) | p95 | PostgreSQL / SQLite |',
      '|---|---|---|---|---|---|---|',
      ...rows.map((r) => `| ${r.query} | ${r.total} | ${r.sqlite.medianMs} | ${r.sqlite.p95Ms} | ${r.postgres.medianMs} | ${r.postgres.p95Ms} | ${r.ratio} |`),
      '',
    ].join('\n');
    writeFileSync(join(BENCH_DIR, 'results', `${name}.md`), md);
    process.stdout.write(md);
  } finally {
    await sqlite.close();
    await postgres.close();
    await pg.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
