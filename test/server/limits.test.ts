// Per-key limits against a real server: 429 + Retry-After on HTTP in both error shapes, close code
// 4429 with a reason on /ws, keys with their own limits from the config file, keys kept out of logs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { KeyRing } from '../../src/server/auth.js';
import { CLOSE_RATE_LIMITED, Limits, MemoryRateStore, MemorySessionCounter } from '../../src/server/limits.js';
import { configSchema } from '../../src/config/schema.js';
import { startServer, type TestServer } from '../helpers/server.js';

interface Refusal {
  code: number;
  reason: string;
  messages: Array<Record<string, unknown>>;
}

/** Opens /ws; resolves with the socket once open, or with its close when the server refuses it. */
function openWs(url: string): Promise<{ socket: WebSocket; closed: Promise<Refusal> }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const messages: Array<Record<string, unknown>> = [];
    socket.on('message', (d) => messages.push(JSON.parse(String(d)) as Record<string, unknown>));
    const closed = new Promise<Refusal>((res) => socket.on('close', (code, reason) => res({ code, reason: reason.toString(), messages })));
    socket.once('open', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

/**
 * Whether the server admits a session: an admitted one answers an unknown message type with an error,
 * a refused one closes without handling it.
 */
async function admitted(url: string): Promise<boolean> {
  const { socket, closed } = await openWs(url);
  const answer = new Promise<'admitted'>((resolve) => socket.on('message', (d) => JSON.parse(String(d)).code === 'unknown_type' && resolve('admitted')));
  socket.send(JSON.stringify({ type: 'hello' }));
  const outcome = await Promise.race([answer, closed.then(() => 'refused' as const)]);
  socket.close();
  await closed;
  return outcome === 'admitted';
}

describe('limits (unit)', () => {
  it('matches keys by value and names them; unknown and prefix keys do not match', () => {
    const ring = new KeyRing(
      configSchema.parse({
        server: {
          apiKeys: ['plain-key-123'],
          keys: [{ name: 'team-a', key: 'sk-team-a-secret', rateLimitPerMinute: 5, maxLiveSessions: 2 }],
          rateLimitPerMinute: 60,
        },
      }).server,
    );
    assert.deepEqual(ring.match('sk-team-a-secret'), { id: 'key:team-a', name: 'team-a', kind: 'key', rateLimitPerMinute: 5, maxLiveSessions: 2 });
    assert.equal(ring.match('plain-key-123')?.name, 'key1');
    assert.equal(ring.match('plain-key-123')?.rateLimitPerMinute, 60);
    assert.equal(ring.match('sk-team-a-secre'), undefined);
    assert.equal(ring.match('sk-team-a-secretX'), undefined);
    assert.equal(ring.match(''), undefined);
    assert.equal(ring.anonymous('10.0.0.1').id, 'ip:10.0.0.1');
  });

  it('refuses a config with two keys of the same name', () => {
    const server = configSchema.parse({
      server: {
        keys: [
          { name: 'a', key: 'aaaaaaaa1' },
          { name: 'a', key: 'aaaaaaaa2' },
        ],
      },
    }).server;
    assert.throws(() => new KeyRing(server), /used twice/);
  });

  it('counts one budget per identity and frees live-session slots on release', async () => {
    const limits = new Limits(new MemoryRateStore(), new MemorySessionCounter());
    const id = { id: 'key:x', name: 'x', kind: 'key' as const, rateLimitPerMinute: 2, maxLiveSessions: 1 };
    const first = await limits.admitLive(id);
    assert.equal(first.ok, true);
    const second = await limits.admitLive(id);
    assert.equal(second.ok, false);
    assert.equal(!second.ok && second.code, 'too_many_sessions');
    if (first.ok) first.release();
    const third = await limits.admitLive(id);
    assert.equal(third.ok, false, 'the third request in the minute is over the rate budget');
    assert.equal(!third.ok && third.code, 'rate_limited');
    assert.ok(!third.ok && third.retryAfter > 0 && third.retryAfter <= 60);
    const other = await limits.admitLive({ ...id, id: 'key:y' });
    assert.equal(other.ok, true, 'another key has its own budget');
  });
});

describe('limits on a real server, keys from the config file', () => {
  let server: TestServer;
  const small = 'sk-small-0123456789';
  const big = 'sk-big-0123456789';
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'earshot-limits-'));
    const file = join(dir, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({
        server: {
          rateLimitPerMinute: 1000,
          maxLiveSessions: 5,
          keys: [
            { name: 'small', key: small, rateLimitPerMinute: 3, maxLiveSessions: 1 },
            { name: 'big', key: big, rateLimitPerMinute: 50 },
          ],
        },
        history: { enabled: false },
      }),
    );
    // no model is needed to count requests: the server only has to listen
    server = await startServer({ model: 'no-such-model-for-limits', args: ['--config', file], waitFor: 'listening', env: { EARSHOT_LOG_LEVEL: 'info' } });
  });
  after(async () => server?.stop());

  it('answers 429 with Retry-After in the OpenAI shape on /v1 and the seed shape elsewhere, per key', async () => {
    const auth = (key: string) => ({ authorization: `Bearer ${key}` });
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${server.url}/v1/models`, { headers: auth(small) })).status, 200);
    const over = await fetch(`${server.url}/v1/models`, { headers: auth(small) });
    assert.equal(over.status, 429);
    const retryAfter = Number(over.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    const body = (await over.json()) as { error: { type: string; code: string; message: string } };
    assert.equal(body.error.type, 'rate_limit_error');
    assert.equal(body.error.code, 'rate_limit_exceeded');
    assert.match(body.error.message, /3 requests per minute/);

    // the same budget covers /api/* (dashboard endpoints), answered in the seed shape
    const api = await fetch(`${server.url}/api/stats`, { headers: { 'x-api-key': small } });
    assert.equal(api.status, 429);
    assert.ok(Number(api.headers.get('retry-after')) >= 1);
    assert.deepEqual(Object.keys((await api.json()) as object).sort(), ['error', 'success']);

    // another key has its own, larger budget
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${server.url}/api/stats`, { headers: auth(big) })).status, 200);
    // probes are never limited
    assert.notEqual((await fetch(`${server.url}/health`)).status, 429);
  });

  it("refuses a WebSocket over the key's live-session limit with close 4429 and a reason", async () => {
    const ws = `${server.url.replace('http', 'ws')}/ws`;
    const first = await openWs(`${ws}?api_key=${big}`);
    const second = await openWs(`${ws}?api_key=${big}`);
    assert.equal(first.socket.readyState, WebSocket.OPEN);
    assert.equal(second.socket.readyState, WebSocket.OPEN);
    first.socket.close();
    second.socket.close();
    await Promise.all([first.closed, second.closed]);

    // "small" allows one live session but is already over its request budget: refused as rate limited
    const limited = await openWs(`${ws}?api_key=${small}`);
    const refusal = await limited.closed;
    assert.equal(refusal.code, CLOSE_RATE_LIMITED);
    assert.match(refusal.reason, /^rate_limited: retry after \d+ s$/);
    assert.equal(refusal.messages[0]?.code, 'rate_limited');
    assert.equal(refusal.messages[0]?.fatal, true);
    assert.ok(Number(refusal.messages[0]?.retry_after) >= 1);
  });

  it('keys never appear in the log, by any way of sending them', () => {
    const log = server.output();
    assert.ok(log.includes('"url":"/ws?api_key=***"'), 'request lines are logged, with the key masked');
    assert.ok(!log.includes(small) && !log.includes(big), 'no key in the output');
  });
});

describe('concurrent live sessions per key', () => {
  let server: TestServer;
  const key = 'sk-one-session-0123';
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'earshot-limits-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ server: { keys: [{ name: 'solo', key, maxLiveSessions: 1 }] }, history: { enabled: false } }));
    server = await startServer({ model: 'no-such-model-for-limits', args: ['--config', file], waitFor: 'listening' });
  });
  after(async () => server?.stop());

  it('a second session of the same key is refused while the first is open, and admitted after it closes', async () => {
    const ws = `${server.url.replace('http', 'ws')}/ws?api_key=${key}`;
    const first = await openWs(ws);
    const second = await openWs(ws);
    const refusal = await second.closed;
    assert.equal(refusal.code, CLOSE_RATE_LIMITED);
    assert.match(refusal.reason, /^too_many_sessions/);
    assert.equal(refusal.messages[0]?.code, 'too_many_sessions');
    assert.equal(first.socket.readyState, WebSocket.OPEN, 'the first session is not disturbed');
    first.socket.close();
    await first.closed;
    // the server frees the slot when it sees the close; retry until a session is admitted (bounded)
    const deadline = Date.now() + 5000;
    while (!(await admitted(ws))) assert.ok(Date.now() < deadline, 'slot not released after the first session closed');
  });
});
