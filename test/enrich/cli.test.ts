// `earshot enrich` and `earshot llm check` through commander, as the CLI runs them, against the
// local OpenAI-compatible server.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FakeLlm, keywordModel, refusedUrl } from '../helpers/fake-llm.js';

let fake: FakeLlm;
before(async () => {
  fake = await FakeLlm.start();
  fake.respondWith(keywordModel({ 서울: 'place', 회의: 'topic', Seoul: 'place', Samsung: 'organization' }));
});
after(() => fake.close());

const MAIN = fileURLToPath(new URL('./enrich-cli-main.ts', import.meta.url));

/** Runs one CLI invocation as its own process; the environment cannot point it at a real LLM. */
async function run(...args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(EARSHOT_LLM_|EARSHOT_ENRICH|VLLM_)|^EARSHOT_CONFIG$/.test(k)));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = (err as { code?: unknown } | null)?.code;
      if (err && typeof code !== 'number') return reject(err);
      resolve({ stdout, stderr, exitCode: typeof code === 'number' ? code : 0 });
    });
  });
}

test('enrich with an LLM URL: keywords from the model, human-readable', async () => {
  const { stdout, exitCode } = await run('enrich', '내일 서울에서 회의를 합니다', '--llm-url', fake.origin);
  assert.equal(exitCode, 0);
  assert.match(stdout, /^source: LLM Qwen\/Qwen2\.5-7B-Instruct \(\d+ ms\)\nlanguage: ko\n/);
  assert.match(stdout, /서울\s+place/);
  assert.match(stdout, /회의\s+topic/);
});

test('enrich --json in completions mode with a named model', async () => {
  fake.requests.length = 0;
  const { stdout } = await run(
    'enrich',
    'Samsung opened an office in Seoul.',
    '--llm-url',
    fake.url,
    '--llm-model',
    'Qwen/Qwen2.5-7B-Instruct',
    '--mode',
    'completions',
    '--json',
  );
  const result = JSON.parse(stdout);
  assert.equal(result.source, 'llm');
  assert.equal(result.language, 'en');
  assert.deepEqual(result.keywords.map((k: { text: string }) => k.text).sort(), ['Samsung', 'Seoul']);
  assert.deepEqual(
    fake.requests.map((r) => r.path),
    ['/v1/completions'],
  );
});

test('enrich without an LLM, or with --builtin, uses the built-in extractor', async () => {
  const plain = await run('enrich', '김민수 씨가 서울에서 발표했습니다', '--json');
  const r = JSON.parse(plain.stdout);
  assert.equal(r.source, 'builtin');
  assert.deepEqual(r.keywords.map((k: { text: string }) => k.text).sort(), ['김민수', '발표', '서울'].sort());
  fake.requests.length = 0;
  const forced = JSON.parse((await run('enrich', 'Seoul', '--llm-url', fake.url, '--builtin', '--json')).stdout);
  assert.equal(forced.source, 'builtin');
  assert.equal(fake.requests.length, 0);
});

test('enrich against a dead server falls back and says why; --no-fallback exits 1', async () => {
  const dead = await refusedUrl();
  const { stdout, exitCode } = await run('enrich', 'Meeting in Seoul tomorrow', '--llm-url', dead);
  assert.equal(exitCode, 0);
  assert.match(stdout, /source: built-in extractor — LLM not used: network_error .*ECONNREFUSED/);
  assert.match(stdout, /Seoul\s+place/);
  const strict = await run('enrich', 'Meeting in Seoul tomorrow', '--llm-url', dead, '--no-fallback');
  assert.equal(strict.exitCode, 1);
  assert.match(strict.stdout, /source: none — LLM unavailable: network_error/);
});

test('llm check: models, a timed test call, verdict OK', async () => {
  const { stdout, exitCode } = await run('llm', 'check', '--llm-url', fake.origin);
  assert.equal(exitCode, 0);
  assert.match(stdout, /^LLM check: http:\/\/127\.0\.0\.1:\d+\/v1\n/);
  assert.match(stdout, /models: {2}Qwen\/Qwen2\.5-7B-Instruct \(\d+ ms\)/);
  assert.match(stdout, /via chat, structured output json_schema: \d+ ms, finish_reason stop/);
  assert.match(stdout, /서울 \[place\]/);
  assert.match(stdout, /verdict: OK — "Qwen\/Qwen2\.5-7B-Instruct" answered in \d+ ms with \d+ keywords\./);
});

test('llm check: an unreachable server is verdict UNREACHABLE, exit 1', async () => {
  const { stdout, exitCode } = await run('llm', 'check', '--llm-url', await refusedUrl(), '--json');
  assert.equal(exitCode, 1);
  const report = JSON.parse(stdout);
  assert.equal(report.verdict, 'unreachable');
  assert.match(report.message, /ECONNREFUSED.*Is the server running/);
});

test('llm check: a model that answers nonsense is DEGRADED, exit 2; a 401 is ERROR', async () => {
  fake.script({ kind: 'answer', content: 'I would love to help! The keywords are interesting.' });
  const degraded = await run('llm', 'check', '--llm-url', fake.url, '--language', 'en');
  assert.equal(degraded.exitCode, 2);
  assert.match(degraded.stdout, /verdict: DEGRADED — the server answers, but the model's output could not be read/);

  const secured = await FakeLlm.start({ apiKey: 'right' });
  try {
    const denied = await run('llm', 'check', '--llm-url', secured.url, '--llm-api-key', 'wrong', '--json');
    assert.equal(denied.exitCode, 1);
    const report = JSON.parse(denied.stdout);
    assert.equal(report.verdict, 'error');
    assert.match(report.message, /401: Incorrect API key/);
  } finally {
    await secured.close();
  }
});

test('llm check without any LLM configured is an error', async () => {
  const { stderr, exitCode } = await run('llm', 'check');
  assert.equal(exitCode, 1);
  assert.match(stderr, /no LLM configured: pass --llm-url or set EARSHOT_LLM_URL/);
});

test('enrich reads stdin when no text is given', async () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(EARSHOT_LLM_|EARSHOT_ENRICH|VLLM_)/.test(k)));
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = execFile(process.execPath, ['--import', 'tsx', MAIN, 'enrich', '--json'], { env }, (err, out) => (err ? reject(err) : resolve(out)));
    child.stdin!.end('The quarterly budget review is on Friday.');
  });
  const r = JSON.parse(stdout);
  assert.deepEqual(r.keywords.map((k: { text: string }) => k.text).sort(), ['Friday', 'quarterly budget review'].sort());
});
