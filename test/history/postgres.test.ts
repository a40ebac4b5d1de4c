// The PostgreSQL history store on a real, throwaway PostgreSQL server: the same contract as SQLite
// (search in English, Korean and Japanese, filters, pages, keywords, retention), migrations that run
// once however many nodes start together, and a clear "unavailable" while the server is down that
// clears by itself when it is back.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { HistoryUnavailableError, PostgresHistoryStore, tsQuery } from '../../src/history/index.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { entry, historyContract } from './contract.js';

describe('PostgresHistoryStore', { timeout: 120_000 }, () => {
  let server: TestPostgres;
  const stores: PostgresHistoryStore[] = [];
  const open = async (database: string) => {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${database}"`);
    await admin.end();
    const store = new PostgresHistoryStore(server.url.replace(/\/earshot$/, `/${database}`));
    stores.push(store);
    return store;
  };
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await server?.destroy();
  });

  historyContract(open);

  it('migrates once when several nodes start at the same moment', async () => {
    const first = await open('migrate');
    const url = first.url;
    const nodes = [first, ...Array.from({ length: 4 }, () => new PostgresHistoryStore(url))];
    stores.push(...nodes.slice(1));
    // every node's first call runs the migrations; the advisory lock lets one do the work
    const added = await Promise.all(nodes.map((n, i) => n.add(entry(`node ${i} was here`))));
    assert.equal(new Set(added.map((e) => e.id)).size, 5);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const rows = (await c.query('SELECT id FROM earshot_migrations ORDER BY id')).rows.map((r) => r.id);
      assert.deepEqual(rows, ['history-1']);
    } finally {
      await c.end();
    }
    assert.equal(await nodes[3]!.count(), 5);
    assert.deepEqual(
      (await nodes[4]!.search({ text: 'node 2' })).items.map((e) => e.text),
      ['node 2 was here'],
    );
  });

  it('reports unavailable while PostgreSQL is down and recovers by itself', async () => {
    const store = await open('outage');
    const kept = await store.add(entry('written before the outage'));
    await server.stop();
    try {
      await assert.rejects(store.search({ text: 'outage' }), (err: unknown) => {
        assert.ok(err instanceof HistoryUnavailableError);
        assert.match(err.message, /shared history unavailable: PostgreSQL is unreachable/);
        return true;
      });
      await assert.rejects(store.check(), HistoryUnavailableError);
      await assert.rejects(store.add(entry('lost')), HistoryUnavailableError);
    } finally {
      await server.start();
    }
    await store.check();
    assert.deepEqual(
      (await store.search({ text: 'outage' })).items.map((e) => e.id),
      [kept.id],
    );
    const after = await store.add(entry('written after the outage'));
    assert.ok(after.id > kept.id);
  });

  it('reports a database it cannot reach at all as unavailable, without crashing', async () => {
    const store = new PostgresHistoryStore(`postgres://earshot@127.0.0.1:1/none`, { connectTimeoutMs: 500 });
    stores.push(store);
    await assert.rejects(store.count(), HistoryUnavailableError);
  });

  it('builds tsquery text that quotes every word as a prefix', () => {
    assert.equal(tsQuery('ill disposed'), "'ill':* & 'disposed':*");
    assert.equal(tsQuery("don't & | !"), "'don''t':*");
    assert.equal(tsQuery('회의 서울'), "'회의':* & '서울':*");
    assert.equal(tsQuery('"" * ()'), undefined);
  });
});
