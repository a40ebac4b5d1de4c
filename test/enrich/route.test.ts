// POST /api/enrich and GET /api/enrich/state inside the real Fastify app (auth hook, error
// rendering), with the Enricher pointed at the local OpenAI-compatible server.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/schema.js';
import { createServices, type CreatedServices } from '../../src/app/services.js';
import { ModelStore } from '../../src/models/store.js';
import { buildApp } from '../../src/server/app.js';
import type { AppContext } from '../../src/server/context.js';
import { enrichRoutes } from '../../src/server/routes/enrich.js';
import { Enricher } from '../../src/pipeline/enrich/index.js';
import { FakeLlm, keywordModel } from '../helpers/fake-llm.js';

let fake: FakeLlm;
let app: FastifyInstance;
let home: string;
let base: string;
let enricher: Enricher;
let services: CreatedServices;

before(async () => {
  fake = await FakeLlm.start();
  fake.respondWith(keywordModel({ 서울: 'place', 회의: 'topic' }));
  home = await mkdtemp(join(tmpdir(), 'earshot-enrich-route-'));
  const config = loadConfig({ env: {}, flags: { server: { apiKeys: ['k1'] }, model: { idleUnloadSeconds: 0 }, history: { enabled: false } } });
  const log = pino({ level: 'silent' });
  services = await createServices(config, { log, store: new ModelStore(home) });
  const ctx: AppContext = { ...services.services, log };
  enricher = new Enricher({ llm: { baseUrl: fake.url } });
  app = await buildApp({ ctx, plugins: [enrichRoutes(enricher)] });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await app.close();
  await services.close();
  await fake.close();
  await rm(home, { recursive: true, force: true });
});

const post = (body: unknown, key = 'k1') =>
  fetch(`${base}/api/enrich`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) });

test('POST /api/enrich returns keywords from the LLM', async () => {
  const res = await post({ text: '내일 서울에서 회의를 합니다', language: 'ko', utteranceId: 'u1' });
  assert.equal(res.status, 200);
  const body = (await res.json()) as Record<string, any>;
  assert.equal(body.success, true);
  assert.equal(body.source, 'llm');
  assert.equal(body.utterance_id, 'u1');
  assert.deepEqual(Object.keys(body).sort(), [
    'categories',
    'fallback_reason',
    'keywords',
    'language',
    'latency_ms',
    'model',
    'session_id',
    'source',
    'status',
    'success',
    'utterance_id',
  ]);
  assert.deepEqual(
    body.keywords.map((k: { text: string; category: string }) => [k.text, k.category]),
    [
      ['서울', 'place'],
      ['회의', 'topic'],
    ],
  );
  assert.deepEqual(body.categories, ['place', 'topic']);
});

test('POST /api/enrich falls back when the LLM errors, and says so', async () => {
  fake.script({ kind: 'error', status: 500, message: 'engine dead' });
  const body = (await (await post({ text: 'Alice flew to Seoul on Monday.' })).json()) as Record<string, any>;
  assert.equal(body.source, 'builtin');
  assert.equal(body.fallback_reason, 'http_error');
  assert.deepEqual(body.keywords.map((k: { text: string }) => k.text).sort(), ['Alice', 'Monday', 'Seoul']);
});

test('bad bodies are 400 in the seed error shape; the API key is enforced', async () => {
  const missing = await post({ language: 'ko' });
  assert.equal(missing.status, 400);
  assert.deepEqual(await missing.json(), {
    success: false,
    error: { code: 'bad_request', message: 'text: Invalid input: expected string, received undefined' },
  });
  const long = await post({ text: 'x'.repeat(10_001) });
  assert.equal(long.status, 400);
  assert.match(((await long.json()) as { error: { message: string } }).error.message, /longer than 10000/);
  assert.equal((await post({ text: 'hi' }, 'wrong')).status, 401);
});

test('GET /api/enrich/state reports the LLM state without the API key', async () => {
  const res = await fetch(`${base}/api/enrich/state`, { headers: { authorization: 'Bearer k1' } });
  assert.equal(res.status, 200);
  const s = (await res.json()) as Record<string, any>;
  assert.equal(s.configured, true);
  assert.equal(s.url, fake.url);
  assert.equal(s.model, 'Qwen/Qwen2.5-7B-Instruct');
  assert.equal(s.breaker.state, 'closed');
  assert.equal(typeof s.errorRate, 'number');
  assert.equal(s.dropped, 0);
});
