// The SQLite history store: add/get/search/delete/purge, FTS5 and its LIKE fallback, persistence.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import os from 'node:os';
import Database from 'better-sqlite3';
import { ftsQuery, SqliteHistoryStore, type NewHistoryEntry } from '../../src/history/index.js';

const DAY = 24 * 3600 * 1000;

function entry(text: string, extra: Partial<NewHistoryEntry> = {}): NewHistoryEntry {
  return { kind: 'stream', source: 'ws', text, language: 'en', model: 'base', ...extra };
}

describe('SqliteHistoryStore', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'earshot-history-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('round-trips an entry with segments and keywords', () => {
    const store = new SqliteHistoryStore(join(dir, 'roundtrip.sqlite'));
    try {
      const added = store.add(
        entry('He was not an ill disposed young man.', {
          sessionId: 's1',
          utteranceId: '3',
          start: 1.25,
          end: 4.5,
          duration: 3.25,
          segments: [{ start: 1.25, end: 4.5, text: 'He was not an ill disposed young man.' }],
          keywords: [
            { text: 'young man', category: 'person' },
            { text: 'disposed', category: 'other' },
          ],
          createdAt: 1_700_000_000_000,
        }),
      );
      assert.ok(added.id > 0);
      const got = store.get(added.id)!;
      assert.deepEqual(got, {
        id: added.id,
        createdAt: 1_700_000_000_000,
        kind: 'stream',
        source: 'ws',
        text: 'He was not an ill disposed young man.',
        language: 'en',
        model: 'base',
        sessionId: 's1',
        utteranceId: '3',
        start: 1.25,
        end: 4.5,
        duration: 3.25,
        segments: [{ start: 1.25, end: 4.5, text: 'He was not an ill disposed young man.' }],
        keywords: [
          { text: 'young man', category: 'person' },
          { text: 'disposed', category: 'other' },
        ],
      });
      assert.equal(store.get(added.id + 1000), undefined);
    } finally {
      store.close();
    }
  });

  for (const fts of [true, false]) {
    describe(fts ? 'search with FTS5' : 'search with the LIKE fallback', () => {
      let store: SqliteHistoryStore;
      const t0 = 1_700_000_000_000;
      before(() => {
        store = new SqliteHistoryStore(join(dir, `search-${fts}.sqlite`), { disableFts: !fts });
        assert.equal(store.fts, fts);
        store.add(entry('And Mister John Dashwood had then leisure to consider', { createdAt: t0, keywords: [{ text: 'John Dashwood', category: 'person' }] }));
        store.add(entry('He was not an ill disposed young man', { createdAt: t0 + 1000, keywords: [{ text: 'young man', category: 'person' }] }));
        store.add(entry('Unless to be rather cold hearted and rather selfish is to be ill disposed', { createdAt: t0 + 2000, kind: 'batch', source: 'rest' }));
        store.add(
          entry('회의는 내일 오후 세 시에 서울 본사에서 열립니다', { language: 'ko', createdAt: t0 + 3000, keywords: [{ text: '서울', category: 'place' }] }),
        );
        store.add(entry('東京で会議があります', { language: 'ja', createdAt: t0 + 4000 }));
        store.add(entry('Café déjà vu at 100% "quoted" words_here', { createdAt: t0 + 5000 }));
      });
      after(() => store.close());

      const texts = (q: Parameters<SqliteHistoryStore['search']>[0]) => store.search(q).items.map((e) => e.text);

      it('lists everything newest first without a query', () => {
        const page = store.search();
        assert.equal(page.total, 6);
        assert.equal(page.page, 1);
        assert.equal(page.items[0]!.text, 'Café déjà vu at 100% "quoted" words_here');
        assert.equal(page.items[5]!.text, 'And Mister John Dashwood had then leisure to consider');
      });

      it('finds words anywhere, case-insensitively, all words required', () => {
        assert.deepEqual(texts({ text: 'dashwood' }), ['And Mister John Dashwood had then leisure to consider']);
        assert.deepEqual(texts({ text: 'ILL DISPOSED' }), [
          'Unless to be rather cold hearted and rather selfish is to be ill disposed',
          'He was not an ill disposed young man',
        ]);
        assert.deepEqual(texts({ text: 'disposed selfish' }), ['Unless to be rather cold hearted and rather selfish is to be ill disposed']);
        assert.deepEqual(texts({ text: 'dashwood selfish' }), []);
      });

      it('matches word prefixes', () => {
        assert.deepEqual(texts({ text: 'dashw' }), ['And Mister John Dashwood had then leisure to consider']);
        assert.deepEqual(texts({ text: '회의' }), ['회의는 내일 오후 세 시에 서울 본사에서 열립니다']);
      });

      it('finds Japanese text inside a run of characters', () => {
        assert.deepEqual(texts({ text: '会議' }), ['東京で会議があります']);
      });

      it('treats quotes, wildcards and LIKE metacharacters as text', () => {
        assert.deepEqual(texts({ text: '"quoted"' }), ['Café déjà vu at 100% "quoted" words_here']);
        assert.doesNotThrow(() => store.search({ text: 'a" OR "b' }));
        assert.doesNotThrow(() => store.search({ text: '*' }));
        assert.doesNotThrow(() => store.search({ text: 'NEAR(' }));
        assert.deepEqual(texts({ text: '100%' }), ['Café déjà vu at 100% "quoted" words_here']);
      });

      it('filters by keyword and category, case-insensitively, combined with text', () => {
        assert.deepEqual(texts({ keyword: 'john dashwood' }), ['And Mister John Dashwood had then leisure to consider']);
        assert.deepEqual(texts({ keyword: '  Young   Man ' }), ['He was not an ill disposed young man']);
        assert.deepEqual(texts({ keyword: 'young' }), []);
        assert.deepEqual(texts({ category: 'PERSON' }), ['He was not an ill disposed young man', 'And Mister John Dashwood had then leisure to consider']);
        assert.deepEqual(texts({ category: 'person', text: 'disposed' }), ['He was not an ill disposed young man']);
        assert.deepEqual(texts({ keyword: '서울' }), ['회의는 내일 오후 세 시에 서울 본사에서 열립니다']);
      });

      it('pages results and reports the total', () => {
        const p1 = store.search({ page: 1, pageSize: 4 });
        const p2 = store.search({ page: 2, pageSize: 4 });
        const p3 = store.search({ page: 3, pageSize: 4 });
        assert.equal(p1.total, 6);
        assert.equal(p1.items.length, 4);
        assert.equal(p2.items.length, 2);
        assert.equal(p3.items.length, 0);
        const ids = [...p1.items, ...p2.items].map((e) => e.id);
        assert.equal(new Set(ids).size, 6);
        assert.deepEqual(store.search({ page: 0, pageSize: 0 }), store.search({ page: 1, pageSize: 20 }));
        assert.equal(store.search({ pageSize: 10_000 }).pageSize, 200);
      });
    });
  }

  it('deletes entries with their keywords and index rows', () => {
    const store = new SqliteHistoryStore(join(dir, 'delete.sqlite'));
    try {
      const a = store.add(entry('the quick brown fox', { keywords: [{ text: 'fox', category: 'animal' }] }));
      const b = store.add(entry('the lazy dog'));
      assert.equal(store.delete(a.id), true);
      assert.equal(store.delete(a.id), false);
      assert.equal(store.get(a.id), undefined);
      assert.deepEqual(store.search({ text: 'fox' }).items, []);
      assert.deepEqual(store.search({ keyword: 'fox' }).items, []);
      assert.deepEqual(
        store.search({ text: 'dog' }).items.map((e) => e.id),
        [b.id],
      );
      assert.equal(store.count(), 1);
    } finally {
      store.close();
    }
  });

  it('replaces keywords that arrive after the entry', () => {
    const store = new SqliteHistoryStore(join(dir, 'keywords.sqlite'));
    try {
      const a = store.add(entry('meeting in Seoul tomorrow'));
      assert.deepEqual(store.get(a.id)!.keywords, []);
      assert.equal(store.setKeywords(a.id, [{ text: 'Seoul', category: 'place' }]), true);
      assert.deepEqual(store.get(a.id)!.keywords, [{ text: 'Seoul', category: 'place' }]);
      assert.equal(store.setKeywords(a.id, [{ text: 'meeting', category: 'event' }]), true);
      assert.deepEqual(store.search({ keyword: 'seoul' }).items, []);
      assert.deepEqual(
        store.search({ keyword: 'meeting' }).items.map((e) => e.id),
        [a.id],
      );
      assert.equal(store.setKeywords(a.id + 99, []), false);
    } finally {
      store.close();
    }
  });

  it('purges entries older than a cutoff', () => {
    const store = new SqliteHistoryStore(join(dir, 'purge.sqlite'));
    try {
      const now = Date.now();
      store.add(entry('forty days old', { createdAt: now - 40 * DAY, keywords: [{ text: 'old', category: 'other' }] }));
      store.add(entry('ten days old', { createdAt: now - 10 * DAY }));
      store.add(entry('fresh', { createdAt: now }));
      assert.equal(store.purgeOlderThan(now - 30 * DAY), 1);
      assert.deepEqual(
        store.search().items.map((e) => e.text),
        ['fresh', 'ten days old'],
      );
      assert.deepEqual(store.search({ text: 'forty' }).items, []);
      assert.equal(store.purgeOlderThan(now - 30 * DAY), 0);
    } finally {
      store.close();
    }
  });

  it('keeps entries across reopening, and builds the text index for a file written without it', () => {
    const path = join(dir, 'reopen.sqlite');
    const first = new SqliteHistoryStore(path, { disableFts: true });
    const a = first.add(entry('persisted across restarts', { keywords: [{ text: 'restarts', category: 'event' }] }));
    first.close();
    const raw = new Database(path, { readonly: true });
    assert.equal((raw.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'transcripts_fts'").get() as { n: number }).n, 0);
    raw.close();

    const second = new SqliteHistoryStore(path);
    try {
      assert.equal(second.fts, true);
      assert.deepEqual(
        second.search({ text: 'restart' }).items.map((e) => e.id),
        [a.id],
      );
      assert.deepEqual(second.get(a.id)!.keywords, [{ text: 'restarts', category: 'event' }]);
      const b = second.add(entry('a second entry'));
      assert.ok(b.id > a.id);
    } finally {
      second.close();
    }
  });

  it('refuses a file that is not a database', async () => {
    const { writeFile } = await import('node:fs/promises');
    const path = join(dir, 'garbage.sqlite');
    await writeFile(path, Buffer.alloc(8192, 7));
    assert.throws(() => new SqliteHistoryStore(path), /not a database|file is not a database/i);
  });

  it('builds FTS5 queries that quote every word as a prefix', () => {
    assert.equal(ftsQuery('ill disposed'), '"ill"* "disposed"*');
    assert.equal(ftsQuery("don't"), '"don\'t"*');
    assert.equal(ftsQuery('"" * ()'), undefined);
  });
});
