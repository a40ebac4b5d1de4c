// The throwaway Redis the job and cluster tests run on: it answers, keeps its data across a stop and
// start on the same port (as a restarted production Redis with its append-only file does), and is gone
// after close().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { startRedisServer } from '../helpers/redis-server.js';

test('redis test server: data survives stop/start, a crash is a crash, close removes it', async () => {
  const redis = await startRedisServer();
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: true });
  client.on('error', () => {}); // refused connections while it is stopped are the point here
  try {
    await client.connect();
    await client.set('earshot:probe', 'kept');
    assert.equal(await client.config('GET', 'maxmemory-policy').then((r) => (r as string[])[1]), 'noeviction');

    await redis.stop();
    assert.equal(redis.running, false);
    await assert.rejects(client.get('earshot:probe'));

    await redis.start();
    assert.equal(redis.running, true);
    // ioredis reconnects by itself once the port answers again
    const deadline = Date.now() + 10_000;
    let value: string | null = null;
    while (Date.now() < deadline) {
      try {
        value = await client.get('earshot:probe');
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.equal(value, 'kept');

    const pid = redis.pid;
    await redis.kill();
    assert.equal(redis.running, false);
    assert.throws(() => process.kill(pid!, 0));
  } finally {
    client.disconnect();
    await redis.close();
  }
  assert.equal(existsSync(redis.dir), false);
});
