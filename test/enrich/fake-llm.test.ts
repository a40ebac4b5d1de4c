// The fake LLM server is only worth its tests if real clients accept it: the official `openai`
// SDK reads its model list, chat and text completions, and its error bodies.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { FakeLlm } from '../helpers/fake-llm.js';

let fake: FakeLlm;
let sdk: OpenAI;
before(async () => {
  fake = await FakeLlm.start({ apiKey: 'sk-fake' });
  sdk = new OpenAI({ baseURL: fake.url, apiKey: 'sk-fake', maxRetries: 0 });
});
after(() => fake.close());

test('models.list', async () => {
  const page = await sdk.models.list();
  assert.deepEqual(
    page.data.map((m) => [m.id, m.object, m.owned_by]),
    [['Qwen/Qwen2.5-7B-Instruct', 'model', 'vllm']],
  );
});

test('chat.completions.create', async () => {
  fake.script({ kind: 'answer', content: '{"keywords":[]}' });
  const r = await sdk.chat.completions.create({ model: 'Qwen/Qwen2.5-7B-Instruct', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(r.object, 'chat.completion');
  assert.match(r.id, /^chatcmpl-/);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, '{"keywords":[]}');
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.equal(r.usage!.total_tokens, r.usage!.prompt_tokens + r.usage!.completion_tokens);
});

test('completions.create', async () => {
  fake.script({ kind: 'answer', content: ' {"keywords":[]}', finishReason: 'length' });
  const r = await sdk.completions.create({ model: 'Qwen/Qwen2.5-7B-Instruct', prompt: 'Sentence: hi\nJSON:' });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices[0].text, ' {"keywords":[]}');
  assert.equal(r.choices[0].finish_reason, 'length');
});

test('error bodies become the SDK errors with status, message, type and code', async () => {
  fake.script({ kind: 'error', status: 500, message: 'CUDA out of memory', type: 'InternalServerError', code: 500 });
  await assert.rejects(sdk.chat.completions.create({ model: 'Qwen/Qwen2.5-7B-Instruct', messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => {
    assert.ok(err instanceof OpenAI.InternalServerError);
    assert.equal(err.status, 500);
    assert.match(err.message, /CUDA out of memory/);
    assert.equal(err.type, 'InternalServerError');
    return true;
  });
  const anonymous = new OpenAI({ baseURL: fake.url, apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(anonymous.models.list(), (err: unknown) => {
    assert.ok(err instanceof OpenAI.AuthenticationError);
    assert.equal(err.code, 'invalid_api_key');
    return true;
  });
  await assert.rejects(sdk.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] }), OpenAI.NotFoundError);
});

test('a dropped connection is an APIConnectionError in the SDK too', async () => {
  fake.script({ kind: 'drop', when: 'before-response' });
  await assert.rejects(
    sdk.chat.completions.create({ model: 'Qwen/Qwen2.5-7B-Instruct', messages: [{ role: 'user', content: 'hi' }] }),
    OpenAI.APIConnectionError,
  );
});
