import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, publicConfig } from '../../src/config/schema.js';

test('every section gets its defaults when nothing is configured', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.server.port, 8000);
  assert.equal(c.model.name, 'base');
  assert.equal(c.limits.maxUploadBytes, 100 * 1024 * 1024);
  assert.equal(c.filter.enabled, true);
  assert.equal(c.history.retentionDays, 30);
  assert.equal(c.enrichment.enabled, true);
  assert.equal(c.enrichment.llm, null);
  assert.equal(c.streaming.partials, true);
});

test("the seeds' environment names, a file, and flags layer in that order", () => {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-config-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ server: { port: 9000 }, model: { name: 'small', threads: 3 }, languages: { ko: { model: 'ko-ctc' } } }));
  const c = loadConfig({
    file,
    env: { SERVER_PORT: '8003', MODEL_NAME: 'large-v3-turbo', WHISPER_DEVICE: 'cpu', SERVER_HOST: '127.0.0.1' },
    flags: { model: { threads: '4' } },
  });
  assert.equal(c.server.port, 8003);
  assert.equal(c.server.host, '127.0.0.1');
  assert.equal(c.model.name, 'large-v3-turbo');
  assert.equal(c.model.device, 'cpu');
  assert.equal(c.model.threads, 4);
  assert.deepEqual(c.languages.ko, { model: 'ko-ctc' });
});

test('bad values are reported field by field; secrets never leave publicConfig', () => {
  assert.throws(() => loadConfig({ env: { SERVER_PORT: '99999', WHISPER_DEVICE: 'tpu' } }), /server\.port[\s\S]*model\.device/);
  const c = loadConfig({ env: { EARSHOT_API_KEYS: 'k1,k2', EARSHOT_LLM_API_KEY: 'secret' } });
  const shown = JSON.stringify(publicConfig(c));
  assert.ok(!shown.includes('k1') && !shown.includes('secret'), shown);
});

test('a language route names only its model: the engine comes from the model manifest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-config-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ languages: { ko: { model: 'ko-ctc', engine: 'ctc' } } }));
  assert.throws(() => loadConfig({ file, env: {} }), /languages\.ko[\s\S]*engine/);
});

test('enrichment: env, the legacy llm section of a file, and flags meet in one section', () => {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-config-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ llm: { url: 'http://from-file:8001', timeoutMs: 4000 } }));
  const c = loadConfig({ file, env: { EARSHOT_LLM_MAX_CONCURRENCY: '4', EARSHOT_ENRICH: 'false' } });
  assert.equal(c.enrichment.enabled, false);
  assert.equal(c.enrichment.llm?.baseUrl, 'http://from-file:8001/v1');
  assert.equal(c.enrichment.llm?.timeoutMs, 4000);
  assert.equal(c.enrichment.llm?.maxConcurrency, 4);
  const flagged = loadConfig({ file, env: { EARSHOT_LLM_URL: 'http://from-env:1' }, flags: { enrichment: { llm: { baseUrl: 'http://from-flags:2' } } } });
  assert.equal(flagged.enrichment.llm?.baseUrl, 'http://from-flags:2/v1');
  assert.equal(loadConfig({ env: {} }).enrichment.llm, null);
});

test('the wakeword section of a shared file is checked by name and its API key masked', () => {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-config-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ wakeword: { wakeword_threshold: 0.6, api_key: 'listen-secret' } }));
  const c = loadConfig({ file, env: {} });
  assert.equal(c.wakeword?.threshold, 0.6);
  assert.ok(!JSON.stringify(publicConfig(c)).includes('listen-secret'));
  writeFileSync(file, JSON.stringify({ wakeword: { loudness: 3 } }));
  assert.throws(() => loadConfig({ file, env: {} }), /wakeword[\s\S]*unknown setting "loudness"/);
});
