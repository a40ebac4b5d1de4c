// Routing by language and by use (batch vs live), from the one config schema. Pure: the store is a
// temporary folder and only whether a model is installed matters, so nothing is loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/schema.js';
import { EngineManager } from '../../src/engines/manager.js';
import { ModelStore } from '../../src/models/store.js';

function storeWith(...ids: string[]): ModelStore {
  const store = new ModelStore(mkdtempSync(join(tmpdir(), 'earshot-routing-')));
  for (const id of ids) {
    mkdirSync(join(store.modelsDir, id), { recursive: true });
    writeFileSync(join(store.modelsDir, id, 'manifest.json'), JSON.stringify({ id, format: 'sherpa-onnx', engine: 'sherpa', file: 'x', languages: ['en'] }));
  }
  return store;
}

function manager(store: ModelStore, config: Record<string, unknown> = {}, env: Record<string, string> = {}): EngineManager {
  return new EngineManager({ config: loadConfig({ env: { EARSHOT_DEVICE: 'cpu', ...env }, flags: config }), store });
}

test("model.live 'auto' on a CPU: English live sessions on Moonshine when installed (tiny before base), batch on the default", async () => {
  const m = manager(storeWith('moonshine-base-en', 'moonshine-tiny-en'));
  await m.load('base', { makeDefault: true }).catch(() => undefined); // no such model here: only the default id matters
  assert.equal(m.routeFor({ language: 'en', use: 'live' }), 'moonshine-tiny-en');
  assert.equal(m.routeFor({ language: 'en', use: 'batch' }), 'base');
  assert.equal(m.routeFor({ language: 'en' }), 'base', 'batch is the default use');
  assert.equal(m.routeFor({ language: 'ko', use: 'live' }), 'base', 'Moonshine is English only');
  assert.equal(m.routeFor({ use: 'live' }), 'base', 'no language: a multilingual default may hear anything');
  assert.equal(m.routeFor({ language: 'en', use: 'live', model: 'tiny.en' }), 'tiny.en', 'an explicit model wins');
  assert.equal(manager(storeWith('moonshine-tiny-en')).routeFor({ language: 'en', use: 'live' }), 'moonshine-tiny-en');
  assert.equal(manager(storeWith('moonshine-base-en')).routeFor({ language: 'en', use: 'live' }), 'moonshine-base-en');
  await m.close();
});

test("'auto' falls back to the default when no Moonshine is installed or the device is CUDA", () => {
  const none = manager(storeWith());
  assert.equal(none.routeFor({ language: 'en', use: 'live' }), undefined, 'no default loaded, nothing installed');
  const cuda = new EngineManager({ config: loadConfig({ env: { EARSHOT_DEVICE: 'cuda' } }), store: storeWith('moonshine-base-en') });
  assert.notEqual(cuda.routeFor({ language: 'en', use: 'live' }), 'moonshine-base-en');
});

test('language routes per use, in the config file shape; model.live set explicitly', () => {
  const m = manager(storeWith('moonshine-base-en'), {
    model: { live: 'tiny.en' },
    languages: { ko: { batch: 'ko-whisper', live: 'ko-zipformer' }, en: { model: 'base.en' }, ja: { live: 'ja-live' } },
  });
  assert.equal(m.routeFor({ language: 'ko', use: 'batch' }), 'ko-whisper');
  assert.equal(m.routeFor({ language: 'ko', use: 'live' }), 'ko-zipformer');
  assert.equal(m.routeFor({ language: 'en', use: 'live' }), 'base.en', 'a language route for any use beats the live default');
  assert.equal(m.routeFor({ language: 'fr', use: 'live' }), 'tiny.en', 'model.live for languages without a route');
  assert.equal(m.routeFor({ language: 'ja', use: 'live' }), 'ja-live');
  assert.equal(m.routeFor({ language: 'ja', use: 'batch' }), undefined, 'ja has no batch route and no default is loaded');
  assert.equal(loadConfig({ env: { EARSHOT_LIVE_MODEL: 'moonshine-tiny-en' } }).model.live, 'moonshine-tiny-en');
  assert.throws(() => loadConfig({ env: {}, flags: { languages: { ko: {} } } }), /batch model or a live model/);
});
