// Catalogue names, hf:// and https:// sources against a local server that speaks the Hub's protocol,
// serving the real test models. Installs go to a temporary store per test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync, mkdtempSync, statSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { pullModel, ModelSourceError } from '../../src/models/pull.js';
import { catalogueEntry } from '../../src/models/catalogue.js';
import { startHubServer, type HubServer } from '../helpers/hub-server.js';
import { fixtureGgml, fixtureCt2Folder, fileDigest, tempStore, leftovers, modelDirs } from './fixtures.js';

const TOKEN = 'hf_test_token_123';
let hub: HubServer;
let env: NodeJS.ProcessEnv;
let scratch: string;

before(async () => {
  scratch = mkdtempSync(join(os.tmpdir(), 'earshot-hub-files-'));
  const page = join(scratch, 'page.html');
  writeFileSync(page, '<!DOCTYPE html><html><body>Sign in to continue</body></html>\n');
  const ct2 = fixtureCt2Folder();
  const ct2Files = Object.fromEntries(readdirSync(ct2).map((name) => [`faster-whisper/${name}`, join(ct2, name)]));
  hub = await startHubServer({
    token: TOKEN,
    repos: {
      'ggerganov/whisper.cpp': {
        files: {
          'ggml-base-q8_0.bin': fixtureGgml('base-q8_0'),
          'ggml-tiny.en.bin': fixtureGgml('tiny.en'),
        },
      },
      'acme/whisper-ggml': { files: { 'ggml-tiny.en.bin': fixtureGgml('tiny.en'), 'README.md': page, 'page.html': page } },
      'acme/whisper-ct2': { files: { ...ct2Files, 'README.md': page } },
      'acme/private-whisper': { private: true, files: { 'ggml-model.bin': fixtureGgml('base-q8_0') } },
    },
  });
  env = { HF_ENDPOINT: hub.url };
});

after(async () => {
  await hub?.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function rejectsWith(p: Promise<unknown>, code: string, pattern?: RegExp): Promise<ModelSourceError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ModelSourceError, `expected a ModelSourceError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return err;
  }
  assert.fail(`expected rejection with ${code}`);
}

test('catalogue name pulls ggml-<name>.bin from ggerganov/whisper.cpp and verifies the Hub sha256', async () => {
  const t = await tempStore();
  try {
    const model = await pullModel('base-q8_0', { store: t.store, env });
    assert.equal(model.id, 'base-q8_0');
    assert.equal(model.source, 'base-q8_0');
    assert.equal(model.format, 'ggml');
    assert.equal(model.sha256, fileDigest(fixtureGgml('base-q8_0')));
    assert.equal(model.alreadyInstalled, false);
    const listed = await t.store.list();
    assert.deepEqual(
      listed.map((m) => m.id),
      ['base-q8_0'],
    );
    assert.ok(
      hub.requests.some((r) => /^\/ggerganov\/whisper\.cpp\/resolve\/[0-9a-f]{40}\/ggml-base-q8_0\.bin$/.test(r.path)),
      'downloaded through resolve/<commit>/',
    );
    assert.equal((await t.store.verify('base-q8_0')).ok, true);
    assert.deepEqual(leftovers(t.home), [], 'no staging or partial files left');

    // a second pull finds it installed and downloads nothing
    const before = hub.downloads('ggerganov/whisper.cpp', 'ggml-base-q8_0.bin').length;
    const again = await pullModel('base-q8_0', { store: t.store, env });
    assert.equal(again.alreadyInstalled, true);
    assert.equal(hub.downloads('ggerganov/whisper.cpp', 'ggml-base-q8_0.bin').length, before);
  } finally {
    await t.cleanup();
  }
});

test("catalogue name checks whisper.cpp's published SHA-1", async () => {
  const t = await tempStore();
  try {
    const published = catalogueEntry('tiny.en')!.sha1!;
    const served = fileDigest(fixtureGgml('tiny.en'), 'sha1');
    if (served === published) {
      // The fixture is the official file: it must install.
      const model = await pullModel('tiny.en', { store: t.store, env });
      assert.equal(model.id, 'tiny.en');
    } else {
      // The test fixture is converted locally, so it is not byte-identical: the pull must refuse it.
      const err = await rejectsWith(pullModel('tiny.en', { store: t.store, env }), 'checksum_mismatch', /sha1/);
      assert.equal(err.exitCode, 14);
      assert.deepEqual(modelDirs(t.home), [], 'nothing installed');
      assert.deepEqual(leftovers(t.home), [], 'bad download discarded');
    }
  } finally {
    await t.cleanup();
  }
});

test('unknown catalogue name suggests close names', async () => {
  const t = await tempStore();
  try {
    const err = await rejectsWith(pullModel('large-v3-trubo', { store: t.store, env }), 'unknown_model', /large-v3-turbo/);
    assert.equal(err.exitCode, 11);
  } finally {
    await t.cleanup();
  }
});

test('hf:// file pull installs under a derived id', async () => {
  const t = await tempStore();
  try {
    const model = await pullModel('hf://acme/whisper-ggml/ggml-tiny.en.bin', { store: t.store, env });
    assert.equal(model.id, 'tiny.en');
    assert.equal(model.source, 'hf://acme/whisper-ggml/ggml-tiny.en.bin');
    assert.equal(model.sha256, fileDigest(fixtureGgml('tiny.en')));
    assert.deepEqual(model.languages, ['en']);
  } finally {
    await t.cleanup();
  }
});

test('hf:// folder pull fetches the CTranslate2 files (not README) and converts them', async () => {
  const t = await tempStore();
  try {
    const model = await pullModel('hf://acme/whisper-ct2@main/faster-whisper', { store: t.store, env, id: 'ct2-base' });
    assert.equal(model.id, 'ct2-base');
    assert.equal(model.format, 'ggml');
    assert.equal((model.details as { converted_from?: string }).converted_from, 'ct2');
    const fetched = hub.requests.filter((r) => r.path.startsWith('/acme/whisper-ct2/resolve/')).map((r) => r.path.split('/').pop());
    for (const name of readdirSync(fixtureCt2Folder()).filter((n) => !n.startsWith('.'))) assert.ok(fetched.includes(name), `fetched ${name}`);
    assert.ok(!fetched.includes('README.md'), 'README not fetched');
    assert.deepEqual(leftovers(t.home), []);
  } finally {
    await t.cleanup();
  }
});

test('private repo: 401 without a token says to set HF_TOKEN; the token gets in', async () => {
  const t = await tempStore();
  try {
    const err = await rejectsWith(pullModel('hf://acme/private-whisper/ggml-model.bin', { store: t.store, env }), 'unauthorized', /HF_TOKEN/);
    assert.equal(err.exitCode, 13);
    await rejectsWith(pullModel('hf://acme/private-whisper/ggml-model.bin', { store: t.store, env: { ...env, HF_TOKEN: 'wrong' } }), 'unauthorized', /token/);
    const model = await pullModel('hf://acme/private-whisper/ggml-model.bin', { store: t.store, env: { ...env, HUGGINGFACE_HUB_TOKEN: TOKEN }, id: 'private' });
    assert.equal(model.id, 'private');
    // the token went to the Hub, not to the CDN the download was redirected to
    const cdn = hub.requests.filter((r) => r.path.startsWith('/cdn-lfs/') && r.authorized);
    assert.equal(cdn.length, 0);
  } finally {
    await t.cleanup();
  }
});

test('missing repo, file or revision: not_found', async () => {
  const t = await tempStore();
  try {
    await rejectsWith(pullModel('hf://acme/nope/ggml-tiny.en.bin', { store: t.store, env }), 'not_found', /acme\/nope/);
    await rejectsWith(pullModel('hf://acme/whisper-ggml/ggml-huge.bin', { store: t.store, env }), 'not_found', /ggml-huge\.bin/);
    await rejectsWith(pullModel('hf://acme/whisper-ggml@v9/ggml-tiny.en.bin', { store: t.store, env }), 'not_found', /revision/);
    await rejectsWith(pullModel(`${hub.url}/acme/whisper-ggml/resolve/main/missing.bin`, { store: t.store, env }), 'not_found', /404/);
    assert.deepEqual(modelDirs(t.home), []);
  } finally {
    await t.cleanup();
  }
});

test('a sha256 mismatch discards the download and installs nothing', async () => {
  const t = await tempStore();
  try {
    hub.lieAboutSha256('acme/whisper-ggml', 'ggml-tiny.en.bin', 'ab'.repeat(32));
    const err = await rejectsWith(pullModel('hf://acme/whisper-ggml/ggml-tiny.en.bin', { store: t.store, env }), 'checksum_mismatch', /sha256/);
    assert.equal(err.exitCode, 14);
    assert.deepEqual(modelDirs(t.home), []);
    assert.deepEqual(leftovers(t.home), []);
  } finally {
    hub.lieAboutSha256('acme/whisper-ggml', 'ggml-tiny.en.bin', fileDigest(fixtureGgml('tiny.en')));
    await t.cleanup();
  }
});

test('https:// URL through the redirect; X-Linked-Etag verified', async () => {
  const t = await tempStore();
  try {
    const url = `${hub.url}/acme/whisper-ggml/resolve/main/ggml-tiny.en.bin`;
    const model = await pullModel(url, { store: t.store, env, id: 'from-url' });
    assert.equal(model.sha256, fileDigest(fixtureGgml('tiny.en')));
    assert.equal(model.source, url);
  } finally {
    await t.cleanup();
  }
});

test('an HTML page is refused as unsupported_format', async () => {
  const t = await tempStore();
  try {
    const err = await rejectsWith(pullModel(`${hub.url}/acme/whisper-ggml/resolve/main/page.html`, { store: t.store, env, id: 'page' }), 'unsupported_format');
    assert.equal(err.exitCode, 19);
    assert.deepEqual(modelDirs(t.home), []);
    assert.deepEqual(leftovers(t.home), []);
  } finally {
    await t.cleanup();
  }
});

test('an interrupted pull resumes with a Range request', async () => {
  const t = await tempStore();
  const size = statSync(fixtureGgml('tiny.en')).size;
  hub.setThrottle(20 * 1024 * 1024);
  try {
    const controller = new AbortController();
    await rejectsWith(
      pullModel('hf://acme/whisper-ggml/ggml-tiny.en.bin', {
        store: t.store,
        env,
        id: 'resumed',
        signal: controller.signal,
        onProgress: (e) => {
          if (e.phase === 'download' && (e.done ?? 0) > size * 0.3) controller.abort();
        },
      }),
      'aborted',
    );
    assert.deepEqual(modelDirs(t.home), [], 'an aborted pull installs nothing');
    assert.ok(
      leftovers(t.home).some((f) => f.endsWith('.partial')),
      'the partial download stays for the next run',
    );
    hub.setThrottle(0);
    const seen = hub.requests.length;
    let resumedFrom = 0;
    const model = await pullModel('hf://acme/whisper-ggml/ggml-tiny.en.bin', {
      store: t.store,
      env,
      id: 'resumed',
      onProgress: (e) => (resumedFrom ||= e.resumedFrom ?? 0),
    });
    const cdn = hub.requests.slice(seen).filter((r) => r.path.startsWith('/cdn-lfs/'));
    assert.equal(cdn.length, 1);
    assert.match(cdn[0].range ?? '', /^bytes=\d+-$/);
    assert.equal(cdn[0].status, 206);
    assert.ok(resumedFrom > size * 0.2, `resumed from ${resumedFrom}`);
    assert.equal(cdn[0].bytesSent, size - resumedFrom, 'only the rest was sent');
    assert.equal(model.sha256, fileDigest(fixtureGgml('tiny.en')));
    assert.deepEqual(leftovers(t.home), []);
  } finally {
    hub.setThrottle(0);
    await t.cleanup();
  }
});

test('a file that changed on the server since the partial was written is downloaded again', async () => {
  const t = await tempStore();
  const repo = 'acme/whisper-ggml';
  const url = `${hub.url}/${repo}/resolve/main/ggml-tiny.en.bin`;
  hub.setThrottle(20 * 1024 * 1024);
  try {
    const controller = new AbortController();
    await rejectsWith(
      pullModel(url, {
        store: t.store,
        env,
        id: 'changed',
        signal: controller.signal,
        onProgress: (e) => {
          if (e.phase === 'download' && (e.done ?? 0) > 10 * 1024 * 1024) controller.abort();
        },
      }),
      'aborted',
    );
    hub.setThrottle(0);
    await hub.replaceFile(repo, 'ggml-tiny.en.bin', fixtureGgml('base-q8_0'));
    const seen = hub.requests.length;
    const model = await pullModel(url, { store: t.store, env, id: 'changed' });
    const cdn = hub.requests.slice(seen).filter((r) => r.path.startsWith('/cdn-lfs/'));
    assert.ok(
      cdn.some((r) => r.range && r.ifRange),
      'asked to resume, guarded by If-Range',
    );
    assert.ok(
      cdn.every((r) => r.status === 200),
      'server sent the whole new file',
    );
    assert.equal(model.sha256, fileDigest(fixtureGgml('base-q8_0')));
  } finally {
    hub.setThrottle(0);
    await hub.replaceFile(repo, 'ggml-tiny.en.bin', fixtureGgml('tiny.en'));
    await t.cleanup();
  }
});

test('--quantize converts the fetched ggml; ids and sources that clash are refused', async () => {
  const t = await tempStore();
  try {
    const q = await pullModel('hf://acme/whisper-ggml/ggml-tiny.en.bin', { store: t.store, env, quantize: 'q8_0' });
    assert.equal(q.id, 'tiny.en-q8_0');
    assert.equal(q.quantization, 'q8_0');
    assert.ok(q.size < statSync(fixtureGgml('tiny.en')).size, 'q8_0 is smaller than f16');
    // an installed id works as a source by itself
    const same = await pullModel('tiny.en-q8_0', { store: t.store, env });
    assert.equal(same.alreadyInstalled, true);
    // the same id from another source is not silently swapped
    const err = await rejectsWith(
      pullModel('hf://acme/private-whisper/ggml-model.bin', { store: t.store, env: { ...env, HF_TOKEN: TOKEN }, id: 'tiny.en-q8_0' }),
      'exists',
      /--force/,
    );
    assert.equal(err.exitCode, 21);
  } finally {
    await t.cleanup();
  }
});
