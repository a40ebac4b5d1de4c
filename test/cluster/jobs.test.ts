// Durable jobs on the whole cluster (test/cluster/harness.ts: PostgreSQL, Redis, three nodes — each in its
// own network namespace where the machine allows it —, nginx running deploy/nginx/earshot.conf) with
// uploads in a real S3 (moto), all through the balancer:
// ten jobs spread over the three nodes and all complete; kill -9 of the node running a job → another
// node completes it after the lease, with one result and one webhook; Redis stopped → /v1/jobs answers
// 503 with the reason while a live /ws session through the balancer keeps transcribing, and the jobs
// resume once Redis is back.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { float32ToS16le } from '../../src/audio/pcm.js';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { werCount } from '../../src/eval/wer.js';
import { fileBlob, loadClip, postForm } from '../helpers/audio.js';
import { finished, getJob, longSpeech, waitForJob, webhookReceiver, type JobJson } from '../helpers/jobs.js';
import { clientWithBucket, startS3Server, type S3TestServer } from '../helpers/s3-server.js';
import { startCluster, type Cluster } from './harness.js';

const clip = pocketsphinxClips().find((c) => c.id.endsWith('0870'))!;
const BUCKET = 'earshot-cluster-jobs';
const LEASE_SECONDS = 3;
const AWS = { AWS_ACCESS_KEY_ID: 'earshot-test', AWS_SECRET_ACCESS_KEY: 'earshot-test-secret', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };

const wer = (ref: string, hyp: string) => {
  const c = werCount(ref, hyp);
  return c.errors / c.words;
};

describe('cluster jobs: three nodes behind nginx, Redis, S3', { timeout: 900_000 }, () => {
  let s3: S3TestServer;
  let cluster: Cluster;
  let medium: Buffer;
  let long: Buffer;

  before(async () => {
    // every interface: nodes in their own network namespaces reach it through the bridge
    s3 = await startS3Server({ host: '0.0.0.0' });
    await clientWithBucket(s3, BUCKET, { accessKeyId: AWS.AWS_ACCESS_KEY_ID, secretAccessKey: AWS.AWS_SECRET_ACCESS_KEY });
    cluster = await startCluster({
      nodes: 3,
      model: 'tiny.en',
      env: {
        ...AWS,
        EARSHOT_JOBS_S3_BUCKET: BUCKET,
        EARSHOT_JOBS_LEASE_SECONDS: String(LEASE_SECONDS),
        EARSHOT_JOBS_ALLOW_PRIVATE_NETWORKS: '1',
      },
      nodeEnv: (_i, hostAddress) => ({ EARSHOT_JOBS_S3_ENDPOINT: s3.endpoint.replace('127.0.0.1', hostAddress) }),
    });
    medium = (await longSpeech(20)).wav;
    long = (await longSpeech(120)).wav;
  });
  after(async () => {
    await cluster?.close();
    await s3?.stop();
  });

  const submit = async (body: Blob, fields: Record<string, string> = {}) => {
    const res = await postForm(`${cluster.url}/v1/jobs`, { file: body, fields });
    assert.equal(res.status, 202, await res.clone().text());
    return (await res.json()) as JobJson;
  };

  it('ten jobs submitted through the balancer spread over the three nodes and all complete', async () => {
    const jobs: JobJson[] = [];
    for (let i = 0; i < 10; i++) jobs.push(await submit(new Blob([medium], { type: 'audio/wav' }), { language: 'en' }));
    const done = await Promise.all(jobs.map((j) => waitForJob(cluster.url, j.id, finished, { timeoutMs: 600_000, intervalMs: 250 })));
    for (const d of done) {
      assert.equal(d.status, 'completed', JSON.stringify(d.error));
      assert.match((d.result as { text: string }).text, /Dashwood/);
      assert.equal(d.attempts, 1);
    }
    const ran = new Set(done.map((d) => d.node));
    assert.deepEqual([...ran].sort(), ['node-1', 'node-2', 'node-3'], 'every node took jobs');
    // every node sees every job
    for (const node of cluster.nodes) assert.equal((await getJob(node.url, jobs[9]!.id)).status, 'completed');
  });

  it('kill -9 of the node running a job: another node completes it after the lease, one result, one webhook', async () => {
    const hook = await webhookReceiver([], cluster.hostAddress);
    try {
      const job = await submit(new Blob([long], { type: 'audio/wav' }), { webhook_url: hook.url });
      const running = await waitForJob(cluster.url, job.id, (j) => j.status === 'running' && j.progress > 0.05, { timeoutMs: 300_000 });
      const victim = cluster.nodes.find((n) => n.name === running.node)!;
      await victim.kill();

      const done = await waitForJob(cluster.url, job.id, finished, { timeoutMs: 300_000 });
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.notEqual(done.node, victim.name);
      assert.equal(done.attempts, 2, 'one lost run, one retry');
      assert.ok(Date.parse(done.started_at!) - Date.parse(running.started_at!) >= LEASE_SECONDS * 1000 - 500, 'retried once the lease had expired');
      assert.match((done.result as { text: string }).text, /Dashwood/);

      await victim.start();
      const deadline = Date.now() + 15_000;
      while (hook.received.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const seen = await getJob(victim.url, job.id);
      assert.equal(seen.attempts, 2);
      assert.deepEqual(seen.result, done.result, 'one result, the same from every node');
      assert.equal(hook.received.length, 1, 'one webhook');
    } finally {
      await hook.close();
    }
  });

  it('Redis stopped: /v1/jobs answers 503 with the reason, /ws through the balancer keeps transcribing; jobs resume after', async () => {
    const before = await submit(fileBlob(clip.path));
    await waitForJob(cluster.url, before.id, finished);
    const waiting = await submit(new Blob([long], { type: 'audio/wav' }));
    await cluster.redis.stop();
    try {
      const refused = await postForm(`${cluster.url}/v1/jobs`, { file: fileBlob(clip.path) });
      assert.equal(refused.status, 503);
      const err = (await refused.json()) as { error: { type: string; code: string; message: string } };
      assert.equal(err.error.code, 'jobs_unavailable');
      assert.equal(err.error.type, 'server_error');
      assert.ok(err.error.message.includes(`Redis at ${cluster.hostAddress}:${cluster.redis.port}) is unreachable`), err.error.message);
      const read = await fetch(`${cluster.url}/v1/jobs/${before.id}`);
      assert.equal(read.status, 503);
      const text = await liveFinal(cluster.wsUrl);
      assert.ok(wer(clip.reference, text) <= 0.15, text);
    } finally {
      await cluster.redis.start();
    }
    const resumed = await waitForJob(cluster.url, waiting.id, finished, { timeoutMs: 300_000 });
    assert.equal(resumed.status, 'completed', JSON.stringify(resumed.error));
    const fresh = await submit(fileBlob(clip.path));
    const done = await waitForJob(cluster.url, fresh.id, finished);
    assert.ok(wer(clip.reference, (done.result as { text: string }).text) <= 0.15);
  });
});

/** One utterance over /ws: the final's text. */
async function liveFinal(wsBase: string): Promise<string> {
  const audio = await loadClip(clip.path);
  const ws = new WebSocket(`${wsBase}/ws`);
  const final = new Promise<string>((resolve, reject) => {
    ws.on('message', (d) => {
      const msg = JSON.parse(d.toString()) as { type: string; text?: string };
      if (msg.type === 'final') resolve(msg.text ?? '');
    });
    ws.on('error', reject);
    ws.on('close', () => reject(new Error('closed before a final')));
  });
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
  ws.send(JSON.stringify({ type: 'config', language: 'en', partials: false }));
  ws.send(float32ToS16le(audio));
  ws.send(float32ToS16le(new Float32Array(32000)));
  ws.send(JSON.stringify({ type: 'flush' }));
  try {
    return await final;
  } finally {
    ws.close();
  }
}
