// The Enricher's resilience against a real (local) OpenAI-compatible server: fallback tagging for
// every failure, the circuit breaker's open/half-open/closed cycle, drop-oldest under overload,
// grounding and lexicon handling of LLM answers, state() for /health, and fire-and-forget delivery.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Enricher } from '../../src/pipeline/enrich/index.js';
import type { EnrichConfigInput } from '../../src/config/enrichment.js';
import { Lexicon } from '../../src/pipeline/enrich/lexicon.js';
import { FakeLlm, keywordModel, refusedUrl } from '../helpers/fake-llm.js';

const GOOD = '{"keywords":[{"text":"서울","category":"place"},{"text":"회의","category":"topic"}],"categories":["place","topic"]}';
const KO = '내일 서울에서 회의를 합니다.';

let fake: FakeLlm;
before(async () => {
  fake = await FakeLlm.start();
});
after(() => fake.close());

function enricher(over: EnrichConfigInput = {}, options: ConstructorParameters<typeof Enricher>[1] = {}): Enricher {
  return new Enricher({ ...over, llm: { baseUrl: fake.url, timeoutMs: 2000, ...over.llm } }, options);
}

test('no LLM configured: the built-in extractor answers, untagged', async () => {
  const e = new Enricher();
  const r = await e.enrich({ text: KO, language: 'ko', utteranceId: 'u1', sessionId: 's1' });
  assert.equal(r.status, 'ok');
  assert.equal(r.source, 'builtin');
  assert.equal(r.fallbackReason, undefined);
  assert.deepEqual(r.keywords.map((k) => k.text).sort(), ['내일', '서울', '회의'].sort());
  assert.deepEqual(r.categories, ['place', 'date_time', 'topic']);
  assert.equal(r.utteranceId, 'u1');
  assert.equal(r.sessionId, 's1');
  const s = e.state();
  assert.equal(s.configured, false);
  assert.equal(s.model, null);
});

test('a healthy LLM: source llm with model and latency, keywords scored in the model order', async () => {
  fake.script({ kind: 'answer', content: GOOD });
  const e = enricher();
  const r = await e.enrich({ text: KO });
  assert.equal(r.source, 'llm');
  assert.equal(r.language, 'ko', 'language guessed from the script');
  assert.equal(r.model, 'Qwen/Qwen2.5-7B-Instruct');
  assert.equal(typeof r.latencyMs, 'number');
  assert.deepEqual(r.keywords, [
    { text: '서울', category: 'place', score: 1 },
    { text: '회의', category: 'topic', score: 0.5 },
  ]);
  assert.deepEqual(r.categories, ['place', 'topic']);
  const s = e.state();
  assert.equal(s.reachable, true);
  assert.equal(s.model, 'Qwen/Qwen2.5-7B-Instruct');
  assert.equal(typeof s.lastLatencyMs, 'number');
  assert.equal(s.errorRate, 0);
});

test('every LLM failure falls back to the built-in extractor, tagged with the reason', async () => {
  const cases: Array<[Parameters<FakeLlm['script']>[0], string]> = [
    [{ kind: 'error', status: 500, message: 'boom' }, 'http_error'],
    [{ kind: 'answer', content: 'Sorry, I do not understand.' }, 'invalid_output'],
    [{ kind: 'answer', content: GOOD, delayMs: 5000 }, 'timeout'],
    [{ kind: 'drop', when: 'mid-body' }, 'network_error'],
    [{ kind: 'html', body: '<h1>502 Bad Gateway</h1>' }, 'http_error'],
  ];
  for (const [script, reason] of cases) {
    fake.script(script);
    const r = await enricher({ llm: { baseUrl: fake.url, timeoutMs: 300, model: 'Qwen/Qwen2.5-7B-Instruct' } }).enrich({ text: KO, language: 'ko' });
    assert.equal(r.status, 'ok', reason);
    assert.equal(r.source, 'builtin', reason);
    assert.equal(r.fallbackReason, reason);
    assert.ok(r.error && r.error.length > 0);
    assert.ok(
      r.keywords.some((k) => k.text === '서울'),
      `${reason}: built-in keywords present`,
    );
  }
});

test('connection refused: network_error fallback and reachable=false', async () => {
  const e = new Enricher({ llm: { baseUrl: await refusedUrl() } });
  const r = await e.enrich({ text: 'Alice met Bob in Seoul.', language: 'en' });
  assert.equal(r.source, 'builtin');
  assert.equal(r.fallbackReason, 'network_error');
  assert.match(r.error!, /ECONNREFUSED/);
  assert.equal(e.state().reachable, false);
  assert.equal(e.state().errorRate, 1);
});

test('fallback disabled: the result says unavailable, with no keywords', async () => {
  fake.script({ kind: 'error', status: 503, message: 'overloaded' });
  const r = await enricher({ fallback: false }).enrich({ text: KO });
  assert.equal(r.status, 'unavailable');
  assert.equal(r.source, 'none');
  assert.deepEqual(r.keywords, []);
  assert.equal(r.fallbackReason, 'http_error');
});

test('circuit breaker: opens after N consecutive failures, probes once after the cool-down, closes on success', async () => {
  let now = 1_000_000;
  const e = enricher({ breaker: { failureThreshold: 2, cooldownMs: 10_000 } }, { now: () => now });
  fake.requests.length = 0;
  fake.script({ kind: 'error', status: 500, message: 'down' }, { kind: 'error', status: 500, message: 'down' });

  assert.equal((await e.enrich({ text: KO })).fallbackReason, 'http_error');
  assert.equal(e.state().breaker.state, 'closed');
  assert.equal((await e.enrich({ text: KO })).fallbackReason, 'http_error');
  assert.equal(e.state().breaker.state, 'open');
  assert.equal(e.state().breaker.retryAt, now + 10_000);

  const sent = fake.generations.length;
  const skipped = await e.enrich({ text: KO });
  assert.equal(skipped.fallbackReason, 'breaker_open');
  assert.equal(skipped.source, 'builtin');
  assert.equal(fake.generations.length, sent, 'an open breaker sends nothing');

  // cool-down passes: one probe goes through while the others keep falling back
  now += 10_001;
  assert.equal(e.state().breaker.state, 'half_open');
  fake.script({ kind: 'answer', content: GOOD, delayMs: 200 });
  const [probe, meanwhile] = await Promise.all([e.enrich({ text: KO }), e.enrich({ text: KO })]);
  assert.equal(probe.source, 'llm');
  assert.equal(meanwhile.fallbackReason, 'breaker_open');
  assert.equal(e.state().breaker.state, 'closed');
  assert.equal(e.state().breaker.consecutiveFailures, 0);
});

test('circuit breaker: a failed probe re-opens it for another cool-down', async () => {
  let now = 0;
  const e = enricher({ breaker: { failureThreshold: 1, cooldownMs: 1000 } }, { now: () => now });
  fake.script({ kind: 'error', status: 502, message: 'bad gateway' });
  await e.enrich({ text: KO });
  assert.equal(e.state().breaker.state, 'open');
  now += 1001;
  fake.script({ kind: 'error', status: 502, message: 'bad gateway' });
  assert.equal((await e.enrich({ text: KO })).fallbackReason, 'http_error');
  assert.equal(e.state().breaker.state, 'open');
  assert.equal((await e.enrich({ text: KO })).fallbackReason, 'breaker_open');
});

test('garbage answers and one-off 400s do not open the breaker: the server is up', async () => {
  const e = enricher({ breaker: { failureThreshold: 2, cooldownMs: 60_000 } });
  fake.script(
    { kind: 'answer', content: 'nonsense' },
    { kind: 'answer', content: 'more nonsense' },
    { kind: 'answer', content: 'still nonsense' },
    { kind: 'error', status: 400, message: "This model's maximum context length is 224 tokens." },
    { kind: 'error', status: 400, message: "This model's maximum context length is 224 tokens." },
  );
  for (let i = 0; i < 3; i++) assert.equal((await e.enrich({ text: KO })).fallbackReason, 'invalid_output');
  assert.equal((await e.enrich({ text: KO })).fallbackReason, 'http_error');
  const s = e.state();
  assert.equal(s.breaker.state, 'closed');
  assert.equal(s.reachable, true);
  assert.equal(s.errorRate, 1);
  assert.equal(s.failures, 4);
  assert.match(s.lastError!, /maximum context length/);
});

test('overload: the oldest waiting request is dropped (and counted), the newest ones get the LLM', async () => {
  const e = enricher({ llm: { baseUrl: fake.url, maxConcurrency: 1, model: 'Qwen/Qwen2.5-7B-Instruct' }, queue: { maxPending: 2 } });
  fake.respondWith(() => ({ kind: 'answer', content: GOOD, delayMs: 100 }));
  try {
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => e.enrich({ text: KO, utteranceId: `u${n}` })));
    const by = Object.fromEntries(results.map((r) => [r.utteranceId, r]));
    assert.equal(by.u1.source, 'llm', 'the running one finishes');
    assert.equal(by.u2.fallbackReason, 'overloaded');
    assert.equal(by.u3.fallbackReason, 'overloaded');
    assert.equal(by.u2.source, 'builtin', 'dropped work still gets built-in keywords');
    assert.equal(by.u4.source, 'llm');
    assert.equal(by.u5.source, 'llm');
    assert.equal(e.state().dropped, 2);
    assert.equal(e.state().queue.pending, 0);
  } finally {
    fake.respondWith(() => ({ kind: 'answer', content: '{"keywords":[],"categories":[]}' }));
  }
});

test('overload: work that waited longer than maxWaitMs for a slot skips the LLM', async () => {
  let now = 0;
  const e = enricher(
    { llm: { baseUrl: fake.url, maxConcurrency: 1, model: 'Qwen/Qwen2.5-7B-Instruct' }, queue: { maxPending: 4, maxWaitMs: 1000 } },
    { now: () => now },
  );
  fake.requests.length = 0;
  fake.script({ kind: 'answer', content: GOOD, delayMs: 100 });
  const first = e.enrich({ text: KO, utteranceId: 'slow' });
  const waiting = e.enrich({ text: KO, utteranceId: 'waits' });
  now += 1001; // the first call takes "too long" on the injected clock
  const [a, b] = await Promise.all([first, waiting]);
  assert.equal(a.source, 'llm');
  assert.equal(b.fallbackReason, 'overloaded');
  assert.equal(b.source, 'builtin');
  assert.equal(fake.generations.length, 1, 'the stale one was never sent');
  assert.equal(e.state().dropped, 1);
});

test('LLM answers are grounded in the text, categorised when the model gave none, and bounded', async () => {
  fake.script({
    kind: 'answer',
    content: '{"keywords":[{"text":"서울","category":"unknown"},{"text":"부산","category":"place"},{"text":"회의"}],"categories":[]}',
  });
  const r = await enricher().enrich({ text: KO });
  assert.deepEqual(
    r.keywords.map((k) => [k.text, k.category]),
    [
      ['서울', 'place'],
      ['회의', 'topic'],
    ],
    '부산 is not in the sentence; missing categories come from the built-in categoriser',
  );
  fake.script({ kind: 'answer', content: JSON.stringify({ keywords: Array.from({ length: 20 }, (_, i) => ({ text: `w${i}`, category: 'topic' })) }) });
  const many = await enricher({ maxKeywords: 3, requireGrounded: false }).enrich({ text: 'w0 w1 w2 w3', language: 'en' });
  assert.equal(many.keywords.length, 3);
});

test('the lexicon overrides LLM categories and adds terms the model missed', async () => {
  const lexicon = Lexicon.fromObject({ Earshot: 'product', 판교: 'place' });
  fake.script({ kind: 'answer', content: '{"keywords":[{"text":"earshot","category":"other"}],"categories":["other"]}' });
  const r = await enricher({}, { lexicon }).enrich({ text: '판교에서 earshot 데모를 했어요' });
  assert.deepEqual(
    r.keywords.map((k) => [k.text, k.category]),
    [
      ['Earshot', 'product'],
      ['판교', 'place'],
    ],
  );
  assert.equal(r.source, 'llm');
});

test('English utterances get the English prompt; language hints like "en-US" are understood', async () => {
  fake.requests.length = 0;
  fake.respondWith(keywordModel({ Seoul: 'place' }));
  try {
    const r = await enricher().enrich({ text: 'Meet me in Seoul.', language: 'en-US' });
    assert.equal(r.language, 'en');
    const system = (fake.generations[0].body!.messages as Array<{ content: string }>)[0].content;
    assert.match(system, /^Extract the key nouns/);
    assert.deepEqual(
      r.keywords.map((k) => k.text),
      ['Seoul'],
    );
  } finally {
    fake.respondWith(() => ({ kind: 'answer', content: '{"keywords":[],"categories":[]}' }));
  }
});

test('empty text: nothing to do, nothing sent', async () => {
  fake.requests.length = 0;
  const r = await enricher().enrich({ text: '   ' });
  assert.equal(r.source, 'none');
  assert.deepEqual(r.keywords, []);
  assert.equal(fake.requests.length, 0);
});

test('sessions accumulate keywords from either source', async () => {
  const e = new Enricher();
  await e.enrich({ text: '서버 점검은 내일 진행합니다.', sessionId: 'a' });
  await e.enrich({ text: '서버 로그를 확인했습니다.', sessionId: 'a' });
  assert.equal(e.sessionKeywords('a', 1)[0].text, '서버');
  e.endSession('a');
  assert.deepEqual(e.sessionKeywords('a'), []);
});

test('an aborted request rejects enrich with AbortError, which is not an LLM failure', async () => {
  fake.script({ kind: 'hang' });
  const e = enricher();
  const controller = new AbortController();
  const p = e.enrich({ text: KO, signal: controller.signal });
  setTimeout(() => controller.abort(), 50);
  await assert.rejects(p, { name: 'AbortError' });
  assert.equal(e.state().failures, 0, 'aborts are not LLM failures');
});

test('maxConcurrency: the Enricher keeps at most N LLM requests in flight (its queue is the one cap)', async () => {
  const seen: number[] = [];
  let inFlight = 0;
  fake.respondWith(() => {
    inFlight++;
    seen.push(inFlight);
    setTimeout(() => inFlight--, 150);
    return { kind: 'answer', content: GOOD, delayMs: 150 };
  });
  try {
    // a generous timeout: on a loaded machine a wait for a slot must not turn into a (correct) stale fallback
    const e = enricher({ llm: { baseUrl: fake.url, maxConcurrency: 2, timeoutMs: 30_000, model: 'Qwen/Qwen2.5-7B-Instruct' }, queue: { maxPending: 8 } });
    const before = fake.generations.length;
    const results = await Promise.all(Array.from({ length: 6 }, (_, n) => e.enrich({ text: KO, utteranceId: `c${n}` })));
    assert.ok(results.every((r) => r.source === 'llm'));
    assert.equal(fake.generations.length - before, 6);
    assert.ok(Math.max(...seen) <= 2, `in flight: ${seen.join(',')}`);
  } finally {
    fake.respondWith(() => ({ kind: 'answer', content: '{"keywords":[],"categories":[]}' }));
  }
});
