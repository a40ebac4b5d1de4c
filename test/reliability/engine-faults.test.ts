// Engine faults on a real server (issue 20): whisper.cpp workers SIGKILLed at random while requests are
// in flight, and a worker that hangs (SIGSTOP: alive, silent). Every request gets a definite answer —
// its transcript, or a 503 naming what happened — none hangs, no killed worker is left as a zombie,
// and the pool comes back with a fresh worker that serves the next request.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { fileBlob, postForm } from '../helpers/audio.js';
import { startServer, workerPids, type TestServer } from '../helpers/server.js';
import { isolatedHome, procState, waitFor, zombieChildren } from './helpers.js';

const MODEL = 'tiny.en';
const clips = pocketsphinxClips().filter((c) => c.set === 'librivox');

interface Answer {
  status: number;
  text?: string;
  code?: string;
  message?: string;
  seconds: number;
}

/** Settles with `promise`, or rejects when it takes longer than `ms` (a hang fails the test instead of stalling it). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** POST /transcribe; a request still unanswered after `timeoutMs` fails the test (a hang). */
async function transcribe(server: TestServer, path: string, timeoutMs = 150_000): Promise<Answer> {
  const started = performance.now();
  const request = async () => {
    const res = await postForm(`${server.url}/transcribe`, { file: fileBlob(path), fields: { language: 'en' } });
    return { res, body: (await res.json()) as { text?: string; error?: { code: string; message: string } } };
  };
  const { res, body } = await within(request(), timeoutMs, `POST /transcribe ${path}`);
  return { status: res.status, text: body.text, code: body.error?.code, message: body.error?.message, seconds: (performance.now() - started) / 1000 };
}

interface Health {
  busy: number;
  queued: number;
  worker_restarts: number;
}
const health = async (server: TestServer) => (await (await fetch(`${server.url}/health`)).json()) as Health;

describe('engine workers killed during load', () => {
  let server: TestServer;
  let home: string;
  before(async () => {
    home = isolatedHome();
    server = await startServer({ model: MODEL, env: { EARSHOT_HOME: home } });
  });
  after(async () => {
    await server?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('answers every request (transcript or 503 worker_crashed), reaps the dead worker and respawns it', async () => {
    const [firstWorker] = await workerPids(server.pid);
    assert.ok(firstWorker, 'a whisper.cpp worker runs');
    // Six requests at once on one worker: one decodes, the rest wait in the queue.
    const answers = Promise.all(Array.from({ length: 6 }, (_, i) => transcribe(server, clips[i % clips.length]!.path)));
    const killed: number[] = [];
    for (let round = 0; round < 2; round++) {
      // the worker of this round is busy with a request; kill it mid-decode
      const victim = await waitFor(
        'a busy worker',
        async () => {
          const [pid] = await workerPids(server.pid);
          return pid !== undefined && !killed.includes(pid) && (await health(server)).busy > 0 ? pid : undefined;
        },
        60_000,
      );
      process.kill(victim, 'SIGKILL');
      killed.push(victim);
    }
    const results = await answers;
    const failed = results.filter((r) => r.status !== 200);
    for (const r of results) {
      if (r.status === 200) assert.ok(r.text && r.text.trim().length > 0, 'a transcript');
      else {
        assert.equal(r.status, 503, JSON.stringify(r));
        assert.equal(r.code, 'worker_crashed');
        assert.match(r.message ?? '', /SIGKILL/, 'the answer says what happened to the worker');
      }
    }
    // A kill fails only the job running on that worker (one state per worker here); queued jobs wait for the respawn.
    assert.ok(failed.length >= 1 && failed.length <= killed.length, `${failed.length} failed for ${killed.length} kills`);
    assert.ok(results.length - failed.length >= 4, 'the queued requests were served by the respawned worker');
    // Killed workers are reaped (gone from /proc, not zombies) and a fresh one serves.
    for (const pid of killed) await waitFor(`worker ${pid} reaped`, () => (procState(pid) === null ? true : undefined), 5000);
    assert.deepEqual(zombieChildren(server.pid), []);
    const now = await workerPids(server.pid);
    assert.equal(now.length, 1, 'exactly one worker again');
    assert.ok(!killed.includes(now[0]!));
    assert.ok((await health(server)).worker_restarts >= killed.length);
    const again = await transcribe(server, clips[0]!.path);
    assert.equal(again.status, 200);
  });
});

describe('an engine worker that hangs', () => {
  let server: TestServer;
  let home: string;
  const floorSeconds = 20;
  before(async () => {
    home = isolatedHome();
    const config = join(home, 'config.json');
    // a short watchdog for the test; the defaults (60 s floor, 10 × audio length) suit a busy machine
    writeFileSync(config, JSON.stringify({ limits: { jobTimeoutFloorSeconds: floorSeconds, jobTimeoutPerAudioSecond: 1 } }));
    server = await startServer({ model: MODEL, args: ['--config', config], env: { EARSHOT_HOME: home } });
  });
  after(async () => {
    await server?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('is killed by the watchdog: the request answers 503 worker_timeout, a fresh worker serves the next one', async () => {
    const [stuck] = await workerPids(server.pid);
    assert.ok(stuck);
    // SIGSTOP: the process lives on and reads nothing — a hang, as a deadlocked decoder would be.
    process.kill(stuck, 'SIGSTOP');
    const clip = clips[0]!;
    const answer = await transcribe(server, clip.path);
    assert.equal(answer.status, 503, JSON.stringify(answer));
    assert.equal(answer.code, 'worker_timeout');
    assert.match(answer.message ?? '', /exceeded 20 s.*presumed hung/);
    assert.ok(answer.seconds >= floorSeconds - 1, `answered after ${answer.seconds} s, at the deadline`);
    await waitFor('the hung worker killed and reaped', () => (procState(stuck) === null ? true : undefined), 5000);
    assert.deepEqual(zombieChildren(server.pid), []);
    const next = await transcribe(server, clip.path);
    assert.equal(next.status, 200, JSON.stringify(next));
    assert.match(next.text ?? '', /\w+/);
    const [fresh] = await workerPids(server.pid);
    assert.ok(fresh && fresh !== stuck);
  });
});
