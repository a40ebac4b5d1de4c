// Storage faults on a real server (issue 20): a damaged history file at start, the server SIGKILLed while
// it writes history (what it acknowledged is there after the restart), the disk filling up under the
// history and during a model pull (a real 1 MiB tmpfs: ENOSPC from the kernel, not a simulation).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statfsSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { earshotHome } from '../../src/config/env.js';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { fileBlob, postForm } from '../helpers/audio.js';
import { startHubServer, type HubServer } from '../helpers/hub-server.js';
import { startServer, workerPids, type TestServer } from '../helpers/server.js';
import { isolatedHome, mountTmpfs, procState, waitFor } from './helpers.js';

const MODEL = 'tiny.en';
const cards = pocketsphinxClips().filter((c) => c.set === 'cards');

async function transcribe(server: TestServer, path: string): Promise<{ status: number; text?: string; error?: { code: string; message: string } }> {
  const res = await postForm(`${server.url}/transcribe`, { file: fileBlob(path), fields: { language: 'en' }, headers: {} });
  return { status: res.status, ...((await res.json()) as { text?: string; error?: { code: string; message: string } }) };
}

async function historyTexts(server: TestServer): Promise<string[]> {
  const res = await fetch(`${server.url}/api/history?page_size=200`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { items: Array<{ text: string }> }).items.map((i) => i.text);
}

/** Fills a file system to the last byte: big writes, then smaller ones, until the kernel says ENOSPC. */
function fillDisk(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  try {
    for (let chunk = 256 * 1024; chunk >= 512; chunk /= 2) {
      const bytes = Buffer.alloc(chunk, 1);
      for (;;) {
        try {
          writeSync(fd, bytes);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  assert.ok(statfsSync(dir).bavail === 0, 'the tmpfs is full');
  return path;
}

describe('history across a damaged file and a kill -9', () => {
  let home: string;
  let server: TestServer | undefined;
  before(() => {
    home = isolatedHome();
  });
  after(async () => {
    await server?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('moves a damaged history aside at start, and keeps every acknowledged entry when the server is SIGKILLed mid-write', async () => {
    writeFileSync(join(home, 'history.sqlite'), Buffer.alloc(32 * 1024, 0xa5));
    server = await startServer({ model: MODEL, env: { EARSHOT_HOME: home } });
    assert.match(server.output(), /history database .* is damaged .* moved to .*starting a fresh history/);
    assert.equal(readdirSync(home).filter((f) => f.startsWith('history.sqlite.corrupt-')).length, 1);

    // Two clients transcribe back to back; once four answers are in, the server dies mid-stream of requests.
    const acknowledged: string[] = [];
    let running = true;
    const client = async (offset: number) => {
      for (let i = offset; running; i += 2) {
        try {
          const r = await transcribe(server!, cards[i % cards.length]!.path);
          if (r.status === 200 && running) acknowledged.push(r.text!.trim());
        } catch {
          return; // the connection died with the server: never acknowledged
        }
      }
    };
    const clients = [client(0), client(1)];
    await waitFor('four acknowledged transcriptions', () => (acknowledged.length >= 4 ? true : undefined), 120_000);
    const workers = await workerPids(server.pid);
    running = false;
    process.kill(server.pid, 'SIGKILL');
    const counted = acknowledged.slice();
    await Promise.all(clients);
    await server.stop();
    // The workers notice their parent is gone (stdin closes) and exit: none is left behind.
    for (const pid of workers)
      await waitFor(`orphaned worker ${pid} gone`, () => (procState(pid) === null || procState(pid) === 'Z' ? true : undefined), 10_000);

    server = await startServer({ model: MODEL, env: { EARSHOT_HOME: home } });
    assert.doesNotMatch(server.output(), /damaged|history disabled/, 'the history written before the kill opens cleanly');
    const texts = (await historyTexts(server)).map((t) => t.trim());
    for (const text of new Set(counted)) {
      const want = counted.filter((t) => t === text).length;
      const have = texts.filter((t) => t === text).length;
      assert.ok(have >= want, `"${text}" acknowledged ${want} times, ${have} in the history after the restart`);
    }
  });
});

describe('a full disk', () => {
  let fs: ReturnType<typeof mountTmpfs>;
  let server: TestServer | undefined;
  let hub: HubServer | undefined;
  before(() => {
    fs = mountTmpfs('1m');
  });
  after(async () => {
    await server?.stop();
    await hub?.close();
    if ('dir' in fs) fs.unmount();
  });

  it('under the history: transcription still answers, the failed write is logged, history resumes when space returns', async (t) => {
    if (!('dir' in fs)) return t.skip(fs.reason);
    const home = isolatedHome(mkdtempSync(join(fs.dir, 'home-')));
    server = await startServer({ model: MODEL, env: { EARSHOT_HOME: home } });
    const clip = cards[0]!;
    assert.equal((await transcribe(server, clip.path)).status, 200);
    assert.equal((await historyTexts(server)).length, 1);

    const filler = fillDisk(fs.dir);
    const full = await transcribe(server, clip.path);
    assert.equal(full.status, 200, 'transcription does not depend on its record');
    assert.match(full.text ?? '', /\w/);
    await waitFor('the failed history write in the log', () => (/history: write failed/.test(server!.output()) ? true : undefined), 5000);
    assert.match(server.output(), /SQLITE_FULL|database or disk is full/);

    rmSync(filler);
    assert.equal((await transcribe(server, clip.path)).status, 200);
    const texts = await historyTexts(server);
    assert.equal(texts.length, 2, 'the entries before and after the full disk; the one written onto a full disk is missing, nothing else');
    await server.stop();
    server = undefined;
  });

  it('during a model pull: 503 disk_full with the reason, nothing installed; with space back the same pull resumes and installs', async (t) => {
    // Its own tmpfs, big enough for the model (the space check before a download passes), filled up while it downloads.
    const big = mountTmpfs('200m');
    if (!('dir' in big)) return t.skip(big.reason); // CI runs as root: these run there
    try {
      const home = mkdtempSync(join(big.dir, 'pull-'));
      mkdirSync(join(home, 'models'));
      symlinkSync(join(earshotHome(), 'models', MODEL), join(home, 'models', MODEL));
      const file = join(earshotHome(), 'models', MODEL, 'model.bin');
      // ~4 s for the 74 MiB file: time to fill the disk halfway through
      hub = await startHubServer({ repos: { 'acme/whisper-ggml': { files: { 'ggml-pulled.bin': file } } }, throttleBytesPerSec: 20 * 1024 * 1024 });
      server = await startServer({ model: MODEL, env: { EARSHOT_HOME: home, HF_ENDPOINT: hub.url } });
      const pull = () =>
        fetch(`${server!.url}/api/models/load`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ source: 'hf://acme/whisper-ggml/ggml-pulled.bin', default: false, wait: true }),
        });
      const first = pull();
      await waitFor(
        'the download under way',
        () => (hub!.downloads('acme/whisper-ggml', 'ggml-pulled.bin').some((r) => r.bytesSent > 10 * 1024 * 1024) ? true : undefined),
        60_000,
      );
      const filler = fillDisk(big.dir);
      const res = await first;
      const body = (await res.json()) as { error?: { code: string; message: string } };
      assert.equal(res.status, 503, JSON.stringify(body));
      assert.equal(body.error?.code, 'disk_full');
      assert.match(body.error?.message ?? '', /no space left/i);
      const installed = async () =>
        ((await (await fetch(`${server!.url}/api/models`)).json()) as { installed: Array<{ id: string }> }).installed.map((m) => m.id);
      assert.deepEqual(await installed(), [MODEL], 'nothing half-installed');
      assert.equal((await transcribe(server, cards[0]!.path)).status, 200, 'the server still serves');

      rmSync(filler);
      const again = await pull();
      assert.equal(again.status, 200, await again.clone().text());
      assert.deepEqual((await installed()).sort(), [MODEL, 'pulled'].sort());
      const ranges = hub.downloads('acme/whisper-ggml', 'ggml-pulled.bin').map((r) => r.range);
      assert.ok(
        ranges.some((r) => r?.startsWith('bytes=') && !r.startsWith('bytes=0-')),
        `the second pull resumed the partial file: ${JSON.stringify(ranges)}`,
      );
    } finally {
      await server?.stop();
      server = undefined;
      big.unmount();
    }
  });
});
