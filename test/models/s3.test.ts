// s3:// sources against a real S3-compatible server (moto, server mode) with real SDK calls.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { pullModel, ModelSourceError } from '../../src/models/pull.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';
import { fixtureGgml, fileDigest, tempStore, leftovers, modelDirs } from './fixtures.js';

// Standard credential chain, fed through the environment as a deployment would.
process.env.AWS_ACCESS_KEY_ID = 'earshot-test';
process.env.AWS_SECRET_ACCESS_KEY = 'earshot-test-secret';
process.env.AWS_REGION = 'us-east-1';
process.env.AWS_EC2_METADATA_DISABLED = 'true';

let s3: S3TestServer;
let client: S3Client;
const BUCKET = 'earshot-models';
const KEY = 'whisper/ggml-base-q8_0.bin';

before(async () => {
  s3 = await startS3Server();
  client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1' });
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const body = readFileSync(fixtureGgml('base-q8_0'));
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: body, ChecksumAlgorithm: 'SHA256' }));
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'whisper/tampered.bin', Body: body, Metadata: { sha256: '0'.repeat(64) } }));
});

after(async () => {
  client?.destroy();
  await s3?.stop();
});

async function rejectsWith(p: Promise<unknown>, code: string, pattern?: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ModelSourceError, `expected a ModelSourceError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return;
  }
  assert.fail(`expected rejection with ${code}`);
}

test('s3://bucket/key with --s3-endpoint (path-style) installs, verified', async () => {
  const t = await tempStore();
  try {
    const model = await pullModel(`s3://${BUCKET}/${KEY}`, { store: t.store, s3Endpoint: s3.endpoint });
    assert.equal(model.id, 'base-q8_0');
    assert.equal(model.sha256, fileDigest(fixtureGgml('base-q8_0')));
    assert.equal(model.source, `s3://${BUCKET}/${KEY}`);
    assert.deepEqual(leftovers(t.home), []);
  } finally {
    await t.cleanup();
  }
});

test('seed variables S3_BUCKET_NAME / S3_MODEL_KEY with AWS_ENDPOINT_URL', async () => {
  const t = await tempStore();
  try {
    const env = { ...process.env, S3_BUCKET_NAME: BUCKET, S3_MODEL_KEY: KEY, AWS_ENDPOINT_URL: s3.endpoint };
    const model = await pullModel('s3://', { store: t.store, env, id: 'seed' });
    assert.equal(model.sha256, fileDigest(fixtureGgml('base-q8_0')));
  } finally {
    await t.cleanup();
  }
});

test('a published sha256 that does not match is refused', async () => {
  const t = await tempStore();
  try {
    await rejectsWith(pullModel(`s3://${BUCKET}/whisper/tampered.bin`, { store: t.store, s3Endpoint: s3.endpoint }), 'checksum_mismatch', /sha256/);
    assert.deepEqual(modelDirs(t.home), []);
    assert.deepEqual(leftovers(t.home), []);
  } finally {
    await t.cleanup();
  }
});

test('missing key or bucket: not_found', async () => {
  const t = await tempStore();
  try {
    await rejectsWith(pullModel(`s3://${BUCKET}/nope.bin`, { store: t.store, s3Endpoint: s3.endpoint }), 'not_found', /nope\.bin/);
    await rejectsWith(pullModel('s3://no-such-bucket-here/model.bin', { store: t.store, s3Endpoint: s3.endpoint }), 'not_found');
  } finally {
    await t.cleanup();
  }
});

test('an interrupted S3 download resumes with a ranged GET', async () => {
  const t = await tempStore();
  const size = statSync(fixtureGgml('base-q8_0')).size;
  try {
    const controller = new AbortController();
    await rejectsWith(
      pullModel(`s3://${BUCKET}/${KEY}`, {
        store: t.store,
        s3Endpoint: s3.endpoint,
        signal: controller.signal,
        onProgress: (e) => {
          if (e.phase === 'download' && (e.done ?? 0) > size * 0.3) controller.abort();
        },
      }),
      'aborted',
    );
    assert.deepEqual(modelDirs(t.home), []);
    let resumedFrom = 0;
    const model = await pullModel(`s3://${BUCKET}/${KEY}`, {
      store: t.store,
      s3Endpoint: s3.endpoint,
      onProgress: (e) => (resumedFrom ||= e.resumedFrom ?? 0),
    });
    assert.ok(resumedFrom > size * 0.2, `resumed from ${resumedFrom}`);
    assert.equal(model.sha256, fileDigest(fixtureGgml('base-q8_0')));
  } finally {
    await t.cleanup();
  }
});
