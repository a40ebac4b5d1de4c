// Archives: good ones (tar.gz of a ggml file, zip of a CTranslate2 folder, local and remote) install;
// hostile ones built here byte by byte (traversal, absolute paths, links out, devices, bombs,
// truncation) are refused with distinct errors and leave nothing behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import os from 'node:os';
import * as tar from 'tar';
import { pullModel, ModelSourceError } from '../../src/models/pull.js';
import { startHubServer, type HubServer } from '../helpers/hub-server.js';
import { fixtureGgml, fixtureCt2Folder, fileDigest, tempStore, leftovers, modelDirs } from './fixtures.js';
import { tarBuffer, tarChunks, zipBuffer, type TarEntry } from './archive-builders.js';

let scratch: string;
let goodTgz: string;
let goodZip: string;
let hub: HubServer;

before(async () => {
  scratch = mkdtempSync(join(os.tmpdir(), 'earshot-archives-'));
  // A real tar.gz made by the tar package: one ggml file inside a folder.
  const ggml = fixtureGgml('base-q8_0');
  goodTgz = join(scratch, 'whisper-base-q8_0.tar.gz');
  await tar.c({ gzip: true, file: goodTgz, cwd: dirname(dirname(ggml)) }, [join(basename(dirname(ggml)), basename(ggml))]);
  // A zip of the CTranslate2 folder, files under one top folder.
  const ct2 = fixtureCt2Folder();
  goodZip = join(scratch, 'faster-whisper-model.zip');
  writeFileSync(
    goodZip,
    zipBuffer([
      { name: 'faster-whisper-model/', mode: 0o040755 },
      ...readdirSync(ct2)
        .filter((name) => !name.startsWith('.'))
        .map((name) => ({ name: `faster-whisper-model/${name}`, body: readFileSync(join(ct2, name)), deflate: !name.endsWith('.bin') })),
    ]),
  );
  hub = await startHubServer({ repos: { 'acme/archives': { files: { 'model.tar.gz': goodTgz } } } });
});

after(async () => {
  await hub?.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function rejectsWith(p: Promise<unknown>, code: string, pattern?: RegExp): Promise<ModelSourceError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ModelSourceError, `expected a ModelSourceError, got ${String((err as Error)?.stack ?? err)}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return err;
  }
  assert.fail(`expected rejection with ${code}`);
}

function findNamed(root: string, pattern: RegExp): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (pattern.test(e.name)) out.push(p);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

function writeTgz(name: string, entries: TarEntry[]): string {
  const path = join(scratch, name);
  writeFileSync(path, gzipSync(tarBuffer(entries)));
  return path;
}

async function expectRefused(archive: string, code: string, pattern?: RegExp, limits?: Record<string, number>): Promise<void> {
  const t = await tempStore();
  try {
    const err = await rejectsWith(pullModel(archive, { store: t.store, id: 'bad', ...(limits ? { extractLimits: limits } : {}) }), code, pattern);
    assert.equal(typeof err.exitCode, 'number');
    assert.deepEqual(modelDirs(t.home), [], 'nothing installed');
    assert.deepEqual(leftovers(t.home), [], 'nothing left in tmp');
    assert.deepEqual(findNamed(scratch, /^evil/), [], 'nothing written outside');
    assert.deepEqual(findNamed(t.home, /^evil/), [], 'nothing extracted kept');
  } finally {
    await t.cleanup();
  }
}

test('a local .tar.gz holding a ggml file installs', async () => {
  const t = await tempStore();
  try {
    const model = await pullModel(goodTgz, { store: t.store });
    assert.equal(model.id, 'whisper-base-q8_0');
    assert.equal(model.sha256, fileDigest(fixtureGgml('base-q8_0')));
    assert.deepEqual(leftovers(t.home), []);
  } finally {
    await t.cleanup();
  }
});

test('a remote .tar.gz (https) installs', async () => {
  const t = await tempStore();
  try {
    const model = await pullModel(`${hub.url}/acme/archives/resolve/main/model.tar.gz`, { store: t.store, id: 'remote-tgz' });
    assert.equal(model.sha256, fileDigest(fixtureGgml('base-q8_0')));
    assert.deepEqual(leftovers(t.home), []);
  } finally {
    await t.cleanup();
  }
});

test('a .zip of a CTranslate2 folder is extracted and converted', async () => {
  const t = await tempStore();
  try {
    const model = await pullModel(goodZip, { store: t.store });
    assert.equal(model.id, 'faster-whisper-model');
    assert.equal((model.details as { converted_from?: string }).converted_from, 'ct2');
    assert.deepEqual(leftovers(t.home), []);
  } finally {
    await t.cleanup();
  }
});

test('tar: ../ path traversal is refused', async () => {
  await expectRefused(writeTgz('traversal.tar.gz', [{ name: 'model/../../evil.txt', body: Buffer.from('x') }]), 'unsafe_archive', /escaping/);
});

test('tar: absolute paths are refused', async () => {
  const target = join(scratch, 'evil-absolute.txt');
  await expectRefused(writeTgz('absolute.tar.gz', [{ name: target, body: Buffer.from('x') }]), 'unsafe_archive', /absolute/);
  assert.equal(existsSync(target), false);
});

test('tar: a symlink pointing outside, then a file written through it, is refused', async () => {
  const outside = join(scratch, 'outside');
  mkdirSync(outside, { recursive: true });
  await expectRefused(
    writeTgz('symlink.tar.gz', [
      { name: 'model/', type: '5' },
      { name: 'model/escape', type: '2', linkname: '../../../../../../../../..' + outside },
      { name: 'model/escape/evil.txt', body: Buffer.from('x') },
    ]),
    'unsafe_archive',
    /link/,
  );
  await expectRefused(writeTgz('symlink-abs.tar.gz', [{ name: 'evil-link', type: '2', linkname: '/etc/passwd' }]), 'unsafe_archive', /absolute/);
  assert.deepEqual(readdirSync(outside), []);
});

test('tar: a hard link to a file outside is refused', async () => {
  await expectRefused(writeTgz('hardlink.tar.gz', [{ name: 'evil-hard', type: '1', linkname: '../../etc/passwd' }]), 'unsafe_archive');
});

test('tar: device files are refused', async () => {
  await expectRefused(writeTgz('device.tar.gz', [{ name: 'evil-dev', type: '3' }]), 'unsafe_archive', /CharacterDevice/);
});

test('tar.gz: a decompression bomb stops early (default limits)', async () => {
  // 512 MiB of zeros in ~0.5 MB: the ratio check trips long before it is all written.
  const bomb = join(scratch, 'bomb.tar.gz');
  await pipeline(Readable.from(tarChunks([{ name: 'evil-zeros.bin', size: 512 * 1024 * 1024 }])), createGzip({ level: 6 }), createWriteStream(bomb));
  await expectRefused(bomb, 'archive_too_large', /bomb/);
});

test('tar: too many entries / too many bytes are refused', async () => {
  const many: TarEntry[] = Array.from({ length: 50 }, (_, i) => ({ name: `evil-${i}.txt`, body: Buffer.from('x') }));
  await expectRefused(writeTgz('many.tar.gz', many), 'archive_too_large', /entries/, { maxEntries: 20 });
  await expectRefused(writeTgz('big.tar.gz', [{ name: 'evil-big.bin', size: 4 * 1024 * 1024 }]), 'archive_too_large', /expands past/, {
    maxBytes: 1024 * 1024,
  });
});

test('corrupt archives: truncated tar.gz, garbage .zip', async () => {
  const truncated = join(scratch, 'truncated.tar.gz');
  const good = readFileSync(goodTgz);
  writeFileSync(truncated, good.subarray(0, Math.floor(good.length / 2)));
  await expectRefused(truncated, 'corrupt_archive');
  const garbage = join(scratch, 'garbage.zip');
  writeFileSync(garbage, Buffer.from('this is not a zip file at all, just text pretending'));
  await expectRefused(garbage, 'corrupt_archive');
});

test('zip: ../ traversal and absolute names are refused', async () => {
  await expectRefused(writeZip('traversal.zip', [{ name: '../evil.txt', body: Buffer.from('x') }]), 'unsafe_archive');
  await expectRefused(writeZip('absolute.zip', [{ name: '/tmp/evil.txt', body: Buffer.from('x') }]), 'unsafe_archive', /absolute/);
});

test('zip: symlink entries pointing outside are refused', async () => {
  await expectRefused(
    writeZip('symlink.zip', [{ name: 'evil-link', body: Buffer.from('../../../../etc/passwd'), mode: 0o120777 }]),
    'unsafe_archive',
    /outside/,
  );
});

test('zip: a bomb is refused by its declared size and, if the header lies, by counting', async () => {
  const zeros = Buffer.alloc(96 * 1024 * 1024);
  await expectRefused(writeZip('bomb.zip', [{ name: 'evil.bin', body: zeros, deflate: true }]), 'archive_too_large', /bomb/);
  // Header says 1 KiB; the stream inflates to 96 MiB.
  await expectRefused(writeZip('liar.zip', [{ name: 'evil.bin', body: zeros, deflate: true, declaredSize: 1024 }]), 'corrupt_archive', /too many bytes/);
});

function writeZip(name: string, entries: Parameters<typeof zipBuffer>[0]): string {
  const path = join(scratch, name);
  writeFileSync(path, zipBuffer(entries));
  return path;
}
