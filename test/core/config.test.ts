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
  assert.equal(c.llm.mode, 'chat');
});

test("the seeds' environment names, a file, and flags layer in that order", () => {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-config-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ server: { port: 9000 }, model: { name: 'small', threads: 3 }, languages: { ko: { model: 'ko-ctc', engine: 'ctc' } } }));
  const c = loadConfig({ file, env: { SERVER_PORT: '8003', MODEL_NAME: 'large-v3-turbo', WHISPER_DEVICE: 'cpu', SERVER_HOST: '127.0.0.1' }, flags: { model: { threads: '4' } } });
  assert.equal(c.server.port, 8003);
  assert.equal(c.server.host, '127.0.0.1');
  assert.equal(c.model.name, 'large-v3-turbo');
  assert.equal(c.model.device, 'cpu');
  assert.equal(c.model.threads, 4);
  assert.deepEqual(c.languages.ko, { model: 'ko-ctc', engine: 'ctc' });
});

test('bad values are reported field by field; secrets never leave publicConfig', () => {
  assert.throws(() => loadConfig({ env: { SERVER_PORT: '99999', WHISPER_DEVICE: 'tpu' } }), /server\.port[\s\S]*model\.device/);
  const c = loadConfig({ env: { EARSHOT_API_KEYS: 'k1,k2', EARSHOT_LLM_API_KEY: 'secret' } });
  const shown = JSON.stringify(publicConfig(c));
  assert.ok(!shown.includes('k1') && !shown.includes('secret'), shown);
});
