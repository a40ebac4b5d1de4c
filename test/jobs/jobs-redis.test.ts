// /v1/jobs in cluster mode on loopback: a real Redis (BullMQ), a real S3 (moto) for uploads, two
// Earshot nodes with tiny.en, no balancer. Shows: a job submitted to one node is visible (progress,
// result) from the other and its upload is deleted from S3 once done; a full restart (every node and
// Redis) loses no queued or running job. Node loss (kill -9) and a Redis outage are shown on the whole
// cluster behind nginx in test/cluster/jobs.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { werCount } from '../../src/eval/wer.js';
import { fileBlob, postForm } from '../helpers/audio.js';
import { finished, getJob, longSpeech, waitForJob, type JobJson } from '../helpers/jobs.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { clientWithBucket, startS3Server, type S3TestServer } from '../helpers/s3-server.js';
import { startServer, type TestServer } from '../helpers/server.js';

const clip = pocketsphinxClips().find((c) => c.id.endsWith('0870'))!;
const BUCKET = 'earshot-jobs-test';
const LEASE_SECONDS = 3;
const AWS = { AWS_ACCESS_KEY_ID: 'earshot-test', AWS_SECRET_ACCESS_KEY: 'earshot-test-secret', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };

const wer = (ref: string, hyp: string) => {
  const c = werCount(ref, hyp);
  return c.errors / c.words;
};

describe('/v1/jobs on Redis: two nodes, S3 uploads, full restart', () => {
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
    s3client = await clientWithBucket(s3, BUCKET, { accessKeyId: AWS.AWS_ACCESS_KEY_ID, secretAccessKey: AWS.AWS_SECRET_ACCESS_KEY });
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
    const short = await getJob(nodes['node-a']!.url, jobs[1]!.id);
    assert.ok(wer(clip.reference, (short.result as { text: string }).text) <= 0.15);
  });
});
