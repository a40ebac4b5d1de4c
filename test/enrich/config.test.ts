// Enrichment config: env names (Earshot's and seed-style VLLM_*), URL normalisation, defaults,
// the bridge from the server's config, and the API key never shown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enrichConfigFromEnv, normalizeBaseUrl, parseEnrichConfig, publicEnrichConfig } from '../../src/config/enrichment.js';
import { resolveLanguage } from '../../src/pipeline/enrich/language.js';

test('base URLs: a bare host gets /v1, trailing slashes go, hosted prefixes stay', () => {
  assert.equal(normalizeBaseUrl('http://localhost:8001'), 'http://localhost:8001/v1');
  assert.equal(normalizeBaseUrl('http://localhost:8001/'), 'http://localhost:8001/v1');
  assert.equal(normalizeBaseUrl('http://localhost:8001/v1/'), 'http://localhost:8001/v1');
  assert.equal(normalizeBaseUrl('localhost:11434/v1'), 'http://localhost:11434/v1');
  assert.equal(normalizeBaseUrl('https://api.example.com/openai/v1'), 'https://api.example.com/openai/v1');
});

test('no URL in the environment: no LLM, built-in only, with the default categories', () => {
  const c = enrichConfigFromEnv({});
  assert.equal(c.llm, null);
  assert.equal(c.enabled, true);
  assert.equal(c.fallback, true);
  assert.deepEqual(c.categories, ['person', 'place', 'organization', 'product', 'date_time', 'topic', 'other']);
});

test('EARSHOT_LLM_* variables, with defaults for the rest', () => {
  const c = enrichConfigFromEnv({
    EARSHOT_LLM_URL: 'http://gpu-box:8001',
    EARSHOT_LLM_API_KEY: 'sk-1',
    EARSHOT_LLM_MODEL: 'Qwen/Qwen2.5-7B-Instruct',
    EARSHOT_LLM_MODE: 'completions',
    EARSHOT_LLM_TIMEOUT_MS: '2500',
    EARSHOT_LLM_STRUCTURED_OUTPUT: 'guided_json',
    EARSHOT_ENRICH_CATEGORIES: 'person, place ,other',
    EARSHOT_ENRICH_FALLBACK: 'false',
  });
  assert.deepEqual(c.llm, {
    baseUrl: 'http://gpu-box:8001/v1',
    apiKey: 'sk-1',
    model: 'Qwen/Qwen2.5-7B-Instruct',
    mode: 'completions',
    timeoutMs: 2500,
    maxConcurrency: 2,
    structuredOutput: 'guided_json',
    maxTokens: 256,
    temperature: 0,
  });
  assert.deepEqual(c.categories, ['person', 'place', 'other']);
  assert.equal(c.fallback, false);
});

test('breaker and queue limits from the environment', () => {
  const c = enrichConfigFromEnv({ EARSHOT_ENRICH_BREAKER_FAILURES: '5', EARSHOT_ENRICH_QUEUE_MAX: '8' });
  assert.deepEqual(c.breaker, { failureThreshold: 5, cooldownMs: 30_000 });
  assert.equal(c.queue.maxPending, 8);
});

test('seed-style VLLM_URL / VLLM_MODEL are accepted; EARSHOT_ names win', () => {
  const seed = enrichConfigFromEnv({ VLLM_URL: 'http://vllm:8000', VLLM_MODEL: 'meta-llama/Llama-2-7b-hf' });
  assert.equal(seed.llm?.baseUrl, 'http://vllm:8000/v1');
  assert.equal(seed.llm?.model, 'meta-llama/Llama-2-7b-hf');
  const both = enrichConfigFromEnv({ VLLM_URL: 'http://vllm:8000', EARSHOT_LLM_URL: 'http://other:9000/v1' });
  assert.equal(both.llm?.baseUrl, 'http://other:9000/v1');
});

test('bad values are reported by name', () => {
  assert.throws(() => enrichConfigFromEnv({ EARSHOT_LLM_URL: 'http://x', EARSHOT_LLM_TIMEOUT_MS: 'soon' }), /EARSHOT_LLM_TIMEOUT_MS/);
  assert.throws(() => enrichConfigFromEnv({ EARSHOT_LLM_URL: 'http://x', EARSHOT_LLM_MODE: 'telepathy' }));
  assert.throws(() => enrichConfigFromEnv({ EARSHOT_ENRICH: 'maybe' }), /EARSHOT_ENRICH/);
});

test('the public config masks the API key', () => {
  const c = parseEnrichConfig({ llm: { baseUrl: 'http://x:1', apiKey: 'sk-secret' } });
  const shown = JSON.stringify(publicEnrichConfig(c));
  assert.ok(!shown.includes('sk-secret'));
  assert.match(shown, /"apiKey":"\*\*\*"/);
});

test('language: hints in several spellings, else the script decides', () => {
  assert.equal(resolveLanguage('hello', 'ko'), 'ko');
  assert.equal(resolveLanguage('안녕', 'en-US'), 'en');
  assert.equal(resolveLanguage('안녕', 'KR'), 'ko');
  assert.equal(resolveLanguage('오늘 Seoul에서 meeting 있어요', undefined), 'ko');
  assert.equal(resolveLanguage('Meeting in 서울 today', 'auto'), 'en');
  assert.equal(resolveLanguage('12345', undefined), 'en');
});
