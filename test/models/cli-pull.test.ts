// The `earshot models` CLI as a user runs it, in child processes against the Hub-protocol server:
// a pull killed with SIGKILL halfway resumes on the next run (Range request) and ends verified,
// `list` never shows the half-downloaded model, and two concurrent pulls download once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHubServer, type HubServer } from '../helpers/hub-server.js';
import { fixtureGgml, fileDigest, tempStore, modelDirs, leftovers } from './fixtures.js';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'earshot.js');
const REPO = 'acme/whisper-ggml';
const FILE = 'ggml-tiny.en.bin';

let hub: HubServer;

before(async () => {
  hub = await startHubServer({ repos: { [REPO]: { files: { [FILE]: fixtureGgml('tiny.en') } } } });
});

after(async () => {
  await hub?.close();
});

interface Run {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function earshot(args: string[], home: string): Run {
  const child = spawn(process.execPath, [BIN, 'models', '--home', home, ...args], {
    cwd: ROOT,
    env: { ...process.env, HF_ENDPOINT: hub.url, EARSHOT_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

async function listIds(home: string): Promise<string[]> {
  const r = await earshot(['list', '--json'], home).done;
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as Array<{ id: string }>).map((m) => m.id);
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a pull killed with SIGKILL halfway resumes with a Range request and ends verified', async () => {
  const t = await tempStore();
  const size = statSync(fixtureGgml('tiny.en')).size;
  const source = `hf://${REPO}/${FILE}`;
  try {
    hub.setThrottle(8 * 1024 * 1024);
    const seen = hub.requests.length;
    const first = earshot(['pull', source, '--id', 'tiny-resumed'], t.home);
    const cdnRequest = () => hub.requests.slice(seen).find((r) => r.path.startsWith('/cdn-lfs/'));
    await waitFor(() => (cdnRequest()?.bytesSent ?? 0) > size * 0.25, 'a quarter of the download');
    // mid-download, the model is not listed
    assert.deepEqual(await listIds(t.home), []);
    await waitFor(() => (cdnRequest()?.bytesSent ?? 0) > size * 0.5, 'half of the download');
    first.child.kill('SIGKILL');
    const killed = await first.done;
    assert.equal(killed.signal, 'SIGKILL');
    assert.deepEqual(await listIds(t.home), [], 'a killed pull leaves no model that looks installed');
    assert.deepEqual(modelDirs(t.home), []);

    hub.setThrottle(0);
    const before = hub.requests.length;
    const second = await earshot(['pull', source, '--id', 'tiny-resumed'], t.home).done;
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /installed: tiny-resumed/);
    assert.match(second.stderr, /resuming from/);
    const resumed = hub.requests.slice(before).filter((r) => r.path.startsWith('/cdn-lfs/'));
    assert.equal(resumed.length, 1);
    assert.match(resumed[0].range ?? '', /^bytes=[1-9]\d*-$/, 'the rerun asked for the rest only');
    assert.equal(resumed[0].status, 206);
    assert.ok(resumed[0].bytesSent < size * 0.75, `sent ${resumed[0].bytesSent} of ${size}`);

    assert.deepEqual(leftovers(t.home), [], 'no partial or staged files left');
    assert.deepEqual(
      readdirSync(join(t.home, 'tmp')).filter((n) => n.startsWith('pull@')),
      [],
      "the killed run's staging folder was cleaned up",
    );

    const verify = await earshot(['verify', 'tiny-resumed'], t.home).done;
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, new RegExp(fileDigest(fixtureGgml('tiny.en'))));
    assert.deepEqual(await listIds(t.home), ['tiny-resumed']);
  } finally {
    hub.setThrottle(0);
    await t.cleanup();
  }
});

test('two pulls of the same model at once (two processes) download it once', async () => {
  const t = await tempStore();
  try {
    hub.setThrottle(40 * 1024 * 1024);
    const before = hub.downloads(REPO, FILE).length;
    const a = earshot(['pull', `hf://${REPO}/${FILE}`, '--id', 'shared'], t.home);
    const b = earshot(['pull', `hf://${REPO}/${FILE}`, '--id', 'shared'], t.home);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    assert.equal(ra.code, 0, ra.stderr);
    assert.equal(rb.code, 0, rb.stderr);
    const outputs = [ra.stdout, rb.stdout].sort();
    assert.match(outputs[0], /^already installed: shared/);
    assert.match(outputs[1], /^installed: shared/);
    assert.equal(hub.downloads(REPO, FILE).length - before, 1, 'one download');
    assert.deepEqual(await listIds(t.home), ['shared']);
  } finally {
    hub.setThrottle(0);
    await t.cleanup();
  }
});

test('CLI errors: distinct exit codes and messages', async () => {
  const t = await tempStore();
  try {
    const unknown = await earshot(['pull', 'tiny.enn'], t.home).done;
    assert.equal(unknown.code, 11);
    assert.match(unknown.stderr, /unknown model "tiny\.enn".*Did you mean "tiny\.en"/);
    const missing = await earshot(['pull', `hf://${REPO}/nope.bin`], t.home).done;
    assert.equal(missing.code, 12);
    const notInstalled = await earshot(['verify', 'ghost'], t.home).done;
    assert.equal(notInstalled.code, 22);
    const rm = await earshot(['rm', 'ghost'], t.home).done;
    assert.equal(rm.code, 22);
  } finally {
    await t.cleanup();
  }
});
