// One load path, one error mapping: a model the server may not fetch (a private Hub repo without a
// token) fails the same way through the hot swap, a plain load and a request naming the model —
// 503 with the reason, never a bare 500. Runs against a local server speaking the Hub's protocol.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { startHubServer, type HubServer } from '../helpers/hub-server.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { fileBlob, postForm } from '../helpers/audio.js';
import { pocketsphinxClips } from '../../src/eval/corpus.js';

const PRIVATE = 'hf://acme/private-whisper/ggml-model.bin';

describe('ModelSourceError maps the same on every load path', () => {
  let hub: HubServer;
  let server: TestServer;
  let home: string;
  before(async () => {
    home = mkdtempSync(join(os.tmpdir(), 'earshot-model-errors-'));
    const file = join(home, 'weights.bin');
    writeFileSync(file, Buffer.alloc(4096, 7));
    hub = await startHubServer({ token: 'hf_secret', repos: { 'acme/private-whisper': { private: true, files: { 'ggml-model.bin': file } } } });
    // the default model is the private one too: the server starts, reports the error, stays up
    server = await startServer({ model: PRIVATE, waitFor: 'listening', env: { EARSHOT_HOME: join(home, 'earshot'), HF_ENDPOINT: hub.url } });
  });
  after(async () => {
    await server?.stop();
    await hub?.close();
    rmSync(home, { recursive: true, force: true });
  });

  const load = (body: Record<string, unknown>) =>
    fetch(`${server.url}/api/models/load`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ source: PRIVATE, wait: true, ...body }),
    });

  it('hot swap (default: true) and plain load (default: false) answer alike', async () => {
    for (const asDefault of [true, false]) {
      const res = await load({ default: asDefault });
      const body = (await res.json()) as { success: boolean; error: { code: string; message: string } };
      assert.equal(res.status, 503, `default=${asDefault}: ${JSON.stringify(body)}`);
      assert.equal(body.error.code, 'unauthorized');
      assert.match(body.error.message, /HF_TOKEN/);
    }
  });

  it('a request naming the model gets the same status and reason, in its API shape', async () => {
    const clip = pocketsphinxClips()[0]!;
    const res = await postForm(`${server.url}/v1/audio/transcriptions`, { file: fileBlob(clip.path), fields: { model: PRIVATE } });
    const body = (await res.json()) as { error: { code: string; message: string; type: string } };
    assert.equal(res.status, 503, JSON.stringify(body));
    assert.equal(body.error.code, 'unauthorized');
    assert.equal(body.error.type, 'server_error');
    assert.match(body.error.message, /HF_TOKEN/);
  });
});
