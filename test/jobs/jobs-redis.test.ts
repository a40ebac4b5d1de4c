// /v1/jobs in cluster mode on loopback: a real Redis (BullMQ), a real S3 (moto) for uploads, two
// Earshot nodes with tiny.en. Shows: a job submitted to one node is visible (progress, result) from
// the other and its upload is deleted from S3 once done; kill -9 of the node running a job → the other
// node finishes it after the lease, with exactly one result and one webhook; Redis stopped → /v1/jobs
// answers 503 with the reason while transcription and live /ws keep working, and the job resumes when
// Redis is back; a full restart (every node and Redis) loses no queued job.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import WebSocket from 'ws';
import { float32ToS16le } from '../../src/audio/pcm.js';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { werCount } from '../../src/eval/wer.js';
import { fileBlob, loadClip, postForm } from '../helpers/audio.js';
import { finished, getJob, longSpeech, waitForJob, webhookReceiver, type JobJson } from '../helpers/jobs.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';
import { startServer, type TestServer } from '../helpers/server.js';

const clip = pocketsphinxClips().find((c) => c.id.endsWith('0870'))!;
const BUCKET = 'earshot-jobs-test';
const LEASE_SECONDS = 3;
const AWS = { AWS_ACCESS_KEY_ID: 'earshot-test', AWS_SECRET_ACCESS_KEY: 'earshot-test-secret', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };

const wer = (ref: string, hyp: string) => {
  const c = werCount(ref, hyp);
  return c.errors / c.words;
};

describe('/v1/jobs on Redis: two nodes, S3 uploads, node loss, Redis outage, full restart', () => {
  let redis: RedisTestServer;
  let s3: S3TestServer;
  let s3client: S3Client;
  const nodes: Record<string, TestServer> = {};
  let long: { wav: Buffer; seconds: number };

  const startNode = async (name: string) => {
    nodes[name] = await startServer({
      model: 'tiny.en',
      env: {
        ...AWS,
        EARSHOT_REDIS_URL: redis.url,
        EARSHOT_NODE_NAME: name,
        EARSHOT_JOBS_S3_BUCKET: BUCKET,
        EARSHOT_JOBS_S3_ENDPOINT: s3.endpoint,
        EARSHOT_JOBS_LEASE_SECONDS: String(LEASE_SECONDS),
        EARSHOT_JOBS_ALLOW_PRIVATE_NETWORKS: '1',
        EARSHOT_JOBS_WEBHOOK_SECRET: 'redis-jobs-secret',
      },
    });
    return nodes[name]!;
  };
  const submit = async (node: TestServer, body: Blob, fields: Record<string, string> = {}) => {
    const res = await postForm(`${node.url}/v1/jobs`, { file: body, fields });
    assert.equal(res.status, 202, await res.clone().text());
    return (await res.json()) as JobJson;
  };
  const uploadsLeft = async () => (await s3client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'earshot-jobs/' }))).KeyCount ?? 0;

  before(async () => {
    redis = await startRedisServer();
    s3 = await startS3Server();
    s3client = new S3Client({
      endpoint: s3.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: AWS.AWS_ACCESS_KEY_ID, secretAccessKey: AWS.AWS_SECRET_ACCESS_KEY },
    });
    await s3client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await Promise.all([startNode('node-a'), startNode('node-b')]);
    long = await longSpeech(120);
  });
  after(async () => {
    await Promise.allSettled(Object.values(nodes).map((n) => n.stop()));
    await redis?.close();
    await s3?.stop();
  });

  it('a job submitted to one node is seen from the other: progress while it runs, then its result; the upload leaves S3', async () => {
    const a = nodes['node-a']!;
    const b = nodes['node-b']!;
    const job = await submit(a, new Blob([long.wav], { type: 'audio/wav' }));
    assert.equal(await uploadsLeft(), 1, 'the upload waits in the shared store');
    const midway = await waitForJob(b.url, job.id, (j) => j.status === 'running' && j.progress > 0);
    assert.ok(['node-a', 'node-b'].includes(midway.node!));
    assert.ok(midway.progress < 1);
    const done = await waitForJob(b.url, job.id, finished, { timeoutMs: 300_000 });
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.ok((await getJob(a.url, job.id)).status === 'completed');
    const v = (await getJob(a.url, job.id, {}, '?response_format=verbose_json')).result as { duration: number; text: string };
    assert.ok(Math.abs(v.duration - long.seconds) < 1, `${v.duration} vs ${long.seconds}`);
    assert.match(v.text, /Dashwood/);
    const deadline = Date.now() + 10_000;
    while ((await uploadsLeft()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await uploadsLeft(), 0, 'the upload is deleted once the job is done');
    const listed = (await (await fetch(`${b.url}/v1/jobs`)).json()) as { data: JobJson[] };
    assert.ok(listed.data.some((j) => j.id === job.id));
  });

  it('kill -9 of the node running a job: the other node finishes it after the lease, one result, one webhook', async () => {
    const hook = await webhookReceiver();
    try {
      const job = await submit(nodes['node-a']!, new Blob([long.wav], { type: 'audio/wav' }), { webhook_url: hook.url });
      const running = await waitForJob(nodes['node-a']!.url, job.id, (j) => j.status === 'running' && j.progress > 0.05);
      const victim = running.node!;
      const survivor = victim === 'node-a' ? 'node-b' : 'node-a';
      nodes[victim]!.child.kill('SIGKILL');
      await new Promise((r) => nodes[victim]!.child.once('exit', r));
      delete nodes[victim];

      const done = await waitForJob(nodes[survivor]!.url, job.id, finished, { timeoutMs: 300_000 });
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.equal(done.node, survivor);
      assert.equal(done.attempts, 2, 'one lost run, one retry');
      assert.ok(Date.parse(done.started_at!) - Date.parse(running.started_at!) >= LEASE_SECONDS * 1000 - 500, 'retried once the lease had expired');
      const text = (done.result as { text: string }).text;
      assert.match(text, /Dashwood/);

      // the killed node comes back; nothing of the lost run is replayed
      await startNode(victim);
      const deadline = Date.now() + 15_000;
      while (hook.received.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const again = await getJob(nodes[victim]!.url, job.id);
      assert.equal(again.status, 'completed');
      assert.equal(again.attempts, 2);
      assert.deepEqual(again.result, done.result, 'one result, the same from every node');
      assert.equal(hook.received.length, 1, 'one webhook');
      assert.equal(hook.received[0]!.headers['webhook-id'], job.id);
    } finally {
      await hook.close();
    }
  });

  it('Redis stopped: /v1/jobs answers 503 with the reason, transcription and /ws keep working; the job resumes when Redis is back', async () => {
    const a = nodes['node-a']!;
    const job = await submit(a, fileBlob(clip.path));
    await redis.stop();
    try {
      const refused = await postForm(`${a.url}/v1/jobs`, { file: fileBlob(clip.path) });
      assert.equal(refused.status, 503);
      const err = (await refused.json()) as { error: { type: string; code: string; message: string } };
      assert.equal(err.error.type, 'server_error');
      assert.equal(err.error.code, 'jobs_unavailable');
      assert.match(err.error.message, /Redis at 127\.0\.0\.1:\d+\) is unreachable/);
      assert.equal((await fetch(`${a.url}/v1/jobs/${job.id}`)).status, 503);
      assert.equal((await fetch(`${a.url}/v1/jobs`)).status, 503);

      // batch transcription does not need Redis
      const direct = await postForm(`${a.url}/v1/audio/transcriptions`, { file: fileBlob(clip.path), fields: { model: 'whisper-1' } });
      assert.equal(direct.status, 200);
      assert.ok(wer(clip.reference, ((await direct.json()) as { text: string }).text) <= 0.15);
      // nor does a live session
      const final = await liveFinal(a.url);
      assert.match(final, /Dashwood/);
    } finally {
      await redis.start();
    }
    const done = await waitForJob(a.url, job.id, finished, { timeoutMs: 120_000 });
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.ok(wer(clip.reference, (done.result as { text: string }).text) <= 0.15);
    const after = await submit(a, fileBlob(clip.path));
    assert.equal((await waitForJob(a.url, after.id, finished)).status, 'completed');
  });

  it('a full restart (every node, then Redis) loses no job', async () => {
    const jobs = [await submit(nodes['node-a']!, new Blob([long.wav], { type: 'audio/wav' })), await submit(nodes['node-b']!, fileBlob(clip.path))];
    await waitForJob(nodes['node-a']!.url, jobs[0]!.id, (j) => j.status === 'running');
    for (const name of Object.keys(nodes)) {
      await nodes[name]!.stop();
      delete nodes[name];
    }
    await redis.stop();
    await redis.start();
    await Promise.all([startNode('node-a'), startNode('node-b')]);
    for (const job of jobs) {
      const done = await waitForJob(nodes['node-b']!.url, job.id, finished, { timeoutMs: 300_000 });
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.match((done.result as { text: string }).text, /Dashwood/);
    }
  });
});

/** One utterance over /ws: the final's text. */
async function liveFinal(base: string): Promise<string> {
  const audio = await loadClip(clip.path);
  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`);
  const final = new Promise<string>((resolve, reject) => {
    ws.on('message', (d) => {
      const msg = JSON.parse(d.toString()) as { type: string; text?: string };
      if (msg.type === 'final') resolve(msg.text ?? '');
    });
    ws.on('error', reject);
    ws.on('close', () => reject(new Error('closed before a final')));
  });
  await new Promise((r) => ws.on('open', r));
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
