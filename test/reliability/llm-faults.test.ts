// The keyword LLM failing under a real server (issue 20): slow past its timeout, answering garbage, and
// gone (connection refused). Transcription answers 200 with its text every time; the keywords come from
// the built-in extractor, tagged with why, and the server log says why. The LLM is a local server
// speaking the OpenAI chat-completions protocol (test/helpers/fake-llm.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { fileBlob, postForm } from '../helpers/audio.js';
import { FakeLlm } from '../helpers/fake-llm.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { isolatedHome, waitFor } from './helpers.js';

const clip = pocketsphinxClips().find((c) => c.id.endsWith('0870'))!;

interface Answer {
  status: number;
  text?: string;
  keywords?: { status: string; source: string; fallback_reason?: string; keywords: Array<{ text: string }> };
}

describe('the keyword LLM failing', () => {
  let llm: FakeLlm;
  let server: TestServer;
  let home: string;
  before(async () => {
    llm = await FakeLlm.start();
    home = isolatedHome();
    // a short LLM timeout so "slow" is quick to show; the breaker stays closed for these few failures
    server = await startServer({ model: 'tiny.en', env: { EARSHOT_HOME: home, EARSHOT_LLM_URL: llm.url, EARSHOT_LLM_TIMEOUT_MS: '1500' } });
  });
  after(async () => {
    await server?.stop();
    await llm?.close().catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
  });

  const transcribe = async (): Promise<Answer> => {
    const res = await postForm(`${server.url}/transcribe`, { file: fileBlob(clip.path), fields: { language: 'en', enrich: 'true' } });
    return { status: res.status, ...((await res.json()) as Omit<Answer, 'status'>) };
  };

  const degraded = async (reason: string) => {
    const r = await transcribe();
    assert.equal(r.status, 200);
    assert.match(r.text ?? '', /Dashwood/, 'the transcript is whole');
    assert.equal(r.keywords?.source, 'builtin', JSON.stringify(r.keywords));
    assert.equal(r.keywords?.fallback_reason, reason);
    assert.ok(r.keywords!.keywords.length > 0, 'keywords from the built-in extractor');
    await waitFor(`a log line for ${reason}`, () => (new RegExp(`LLM answer not used \\(${reason}`).test(server.output()) ? true : undefined), 5000);
  };

  it('slow past its timeout: transcript 200, built-in keywords tagged timeout, logged', async () => {
    llm.respondWith(() => ({ kind: 'answer', content: '{"keywords":[],"categories":[]}', delayMs: 10_000 }));
    await degraded('timeout');
  });

  it('answering garbage: transcript 200, built-in keywords tagged invalid_output, logged', async () => {
    llm.respondWith(() => ({ kind: 'answer', content: 'Sure! Here are some keywords: <b>Dashwood</b>, maybe' }));
    await degraded('invalid_output');
  });

  it('down (connection refused): transcript 200, built-in keywords tagged network_error, logged', async () => {
    await llm.close();
    await degraded('network_error');
  });
});
