// Three Earshot nodes on PostgreSQL and Redis behind nginx (test/cluster/harness.ts), all real:
// history written through one node is searched on another.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { fileBlob, postForm } from '../helpers/audio.js';
import { startCluster, type Cluster } from './harness.js';

const clip = pocketsphinxClips().find((c) => c.id.endsWith('0880'))!; // "he was not an ill disposed young man"

type Json = Record<string, any>;

/** Polls `fn` until it returns a value; the write behind a response may land a moment later. */
async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('cluster: three nodes, PostgreSQL, Redis, nginx', { timeout: 300_000 }, () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({ nodes: 3 });
  });
  after(async () => cluster?.close());

  it('finds on node C a transcript made through node A', async () => {
    const [a, , c] = cluster.nodes;
    const res = await postForm(`${a!.url}/transcribe`, { fileField: 'audio', file: fileBlob(clip.path), fields: { language: 'en' } });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as Json;
    assert.match(body.text, /ill[- ]disposed/i);
    const found = await eventually('history entry on node C', async () => {
      const page = (await (await fetch(`${c!.url}/api/history?q=disposed`)).json()) as Json;
      return page.total > 0 ? page : undefined;
    });
    assert.equal(found.total, 1);
    assert.equal(found.items[0].kind, 'batch');
    assert.match(found.items[0].text, /ill[- ]disposed/i);
    // and through the balancer, whichever node answers
    const viaLb = (await (await fetch(`${cluster.url}/api/history?q=disposed`)).json()) as Json;
    assert.equal(viaLb.items[0].id, found.items[0].id);
  });
});
