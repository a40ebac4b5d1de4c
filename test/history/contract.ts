// The history store contract, run against every implementation (SQLite with FTS5 and with its LIKE
// fallback, PostgreSQL): the same entries, searches, filters, pages, keyword updates and retention
// must give the same answers whichever store a server uses.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { HistoryQuery, HistoryStore, NewHistoryEntry } from '../../src/history/index.js';

const DAY = 24 * 3600 * 1000;

export function entry(text: string, extra: Partial<NewHistoryEntry> = {}): NewHistoryEntry {
  return { kind: 'stream', source: 'ws', text, language: 'en', model: 'base', ...extra };
}

/** `open(name)` gives an empty store of the implementation under test (one per name). */
export function historyContract(open: (name: string) => Promise<HistoryStore>): void {
  it('round-trips an entry with segments and keywords', async () => {
    const store = await open('roundtrip');
    try {
      const added = await store.add(
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
      const got = (await store.get(added.id))!;
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
      assert.equal(await store.get(added.id + 1000), undefined);
    } finally {
      await store.close();
    }
  });

  {
    describe('search', () => {
      let store: HistoryStore;
      const t0 = 1_700_000_000_000;
      before(async () => {
        store = await open('search');
        await store.add(
          entry('And Mister John Dashwood had then leisure to consider', { createdAt: t0, keywords: [{ text: 'John Dashwood', category: 'person' }] }),
        );
        await store.add(entry('He was not an ill disposed young man', { createdAt: t0 + 1000, keywords: [{ text: 'young man', category: 'person' }] }));
        await store.add(
          entry('Unless to be rather cold hearted and rather selfish is to be ill disposed', { createdAt: t0 + 2000, kind: 'batch', source: 'rest' }),
        );
        await store.add(
          entry('회의는 내일 오후 세 시에 서울 본사에서 열립니다', { language: 'ko', createdAt: t0 + 3000, keywords: [{ text: '서울', category: 'place' }] }),
        );
        await store.add(entry('東京で会議があります', { language: 'ja', createdAt: t0 + 4000 }));
        await store.add(entry('Café déjà vu at 100% "quoted" words_here', { createdAt: t0 + 5000 }));
      });
      after(async () => await store.close());

      const texts = async (q: HistoryQuery) => (await store.search(q)).items.map((e) => e.text);

      it('lists everything newest first without a query', async () => {
        const page = await store.search();
        assert.equal(page.total, 6);
        assert.equal(page.page, 1);
        assert.equal(page.items[0]!.text, 'Café déjà vu at 100% "quoted" words_here');
        assert.equal(page.items[5]!.text, 'And Mister John Dashwood had then leisure to consider');
      });

      it('finds words anywhere, case-insensitively, all words required', async () => {
        assert.deepEqual(await texts({ text: 'dashwood' }), ['And Mister John Dashwood had then leisure to consider']);
        assert.deepEqual(await texts({ text: 'ILL DISPOSED' }), [
          'Unless to be rather cold hearted and rather selfish is to be ill disposed',
          'He was not an ill disposed young man',
        ]);
        assert.deepEqual(await texts({ text: 'disposed selfish' }), ['Unless to be rather cold hearted and rather selfish is to be ill disposed']);
        assert.deepEqual(await texts({ text: 'dashwood selfish' }), []);
      });

      it('matches word prefixes', async () => {
        assert.deepEqual(await texts({ text: 'dashw' }), ['And Mister John Dashwood had then leisure to consider']);
        assert.deepEqual(await texts({ text: '회의' }), ['회의는 내일 오후 세 시에 서울 본사에서 열립니다']);
      });

      it('finds Japanese text inside a run of characters', async () => {
        assert.deepEqual(await texts({ text: '会議' }), ['東京で会議があります']);
      });

      it('treats quotes, wildcards and LIKE metacharacters as text', async () => {
        assert.deepEqual(await texts({ text: '"quoted"' }), ['Café déjà vu at 100% "quoted" words_here']);
        await assert.doesNotReject(store.search({ text: 'a" OR "b' }));
        await assert.doesNotReject(store.search({ text: '*' }));
        await assert.doesNotReject(store.search({ text: 'NEAR(' }));
        assert.deepEqual(await texts({ text: '100%' }), ['Café déjà vu at 100% "quoted" words_here']);
      });

      it('filters by keyword and category, case-insensitively, combined with text', async () => {
        assert.deepEqual(await texts({ keyword: 'john dashwood' }), ['And Mister John Dashwood had then leisure to consider']);
        assert.deepEqual(await texts({ keyword: '  Young   Man ' }), ['He was not an ill disposed young man']);
        assert.deepEqual(await texts({ keyword: 'young' }), []);
        assert.deepEqual(await texts({ category: 'PERSON' }), [
          'He was not an ill disposed young man',
          'And Mister John Dashwood had then leisure to consider',
        ]);
        assert.deepEqual(await texts({ category: 'person', text: 'disposed' }), ['He was not an ill disposed young man']);
        assert.deepEqual(await texts({ keyword: '서울' }), ['회의는 내일 오후 세 시에 서울 본사에서 열립니다']);
      });

      it('pages results and reports the total', async () => {
        const p1 = await store.search({ page: 1, pageSize: 4 });
        const p2 = await store.search({ page: 2, pageSize: 4 });
        const p3 = await store.search({ page: 3, pageSize: 4 });
        assert.equal(p1.total, 6);
        assert.equal(p1.items.length, 4);
        assert.equal(p2.items.length, 2);
        assert.equal(p3.items.length, 0);
        const ids = [...p1.items, ...p2.items].map((e) => e.id);
        assert.equal(new Set(ids).size, 6);
        assert.deepEqual(await store.search({ page: 0, pageSize: 0 }), await store.search({ page: 1, pageSize: 20 }));
        assert.equal((await store.search({ pageSize: 10_000 })).pageSize, 200);
      });
    });
  }

  it('deletes entries with their keywords and index rows', async () => {
    const store = await open('delete');
    try {
      const a = await store.add(entry('the quick brown fox', { keywords: [{ text: 'fox', category: 'animal' }] }));
      const b = await store.add(entry('the lazy dog'));
      assert.equal(await store.delete(a.id), true);
      assert.equal(await store.delete(a.id), false);
      assert.equal(await store.get(a.id), undefined);
      assert.deepEqual((await store.search({ text: 'fox' })).items, []);
      assert.deepEqual((await store.search({ keyword: 'fox' })).items, []);
      assert.deepEqual(
        (await store.search({ text: 'dog' })).items.map((e) => e.id),
        [b.id],
      );
      assert.equal(await store.count(), 1);
    } finally {
      await store.close();
    }
  });

  it('replaces keywords that arrive after the entry', async () => {
    const store = await open('keywords');
    try {
      const a = await store.add(entry('meeting in Seoul tomorrow'));
      assert.deepEqual((await store.get(a.id))!.keywords, []);
      assert.equal(await store.setKeywords(a.id, [{ text: 'Seoul', category: 'place' }]), true);
      assert.deepEqual((await store.get(a.id))!.keywords, [{ text: 'Seoul', category: 'place' }]);
      assert.equal(await store.setKeywords(a.id, [{ text: 'meeting', category: 'event' }]), true);
      assert.deepEqual((await store.search({ keyword: 'seoul' })).items, []);
      assert.deepEqual(
        (await store.search({ keyword: 'meeting' })).items.map((e) => e.id),
        [a.id],
      );
      assert.equal(await store.setKeywords(a.id + 99, []), false);
    } finally {
      await store.close();
    }
  });

  it('purges entries older than a cutoff', async () => {
    const store = await open('purge');
    try {
      const now = Date.now();
      await store.add(entry('forty days old', { createdAt: now - 40 * DAY, keywords: [{ text: 'old', category: 'other' }] }));
      await store.add(entry('ten days old', { createdAt: now - 10 * DAY }));
      await store.add(entry('fresh', { createdAt: now }));
      assert.equal(await store.purgeOlderThan(now - 30 * DAY), 1);
      assert.deepEqual(
        (await store.search()).items.map((e) => e.text),
        ['fresh', 'ten days old'],
      );
      assert.deepEqual((await store.search({ text: 'forty' })).items, []);
      assert.equal(await store.purgeOlderThan(now - 30 * DAY), 0);
    } finally {
      await store.close();
    }
  });
}
