// The SQLite history store: the store contract with FTS5 and with its LIKE fallback, then what is
// SQLite's own: building the index for an older file, persistence, a file that is not a database.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import os from 'node:os';
import Database from 'better-sqlite3';
import { ftsQuery, SqliteHistoryStore } from '../../src/history/index.js';
import { entry, historyContract } from './contract.js';

describe('SqliteHistoryStore', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'earshot-history-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  describe('with FTS5', () => historyContract(async (name) => new SqliteHistoryStore(join(dir, `${name}-fts.sqlite`))));
  describe('with the LIKE fallback', () =>
    historyContract(async (name) => {
      const store = new SqliteHistoryStore(join(dir, `${name}-like.sqlite`), { disableFts: true });
      assert.equal(store.fts, false);
      return store;
    }));

  it('keeps entries across reopening, and builds the text index for a file written without it', async () => {
    const path = join(dir, 'reopen.sqlite');
    const first = new SqliteHistoryStore(path, { disableFts: true });
    const a = await first.add(entry('persisted across restarts', { keywords: [{ text: 'restarts', category: 'event' }] }));
    await first.close();
    const raw = new Database(path, { readonly: true });
    assert.equal((raw.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'transcripts_fts'").get() as { n: number }).n, 0);
    raw.close();

    const second = new SqliteHistoryStore(path);
    try {
      assert.equal(second.fts, true);
      assert.deepEqual(
        (await second.search({ text: 'restart' })).items.map((e) => e.id),
        [a.id],
      );
      assert.deepEqual((await second.get(a.id))!.keywords, [{ text: 'restarts', category: 'event' }]);
      const b = await second.add(entry('a second entry'));
      assert.ok(b.id > a.id);
    } finally {
      await second.close();
    }
  });

  it('refuses a file that is not a database', async () => {
    const { writeFile } = await import('node:fs/promises');
    const path = join(dir, 'garbage.sqlite');
    await writeFile(path, Buffer.alloc(8192, 7));
    assert.throws(() => new SqliteHistoryStore(path), /not a database|file is not a database/i);
  });

  it('builds FTS5 queries that quote every word as a prefix', async () => {
    assert.equal(ftsQuery('ill disposed'), '"ill"* "disposed"*');
    assert.equal(ftsQuery("don't"), '"don\'t"*');
    assert.equal(ftsQuery('"" * ()'), undefined);
  });
});
