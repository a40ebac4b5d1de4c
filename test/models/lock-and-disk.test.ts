// The pieces under the pull: the cross-process lock (waiting, stale owners), a real ENOSPC during a
// download (a partial file that is /dev/full), and links that stay inside an archive being allowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import os from 'node:os';
import { acquireLock } from '../../src/models/sources/lock.js';
import { httpOpener, resumableDownload } from '../../src/models/sources/download.js';
import { extractArchive } from '../../src/models/sources/archive.js';
import { ModelSourceError } from '../../src/models/sources/errors.js';
import { startHubServer } from '../helpers/hub-server.js';
import { tarBuffer } from './archive-builders.js';

function scratch(): string {
  return mkdtempSync(join(os.tmpdir(), 'earshot-lock-'));
}

test('a second owner waits for the lock, then gets it', async () => {
  const dir = scratch();
  try {
    const path = join(dir, 'model.lock');
    const first = await acquireLock(path);
    let waited = false;
    let secondHeld = false;
    const second = acquireLock(path, { pollMs: 20, onWait: () => (waited = true) }).then((l) => {
      secondHeld = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(waited, true);
    assert.equal(secondHeld, false);
    await first.release();
    const lock = await second;
    assert.equal(secondHeld, true);
    await lock.release();
    assert.equal(existsSync(path), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a dead owner's lock is taken over; so is one nobody refreshed", async () => {
  const dir = scratch();
  try {
    const path = join(dir, 'model.lock');
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid!;
    writeFileSync(path, JSON.stringify({ pid: dead, host: os.hostname(), since: new Date().toISOString(), token: 'dead' }));
    const a = await acquireLock(path, { pollMs: 20 });
    await a.release();

    writeFileSync(path, JSON.stringify({ pid: 1, host: 'another-machine', since: '2020-01-01T00:00:00Z', token: 'old' }));
    const old = new Date(Date.now() - 120_000);
    utimesSync(path, old, old);
    const b = await acquireLock(path, { pollMs: 20, staleMs: 30_000 });
    await b.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ENOSPC while downloading is a disk_full error', async (t) => {
  if (!existsSync('/dev/full')) return t.skip('no /dev/full on this system');
  const dir = scratch();
  const payload = join(dir, 'payload.bin');
  writeFileSync(payload, Buffer.alloc(256 * 1024, 1));
  const hub = await startHubServer({ repos: { 'acme/small': { files: { 'model.bin': payload } } } });
  try {
    const partial = join(dir, 'x.partial');
    // A partial (with its sidecar, so it is kept) whose writes land on /dev/full: the kernel says ENOSPC.
    symlinkSync('/dev/full', partial);
    writeFileSync(`${partial}.json`, '{}');
    const url = `${hub.url}/acme/small/resolve/main/model.bin`;
    await assert.rejects(
      resumableDownload({ open: httpOpener({ url, authHint: () => 'auth', describe: url }), dest: join(dir, 'out.bin'), partial, describe: 'model.bin' }),
      (err: unknown) => err instanceof ModelSourceError && err.code === 'disk_full' && err.exitCode === 15 && /no space left/.test(err.message),
    );
    assert.equal(existsSync(join(dir, 'out.bin')), false);
  } finally {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('links that stay inside the archive are extracted', async () => {
  const dir = scratch();
  try {
    const archive = join(dir, 'ok.tar.gz');
    writeFileSync(
      archive,
      gzipSync(
        tarBuffer([
          { name: 'model/', type: '5' },
          { name: 'model/weights.bin', body: Buffer.from('weights') },
          { name: 'model/alias.bin', type: '2', linkname: 'weights.bin' },
          { name: 'model/copy.bin', type: '1', linkname: 'model/weights.bin' },
        ]),
      ),
    );
    const out = join(dir, 'out');
    const result = await extractArchive(archive, 'tar.gz', out);
    assert.equal(result.entries, 4);
    assert.equal(readlinkSync(join(out, 'model', 'alias.bin')), 'weights.bin');
    assert.ok(existsSync(join(out, 'model', 'copy.bin')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
