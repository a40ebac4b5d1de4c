// The cluster's shared limits on a real redis-server, with one ioredis connection per simulated node:
// request counters that are one budget across nodes (atomic under concurrency), live-session slots that
// a crashed node cannot hold for ever, and the node-local fallback while Redis is away.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { connectRedis, RedisRateStore, RedisSessionSlots } from '../../src/cluster/index.js';
import type { Identity } from '../../src/server/auth.js';
import { Limits, MemoryRateStore, MemorySessionCounter } from '../../src/server/limits.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';

function incr(store: RedisRateStore, key: string, windowMs = 60_000): Promise<{ current: number; ttl: number }> {
  return new Promise((resolve, reject) => store.incr(key, (err, r) => (err || !r ? reject(err ?? new Error('no result')) : resolve(r)), windowMs));
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Redis-backed limits shared by nodes', { timeout: 60_000 }, () => {
  let server: RedisTestServer;
  const conns: Redis[] = [];
  const slots: RedisSessionSlots[] = [];
  const connect = async (name: string) => {
    const r = connectRedis(server.url, { name });
    conns.push(r);
    await until(`${name} connected`, async () => r.status === 'ready');
    return r;
  };
  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    for (const s of slots) s.close();
    for (const c of conns) c.disconnect();
    await server?.close();
  });

  it('counts requests atomically across nodes: 30 concurrent increments are 1..30, with the window as TTL', async () => {
    const nodes = await Promise.all(['a', 'b', 'c'].map(async (n) => new RedisRateStore(await connect(`rate-${n}`), new MemoryRateStore())));
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => incr(nodes[i % 3]!, 'key:concurrent')));
    assert.deepEqual(
      results.map((r) => r.current).sort((x, y) => x - y),
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    for (const r of results) assert.ok(r.ttl > 0 && r.ttl <= 60_000, `ttl ${r.ttl}`);
  });

  it('gives a key N requests per minute in total through Limits on three nodes', async () => {
    const identity: Identity = { id: 'key:shared-budget', name: 'shared-budget', kind: 'key', rateLimitPerMinute: 4, maxLiveSessions: 0 };
    const nodes = await Promise.all(['a', 'b', 'c'].map(async (n) => new Limits(new RedisRateStore(await connect(`limits-${n}`), new MemoryRateStore()))));
    const outcomes: boolean[] = [];
    for (let i = 0; i < 9; i++) outcomes.push((await nodes[i % 3]!.takeRequest(identity)).ok);
    assert.deepEqual(outcomes, [true, true, true, true, false, false, false, false, false]);
  });

  it('caps live sessions across nodes and frees a released slot for another node', async () => {
    const a = new RedisSessionSlots(await connect('slots-a'), new MemorySessionCounter(), 'node-a');
    const b = new RedisSessionSlots(await connect('slots-b'), new MemorySessionCounter(), 'node-b');
    slots.push(a, b);
    const r1 = await a.acquire('key:cap', 2);
    const r2 = await b.acquire('key:cap', 2);
    assert.ok(r1 && r2);
    assert.equal(await a.acquire('key:cap', 2), undefined);
    assert.equal(await b.acquire('key:cap', 2), undefined);
    assert.equal(await a.held('key:cap'), 2);
    r1();
    r1(); // a second release changes nothing
    await until('slot released', async () => (await b.held('key:cap')) === 1);
    const r3 = await b.acquire('key:cap', 2);
    assert.ok(r3);
    assert.equal(await a.held('key:cap'), 2);
    // max 0 is unlimited and does not touch Redis
    assert.ok(await a.acquire('key:cap', 0));
    assert.equal(await a.held('key:cap'), 2);
  });

  it("keeps a live node's slot through many TTLs, and lets a crashed node's slot lapse", async () => {
    const ttlMs = 600;
    const holder = new RedisSessionSlots(await connect('lapse-holder'), new MemorySessionCounter(), 'holder', undefined, { ttlMs });
    const other = new RedisSessionSlots(await connect('lapse-other'), new MemorySessionCounter(), 'other', undefined, { ttlMs });
    slots.push(holder, other);
    assert.ok(await holder.acquire('key:lapse', 1));
    // the holder refreshes its slot: for three lifetimes of it, nobody else gets one
    const until3Ttl = Date.now() + 3 * ttlMs;
    let refusals = 0;
    while (Date.now() < until3Ttl) {
      assert.equal(await other.acquire('key:lapse', 1), undefined, 'the live holder keeps its slot');
      refusals++;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(refusals >= 10);
    // the holder "crashes": no release, no more refreshes; its slot lapses within about one TTL
    holder.close();
    const crashedAt = Date.now();
    let got: (() => void) | undefined;
    await until(
      'slot after the holder crashed',
      async () => {
        got = await other.acquire('key:lapse', 1);
        return got !== undefined;
      },
      5_000,
    );
    assert.ok(Date.now() - crashedAt <= 2 * ttlMs + 500, `lapsed after ${Date.now() - crashedAt} ms`);
    got!();
  });

  it("falls back to the node's own counters while Redis is down, and shares again when it returns", async () => {
    const redis = await connect('outage');
    const store = new RedisRateStore(redis, new MemoryRateStore());
    const sessions = new RedisSessionSlots(redis, new MemorySessionCounter(), 'outage-node');
    slots.push(sessions);
    assert.equal((await incr(store, 'key:outage')).current, 1);
    await server.stop();
    try {
      await until('client noticed', async () => redis.status !== 'ready');
      // answered at once from this node's counters, not an error and not a hang
      const during = await incr(store, 'key:outage');
      assert.equal(during.current, 1, 'the local counter starts its own window');
      assert.equal((await incr(store, 'key:outage')).current, 2);
      const slot = await sessions.acquire('key:outage', 1);
      assert.ok(slot, 'a live session is admitted on the local cap');
      assert.equal(await sessions.acquire('key:outage', 1), undefined, 'and the local cap holds');
      slot!();
    } finally {
      await server.start();
    }
    await until('reconnected', async () => redis.status === 'ready');
    // the server kept its data (append-only file): the shared count continues where it was
    assert.equal((await incr(store, 'key:outage')).current, 2);
  });
});
