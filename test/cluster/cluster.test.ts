// Three Earshot nodes on PostgreSQL and Redis behind nginx (test/cluster/harness.ts), all real:
// history written through one node is searched on another; a live /ws session through the balancer
// shows on every node's monitor; a per-key rate limit is one budget for the whole cluster; losing
// PostgreSQL or Redis degrades a node clearly (503 with reasons, live transcription unaffected) and
// it recovers by itself when they return.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { werCount } from '../../src/eval/wer.js';
import { fileBlob, loadClip, postForm } from '../helpers/audio.js';
import { connectLive, sendAudio, type LiveClient, type Msg } from '../helpers/live.js';
import { startCluster, type Cluster } from './harness.js';

const clip = pocketsphinxClips().find((c) => c.id.endsWith('0880'))!; // "he was not an ill disposed young man"

type Json = Record<string, any>;

/** the key every request uses (no limit), and one limited to RATE requests per minute */
const KEY = 'sk-cluster-test-key';
const LIMITED = 'sk-cluster-limited';
const RATE = 5;
const auth = (key = KEY) => ({ authorization: `Bearer ${key}` });

/** Polls `fn` until it returns a value; the write behind a response may land a moment later. */
async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function getJson(url: string, key = KEY): Promise<{ status: number; body: Json }> {
  const res = await fetch(url, { headers: auth(key) });
  return { status: res.status, body: (await res.json()) as Json };
}

/** A live final of the clip: English live sessions run on Moonshine, which may spell a word its own way ("ill-sposed"). */
function assertLiveText(text: unknown): void {
  const { errors } = werCount(clip.reference, String(text));
  assert.ok(errors <= 2, `live final "${String(text)}" against "${clip.reference}": ${errors} word errors`);
}

/** A live session: config, then the clip between two seconds of silence, then stop; returns ready and final. */
async function speak(client: LiveClient, samples: Float32Array): Promise<{ ready: Msg; final: Msg }> {
  client.ws.send(JSON.stringify({ type: 'config', language: 'en', sample_rate: 16000, encoding: 'pcm_s16le' }));
  const ready = await client.next('ready');
  const silence = new Float32Array(16000 * 2);
  for (const audio of [silence, samples, silence]) await sendAudio(client.ws, audio);
  client.ws.send(JSON.stringify({ type: 'stop' }));
  const final = await client.next('final', 90_000);
  return { ready, final };
}

describe('cluster: three nodes, PostgreSQL, Redis, nginx', { timeout: 420_000 }, () => {
  let cluster: Cluster;
  let dir: string;
  let speech: Float32Array;
  before(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'earshot-cluster-test-'));
    const config = join(dir, 'earshot.json');
    await writeFile(
      config,
      JSON.stringify({
        server: {
          keys: [
            { name: 'tests', key: KEY, rateLimitPerMinute: 0 },
            { name: 'limited', key: LIMITED, rateLimitPerMinute: RATE },
          ],
        },
      }),
    );
    speech = await loadClip(clip.path);
    cluster = await startCluster({ nodes: 3, env: { EARSHOT_CONFIG: config } });
  });
  after(async () => {
    await cluster?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('finds on node C a transcript made through node A', async (t) => {
    t.diagnostic(`nodes (${cluster.network}): ${cluster.nodes.map((n) => `${n.name} ${n.url}`).join(', ')}; balancer ${cluster.url}`);
    if (cluster.network === 'netns') {
      // separate hosts: one address each, all on the same port
      assert.equal(new Set(cluster.nodes.map((n) => new URL(n.url).hostname)).size, cluster.nodes.length);
      assert.equal(new Set(cluster.nodes.map((n) => n.port)).size, 1);
    }
    const [a, , c] = cluster.nodes;
    const res = await postForm(`${a!.url}/transcribe`, { fileField: 'audio', file: fileBlob(clip.path), fields: { language: 'en' }, headers: auth() });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as Json;
    assert.match(body.text, /ill[- ]disposed/i);
    const found = await eventually('history entry on node C', async () => {
      const page = (await getJson(`${c!.url}/api/history?q=disposed`)).body;
      return page.total > 0 ? page : undefined;
    });
    assert.equal(found.total, 1);
    assert.equal(found.items[0].kind, 'batch');
    assert.match(found.items[0].text, /ill[- ]disposed/i);
    // and through the balancer, whichever node answers
    const viaLb = (await getJson(`${cluster.url}/api/history?q=disposed`)).body;
    assert.equal(viaLb.items[0].id, found.items[0].id);
  });

  it('shows a live /ws session made through nginx on the monitor of every node', async () => {
    const monitors = await Promise.all(cluster.nodes.map((n) => connectLive(`${n.url.replace('http', 'ws')}/api/monitor?api_key=${KEY}`)));
    try {
      await Promise.all(monitors.map((m) => m.next('snapshot')));
      const client = await connectLive(`${cluster.wsUrl}/ws?api_key=${KEY}`);
      const { ready, final } = await speak(client, speech);
      client.ws.close();
      assertLiveText(final.text);
      const id = ready.session_id as string;
      // every monitor names the same node for the session, and carries its final
      const seen = await Promise.all(
        monitors.map(async (m) => {
          const started = await eventually('session message', async () => m.messages.find((x) => x.type === 'session' && x.id === id));
          const fin = await eventually('final message', async () => m.messages.find((x) => x.type === 'final' && x.session_id === id));
          return { node: started.node as string, text: fin.text as string };
        }),
      );
      const owner = seen[0]!.node;
      assert.ok(
        cluster.nodes.some((n) => n.name === owner),
        `session on a cluster node, not ${owner}`,
      );
      for (const s of seen) assert.deepEqual(s, { node: owner, text: final.text });
      // a monitor opened later on another node finds the session in its snapshot
      const other = cluster.nodes.find((n) => n.name !== owner)!;
      const late = await connectLive(`${other.url.replace('http', 'ws')}/api/monitor?api_key=${KEY}`);
      const snapshot = await late.next('snapshot');
      late.ws.close();
      const session = (snapshot.sessions as Json[]).find((s) => s.id === id)!;
      assert.equal(session.node, owner);
      assert.equal(session.utterances[0].final.text, final.text);
    } finally {
      for (const m of monitors) m.ws.close();
    }
  });

  it(`allows ${RATE} requests per minute for a key across all nodes, not ${RATE} per node`, async () => {
    const targets = [...cluster.nodes.map((n) => n.url), cluster.url];
    const statuses: number[] = [];
    // 3 requests to each node and the balancer, one after another: the budget is shared
    for (let round = 0; round < 3; round++) {
      for (const base of targets) statuses.push((await fetch(`${base}/api/history?q=nothing`, { headers: auth(LIMITED) })).status);
    }
    assert.equal(statuses.filter((s) => s === 200).length, RATE, statuses.join(' '));
    assert.equal(statuses.filter((s) => s === 429).length, statuses.length - RATE, statuses.join(' '));
    assert.deepEqual(statuses.slice(0, RATE), Array(RATE).fill(200), 'the first ones pass, wherever they land');
    // the unlimited key is unaffected
    assert.equal((await fetch(`${cluster.nodes[2]!.url}/api/history`, { headers: auth() })).status, 200);
  });

  it('reports shared history unavailable while PostgreSQL is down, keeps transcribing, and recovers', async () => {
    const [a, b] = cluster.nodes;
    await cluster.pg.stop();
    try {
      const history = await getJson(`${b!.url}/api/history?q=disposed`);
      assert.equal(history.status, 503);
      assert.equal(history.body.error.code, 'history_unavailable');
      assert.match(history.body.error.message, /PostgreSQL is unreachable/);
      const ready = await getJson(`${b!.url}/health/ready`);
      assert.equal(ready.status, 503);
      assert.equal(ready.body.checks.database.ok, false);
      assert.equal(ready.body.checks.model.ok, true);
      assert.ok(ready.body.reasons.some((r: string) => r.startsWith('database:')));
      assert.equal((await fetch(`${b!.url}/health/live`)).status, 200);
      // transcription does not need the database
      const res = await postForm(`${a!.url}/transcribe`, { fileField: 'audio', file: fileBlob(clip.path), fields: { language: 'en' }, headers: auth() });
      assert.equal(res.status, 200);
    } finally {
      await cluster.pg.start();
    }
    const back = await eventually('history after PostgreSQL returns', async () => {
      const r = await getJson(`${b!.url}/api/history?q=disposed`);
      return r.status === 200 ? r.body : undefined;
    });
    assert.ok(back.total >= 1);
    await eventually('ready again', async () => ((await getJson(`${b!.url}/health/ready`)).status === 200 ? true : undefined));
  });

  it('keeps live /ws transcribing while Redis is down, reports not ready, and recovers when it returns', async () => {
    await cluster.redis.stop();
    try {
      // a session opened and spoken to during the outage, through the balancer
      const client = await connectLive(`${cluster.wsUrl}/ws?api_key=${KEY}`);
      const { final } = await speak(client, speech);
      client.ws.close();
      assertLiveText(final.text);
      for (const node of cluster.nodes) {
        const ready = await getJson(`${node.url}/health/ready`);
        assert.equal(ready.status, 503, node.name);
        assert.equal(ready.body.checks.redis.ok, false);
        assert.match(ready.body.checks.redis.error, /Redis unreachable/);
        assert.equal((await fetch(`${node.url}/health/live`)).status, 200);
      }
    } finally {
      await cluster.redis.start();
    }
    for (const node of cluster.nodes) {
      await eventually(`${node.name} ready after Redis returns`, async () => ((await getJson(`${node.url}/health/ready`)).status === 200 ? true : undefined));
    }
    // the live view is shared again: a session on one node shows on another's monitor
    const [a, b] = cluster.nodes;
    const monitor = await connectLive(`${b!.url.replace('http', 'ws')}/api/monitor?api_key=${KEY}`);
    try {
      await monitor.next('snapshot');
      const client = await connectLive(`${a!.url.replace('http', 'ws')}/ws?api_key=${KEY}`);
      const { ready, final } = await speak(client, speech);
      client.ws.close();
      const seen = await eventually('final on the other node after recovery', async () =>
        monitor.messages.find((m) => m.type === 'final' && m.session_id === ready.session_id),
      );
      assert.equal(seen.text, final.text);
      assert.equal(seen.node, a!.name);
    } finally {
      monitor.ws.close();
    }
  });
});
