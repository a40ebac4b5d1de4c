// /openapi.json from the real app: OpenAPI 3.1, every route described with its request and error
// shapes, the viewer at /docs served from the package (no CDN). Schemathesis runs the document against
// a live server with a model in .ci/schemathesis (see docs/operations.md).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { createServices, type CreatedServices } from '../../src/app/services.js';
import { loadConfig } from '../../src/config/schema.js';
import { ModelStore } from '../../src/models/store.js';
import { buildApp } from '../../src/server/app.js';
import type { AppContext } from '../../src/server/context.js';
import { metricsRoute } from '../../src/server/metrics.js';
import { serverPlugins } from '../../src/server/plugins.js';

interface Operation {
  summary?: string;
  tags?: string[];
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
  requestBody?: { content: Record<string, unknown> };
  parameters?: unknown[];
}

describe('OpenAPI document', () => {
  let app: FastifyInstance;
  let base: string;
  let home: string;
  let services: CreatedServices;
  const routes: Array<{ method: string; url: string }> = [];
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'earshot-openapi-'));
    const config = loadConfig({ env: {}, flags: { server: { apiKeys: ['sk-openapi-test'] }, model: { idleUnloadSeconds: 0 } } });
    const log = pino({ level: 'silent' });
    services = await createServices(config, { log, store: new ModelStore(home) });
    const ctx: AppContext = { ...services.services, log };
    const plugins = await serverPlugins(ctx);
    plugins.push(metricsRoute(services.services.metrics!, config.metrics));
    app = await buildApp({ ctx, plugins });
    // every route the app serves, from Fastify itself
    // every route the app serves, from Fastify's own route tree
    const stack: Array<{ depth: number; path: string }> = [];
    for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
      const m = /^(.*?)── (\S+)(?: \(([A-Z, ]+)\))?/.exec(line);
      if (!m) continue;
      const depth = m[1]!.length;
      while (stack.length && stack[stack.length - 1]!.depth >= depth) stack.pop();
      const path = (stack[stack.length - 1]?.path ?? '') + m[2]!;
      stack.push({ depth, path });
      for (const method of m[3]?.split(', ') ?? []) routes.push({ method, url: path.replace(/^\/\//, '/') });
    }
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await app?.close();
    await services?.close();
    await rm(home, { recursive: true, force: true });
  });

  it('is OpenAPI 3.1, public, and describes every route with request and error shapes', async () => {
    const res = await fetch(`${base}/openapi.json`);
    assert.equal(res.status, 200, 'served without an API key');
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, Operation>> };
    assert.equal(doc.openapi, '3.1.0');
    const served = routes.filter((r) => r.method !== 'HEAD' && !r.url.startsWith('/docs'));
    assert.ok(served.length >= 20, `found ${served.length} routes`);
    for (const { method, url } of served) {
      const path = url.replace(/:([A-Za-z_]+)/g, '{$1}');
      const op = doc.paths[path]?.[method.toLowerCase()];
      assert.ok(op, `${method} ${url} is in the document`);
      assert.ok(!op.tags?.includes('undocumented'), `${method} ${url} is described`);
      assert.ok(op.summary && op.summary.length > 5, `${method} ${url} has a summary`);
      const statuses = Object.keys(op.responses);
      assert.ok(
        statuses.some((s) => /^[12]/.test(s)),
        `${method} ${url} documents its success`,
      );
      if (url !== '/openapi.json') assert.ok(statuses.includes('4XX') || statuses.includes('401'), `${method} ${url} documents its errors`);
      if (method === 'POST') assert.ok(op.requestBody, `${method} ${url} documents its body`);
      if (url.includes(':')) assert.ok(op.parameters?.length, `${method} ${url} documents its path parameters`);
    }
    // errors in the family's shape: OpenAI's under /v1, the seed shape elsewhere
    const v1 = doc.paths['/v1/audio/transcriptions']!.post!.responses['429']!.content!['application/json']!.schema;
    assert.deepEqual((v1 as { required: string[] }).required, ['error']);
    const seed = doc.paths['/transcribe']!.post!.responses['4XX']!.content!['application/json']!.schema;
    assert.deepEqual((seed as { required: string[] }).required, ['success', 'error']);
  });

  it('serves the interactive docs and their assets from the package, not a CDN', async () => {
    const page = await fetch(`${base}/docs/`);
    assert.equal(page.status, 200);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.length >= 3);
    for (const a of assets) {
      assert.ok(!/^(https?:)?\/\//.test(a), `${a} is local`);
      const res = await fetch(new URL(a, `${base}/docs/`));
      assert.equal(res.status, 200, a);
    }
  });
});
