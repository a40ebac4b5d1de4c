// The LLM client against a local OpenAI-compatible server: request shapes for chat and completions,
// structured-output dialects, model auto-pick, auth, and every way a real server fails.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { parseLlmConfig, type LlmConfigInput } from '../../src/config/enrichment.js';
import { LlmClient, LlmError } from '../../src/pipeline/enrich/llm-client.js';
import { DEFAULT_CATEGORIES } from '../../src/pipeline/enrich/types.js';
import { FakeLlm, keywordModel, refusedUrl } from '../helpers/fake-llm.js';

const GOOD = '{"keywords":[{"text":"서울","category":"place"},{"text":"회의","category":"topic"}],"categories":["place","topic"]}';
const KO = '내일 서울에서 회의를 합니다.';
const opts = { language: 'ko' as const, categories: DEFAULT_CATEGORIES, maxKeywords: 10 };

let fake: FakeLlm;
before(async () => {
  fake = await FakeLlm.start({ models: ['Qwen/Qwen2.5-7B-Instruct', 'other-model'] });
});
after(() => fake.close());

function client(over: Partial<LlmConfigInput> = {}): LlmClient {
  return new LlmClient(parseLlmConfig({ baseUrl: fake.url, timeoutMs: 3000, ...over }));
}

async function rejects(p: Promise<unknown>, kind: string, pattern?: RegExp): Promise<LlmError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof LlmError, `expected LlmError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    if (pattern) assert.match(err.message, pattern);
    return err;
  }
  assert.fail('expected a rejection');
}

test('chat mode: picks the first listed model, sends messages + json_schema, reads message.content', async () => {
  fake.requests.length = 0;
  fake.script({ kind: 'answer', content: GOOD });
  const c = client();
  const r = await c.extract(KO, opts);
  assert.deepEqual(r.keywords, [
    { text: '서울', category: 'place' },
    { text: '회의', category: 'topic' },
  ]);
  assert.equal(r.model, 'Qwen/Qwen2.5-7B-Instruct');
  assert.equal(r.mode, 'chat');
  assert.equal(r.finishReason, 'stop');

  assert.deepEqual(
    fake.requests.map((q) => `${q.method} ${q.path}`),
    ['GET /v1/models', 'POST /v1/chat/completions'],
  );
  const body = fake.requests[1].body!;
  assert.equal(body.model, 'Qwen/Qwen2.5-7B-Instruct');
  assert.equal(body.temperature, 0);
  assert.equal(body.stream, false);
  const messages = body.messages as Array<{ role: string; content: string }>;
  assert.equal(messages[0].role, 'system');
  assert.match(messages[0].content, /핵심 명사/, 'a Korean utterance gets the Korean prompt');
  assert.deepEqual(messages[1], { role: 'user', content: KO });
  const format = body.response_format as {
    type: string;
    json_schema: { name: string; strict: boolean; schema: { properties: { keywords: { items: { properties: { category: { enum: string[] } } } } } } };
  };
  assert.equal(format.type, 'json_schema');
  assert.deepEqual(format.json_schema.schema.properties.keywords.items.properties.category.enum, [...DEFAULT_CATEGORIES]);
  assert.equal(fake.requests[1].headers['content-type'], 'application/json');

  // the model is remembered: no second /v1/models
  fake.script({ kind: 'answer', content: GOOD });
  await c.extract(KO, opts);
  assert.equal(fake.requests.filter((q) => q.path === '/v1/models').length, 1);
});

test('completions mode (seed 001): one prompt ending in "JSON:", stop sequences, reads choices[].text', async () => {
  fake.requests.length = 0;
  fake.script({ kind: 'answer', content: ' {"keywords":[{"text":"Seoul","category":"place"}],"categories":["place"]}' });
  const r = await client({ mode: 'completions', model: 'other-model', structuredOutput: 'none' }).extract('Meet me in Seoul.', { ...opts, language: 'en' });
  assert.deepEqual(r.keywords, [{ text: 'Seoul', category: 'place' }]);
  assert.equal(r.model, 'other-model');
  assert.deepEqual(
    fake.requests.map((q) => `${q.method} ${q.path}`),
    ['POST /v1/completions'],
    'a configured model skips /v1/models',
  );
  const body = fake.requests[0].body!;
  assert.match(body.prompt as string, /^Extract the key nouns[\s\S]*\n\nSentence: Meet me in Seoul\.\nJSON:$/);
  assert.ok(Array.isArray(body.stop));
  assert.equal(body.response_format, undefined);
});

test('structured output dialects: guided_json, structured_outputs, json_object, none', async () => {
  const sent = async (structuredOutput: LlmConfigInput['structuredOutput']) => {
    fake.requests.length = 0;
    fake.script({ kind: 'answer', content: GOOD });
    await client({ structuredOutput, model: 'other-model' }).extract(KO, opts);
    const { model: _m, messages: _msg, max_tokens: _mt, temperature: _t, stream: _s, ...rest } = fake.requests[0].body!;
    return rest;
  };
  assert.deepEqual(Object.keys(await sent('guided_json')), ['guided_json']);
  const so = (await sent('structured_outputs')) as { structured_outputs: { json: { type: string } } };
  assert.equal(so.structured_outputs.json.type, 'object');
  assert.deepEqual(await sent('json_object'), { response_format: { type: 'json_object' } });
  assert.deepEqual(await sent('none'), {});
});

test('API key goes in a Bearer header; a wrong key is an http error with the server message', async () => {
  const secured = await FakeLlm.start({ apiKey: 'sk-test-123' });
  try {
    secured.script({ kind: 'answer', content: GOOD });
    const ok = new LlmClient(parseLlmConfig({ baseUrl: secured.url, apiKey: 'sk-test-123', model: 'Qwen/Qwen2.5-7B-Instruct' }));
    await ok.extract(KO, opts);
    assert.equal(secured.requests[0].headers.authorization, 'Bearer sk-test-123');
    const bad = new LlmClient(parseLlmConfig({ baseUrl: secured.url, apiKey: 'wrong' }));
    const err = await rejects(bad.listModels(), 'http', /Incorrect API key/);
    assert.equal(err.status, 401);
  } finally {
    await secured.close();
  }
});

test('fenced JSON, prose around JSON and truncated JSON are all read', async () => {
  fake.script(
    { kind: 'answer', content: '```json\n' + GOOD + '\n```' },
    { kind: 'answer', content: 'Here you go: ' + GOOD + ' Anything else?' },
    { kind: 'answer', content: GOOD.slice(0, 60), finishReason: 'length' },
  );
  const c = client();
  assert.equal((await c.extract(KO, opts)).keywords.length, 2);
  assert.equal((await c.extract(KO, opts)).keywords.length, 2);
  const cut = await c.extract(KO, opts);
  assert.equal(cut.finishReason, 'length');
  assert.deepEqual(cut.keywords, [{ text: '서울', category: 'place' }]);
});

test('invalid output is an invalid_output error that quotes the model', async () => {
  fake.script({ kind: 'answer', content: 'I am sorry, I cannot help with that.' });
  await rejects(client().extract(KO, opts), 'invalid_output', /no JSON in the model output: "I am sorry/);
  fake.script({ kind: 'answer', content: 'Keywords: Seoul', finishReason: 'length' });
  await rejects(client().extract(KO, opts), 'invalid_output', /cut off at max_tokens/);
});

test('500 with an OpenAI error body becomes an http error carrying status and message', async () => {
  fake.script({ kind: 'error', status: 500, message: 'CUDA out of memory', type: 'InternalServerError' });
  const err = await rejects(client().extract(KO, opts), 'http', /answered 500: CUDA out of memory/);
  assert.equal(err.status, 500);
});

test('an unknown model is a 404 http error', async () => {
  const err = await rejects(client({ model: 'no-such-model' }).extract(KO, opts), 'http', /does not exist/);
  assert.equal(err.status, 404);
});

test('a slow answer past the timeout is a timeout error', async () => {
  fake.script({ kind: 'answer', content: GOOD, delayMs: 5000 });
  await rejects(client({ timeoutMs: 300, model: 'other-model' }).extract(KO, opts), 'timeout', /within 300 ms/);
});

test('a server that never answers is a timeout too', async () => {
  fake.script({ kind: 'hang' });
  await rejects(client({ timeoutMs: 300, model: 'other-model' }).extract(KO, opts), 'timeout');
});

test('a connection dropped mid-body or before any response is a network error', async () => {
  fake.script({ kind: 'drop', when: 'mid-body' });
  await rejects(client({ model: 'other-model' }).extract(KO, opts), 'network');
  fake.script({ kind: 'drop', when: 'before-response' });
  await rejects(client({ model: 'other-model' }).extract(KO, opts), 'network');
});

test('nothing listening (connection refused) is a network error naming ECONNREFUSED', async () => {
  const url = await refusedUrl();
  const c = new LlmClient(parseLlmConfig({ baseUrl: url, timeoutMs: 3000 }));
  await rejects(c.extract(KO, opts), 'network', /ECONNREFUSED/);
});

test('a 200 that is not JSON (an HTML page) is a protocol error', async () => {
  fake.script({ kind: 'html', body: '<html><body>Welcome to nginx!</body></html>' });
  await rejects(client({ model: 'other-model' }).extract(KO, opts), 'protocol', /not JSON/);
});

test('the caller aborting is an AbortError, not an LLM failure', async () => {
  fake.script({ kind: 'hang' });
  const controller = new AbortController();
  const p = client({ model: 'other-model' }).extract(KO, { ...opts, signal: controller.signal });
  setTimeout(() => controller.abort(), 50);
  await assert.rejects(p, (err: Error) => err.name === 'AbortError' && !(err instanceof LlmError));
});

test('a base model without a chat template: switches to /v1/completions and stays there', async () => {
  fake.requests.length = 0;
  fake.script(
    {
      kind: 'error',
      status: 400,
      type: 'BadRequestError',
      message:
        'As of transformers v4.44, default chat template is no longer allowed, so you must provide a chat template if the tokenizer does not define one.',
    },
    { kind: 'answer', content: GOOD },
    { kind: 'answer', content: GOOD },
  );
  const c = client({ model: 'other-model' });
  const r = await c.extract(KO, opts);
  assert.equal(r.mode, 'completions');
  assert.equal(c.mode, 'completions');
  await c.extract(KO, opts);
  assert.deepEqual(
    fake.requests.map((q) => q.path),
    ['/v1/chat/completions', '/v1/completions', '/v1/completions'],
  );
});

test('a server that rejects the structured-output fields: retried once without them, then not sent again', async () => {
  fake.requests.length = 0;
  fake.script(
    { kind: 'error', status: 400, message: 'Unrecognized request argument supplied: response_format', type: 'invalid_request_error' },
    { kind: 'answer', content: GOOD },
    { kind: 'answer', content: GOOD },
  );
  const c = client({ model: 'other-model' });
  await c.extract(KO, opts);
  await c.extract(KO, opts);
  assert.equal(c.structuredOutput, 'none');
  assert.ok(fake.requests[0].body!.response_format);
  assert.equal(fake.requests[1].body!.response_format, undefined);
  assert.equal(fake.requests[2].body!.response_format, undefined);
});

test('a 400 that persists without structured output is reported, and structured output is kept', async () => {
  fake.script(
    { kind: 'error', status: 400, message: "This model's maximum context length is 224 tokens.", type: 'BadRequestError' },
    { kind: 'error', status: 400, message: "This model's maximum context length is 224 tokens.", type: 'BadRequestError' },
  );
  const c = client({ model: 'other-model' });
  await rejects(c.extract(KO, opts), 'http', /maximum context length/);
  assert.equal(c.structuredOutput, 'json_schema');
});

test('a keyword-answering model: the fake reads the utterance back from either endpoint', async () => {
  fake.respondWith(keywordModel({ 서울: 'place', 삼성전자: 'organization' }));
  const chat = await client({ model: 'other-model' }).extract('삼성전자가 서울에 있습니다', opts);
  const comp = await client({ model: 'other-model', mode: 'completions' }).extract('삼성전자가 서울에 있습니다', opts);
  assert.deepEqual(chat.keywords, comp.keywords);
  assert.deepEqual(chat.keywords.map((k) => k.text).sort(), ['삼성전자', '서울']);
  fake.respondWith(() => ({ kind: 'answer', content: '{"keywords":[],"categories":[]}' }));
});

test('listModels and base URL normalisation', async () => {
  for (const base of [fake.origin, `${fake.origin}/`, `${fake.origin}/v1/`]) {
    const c = new LlmClient(parseLlmConfig({ baseUrl: base }));
    assert.deepEqual(await c.listModels(), ['Qwen/Qwen2.5-7B-Instruct', 'other-model']);
  }
});
