// The bounded protocol fuzz for CI: a few dozen seeded cases on each of /ws, /v1/realtime,
// /api/monitor and Wyoming against one real server, while a well-behaved /ws client streams real
// speech beside them and must get its transcript. Longer runs: `npm run fuzz -- --cases 2000`.
// A failure names its seed and case: EARSHOT_FUZZ_SEED=<seed> replays the same cases.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { werCount } from '../../src/eval/wer.js';
import { isolatedHome } from '../e2e/browser.js';
import { freePort, startServer, type TestServer } from '../helpers/server.js';
import { clipPcm16, type FuzzInterface, fuzzInterface, goodWsSession } from './protocol-fuzz.js';

const SEED = Number(process.env.EARSHOT_FUZZ_SEED ?? Date.now() % 1_000_000);
const CASES = Number(process.env.EARSHOT_FUZZ_CASES ?? 40);
/** wall-clock bound per interface: CI's budget, whatever the machine's speed */
const SECONDS_PER_INTERFACE = Number(process.env.EARSHOT_FUZZ_SECONDS ?? 20);
const clip = pocketsphinxClips().find((c) => c.id.endsWith('0870'))!;

describe(`protocol fuzz (seed ${SEED})`, { timeout: 600_000 }, () => {
  let dir: string;
  let server: TestServer;
  let wyoming: string;

  before(async () => {
    console.log(`fuzz seed ${SEED}: replay with EARSHOT_FUZZ_SEED=${SEED}`);
    dir = await mkdtemp(join(tmpdir(), 'earshot-fuzz-'));
    wyoming = `tcp://127.0.0.1:${await freePort()}`;
    server = await startServer({
      model: 'tiny.en',
      args: ['--wyoming', wyoming, '--no-zeroconf'],
      env: { EARSHOT_HOME: await isolatedHome(dir), EARSHOT_LIVE_MODEL: 'tiny.en' },
    });
  });
  after(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const iface of ['ws', 'realtime', 'wyoming', 'monitor'] as FuzzInterface[]) {
    it(`${iface}: every misuse answered the protocol's way, a concurrent good session unaffected`, async () => {
      const good = goodWsSession(server.url, clipPcm16(clip.path));
      const result = await fuzzInterface({ url: server.url, wyoming }, iface, {
        seed: SEED,
        cases: CASES,
        deadlineMs: Date.now() + SECONDS_PER_INTERFACE * 1000,
      });
      console.log(
        `${iface}: ${result.cases} cases, ${result.frames} frames, ${result.errorReplies} error replies, closes ${JSON.stringify(result.closes)} in ${result.ms} ms`,
      );
      assert.deepEqual(result.failures, [], `seed ${SEED}`);
      assert.ok(result.cases >= Math.min(CASES, 10), `only ${result.cases} cases ran`);
      const text = await good;
      const { errors, words } = werCount(clip.reference, text);
      assert.ok(errors / words <= 0.35, `good session beside the fuzz: ${text}`);
      assert.equal(server.child.exitCode, null, 'server still running');
      const health = await fetch(`${server.url}/health`);
      assert.equal(health.status, 200);
    });
  }

  it('the server logged no uncaught error', () => {
    assert.doesNotMatch(server.output(), /uncaught|unhandled|FATAL|"level":60/i);
  });
});
