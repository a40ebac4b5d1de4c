// One source syntax: what each form resolves to, default ids, and the errors bad sources get.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { resolveSource, defaultModelId, sourceFromSeedEnv, archiveKindOf } from '../../src/models/sources/resolve.js';
import { ModelSourceError } from '../../src/models/sources/errors.js';
import { CATALOGUE, catalogueEntry, suggestCatalogueNames } from '../../src/models/catalogue.js';

const env = { HF_ENDPOINT: 'https://hf-mirror.example/' } as NodeJS.ProcessEnv;

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ModelSourceError, String(err));
    return err.code;
  }
  return 'ok';
}

test('catalogue names resolve to ggerganov/whisper.cpp ggml-<name>.bin', () => {
  for (const name of ['tiny', 'tiny.en', 'base', 'base.en', 'small', 'small.en', 'medium', 'large-v3', 'large-v3-turbo', 'base-q8_0', 'large-v3-turbo-q5_0']) {
    const s = resolveSource(name, { env });
    assert.equal(s.kind, 'catalogue', name);
    if (s.kind !== 'catalogue') continue;
    assert.equal(s.hub.repo, 'ggerganov/whisper.cpp');
    assert.equal(s.hub.path, `ggml-${name}.bin`);
    assert.equal(s.hub.endpoint, 'https://hf-mirror.example');
    assert.equal(defaultModelId(s), name);
  }
  assert.equal(catalogueEntry('large-v3-turbo')!.sha1, '4af2b29d7ec73d781377bfd1758ca957a807e941');
  assert.equal(catalogueEntry('base.en')!.multilingual, false);
  assert.equal(catalogueEntry('base-q8_0')!.quantization, 'q8_0');
  assert.ok(CATALOGUE.length >= 30);
});

test('close-name suggestions', () => {
  assert.deepEqual(suggestCatalogueNames('bsae').slice(0, 1), ['base']);
  assert.ok(suggestCatalogueNames('large-v3-trubo').includes('large-v3-turbo'));
  assert.ok(suggestCatalogueNames('tiny-en').includes('tiny.en'));
  assert.equal(
    code(() => resolveSource('medum', { env })),
    'unknown_model',
  );
});

test('hf:// with revision and path; token from HF_TOKEN or HUGGINGFACE_HUB_TOKEN', () => {
  const s = resolveSource('hf://Systran/faster-whisper-base@v1.0/sub/dir/', { env: { ...env, HUGGINGFACE_HUB_TOKEN: 'tok' } });
  assert.equal(s.kind, 'hf');
  if (s.kind !== 'hf') return;
  assert.deepEqual(
    { ...s.hub },
    { endpoint: 'https://hf-mirror.example', repo: 'Systran/faster-whisper-base', revision: 'v1.0', path: 'sub/dir', token: 'tok' },
  );
  const root = resolveSource('hf://openai/whisper-tiny', { env: { HF_TOKEN: 'a', HUGGINGFACE_HUB_TOKEN: 'b' } });
  assert.equal(root.kind === 'hf' && root.hub.path, '');
  assert.equal(root.kind === 'hf' && root.hub.revision, 'main');
  assert.equal(root.kind === 'hf' && root.hub.token, 'a');
  assert.equal(root.kind === 'hf' && root.hub.endpoint, 'https://huggingface.co');
  const pr = resolveSource('hf://o/r@refs%2Fpr%2F3/model.bin', { env });
  assert.equal(pr.kind === 'hf' && pr.hub.revision, 'refs/pr/3');
  assert.equal(defaultModelId(resolveSource('hf://o/r/ggml-large-v3-turbo.bin', { env })), 'large-v3-turbo');
  assert.equal(defaultModelId(resolveSource('hf://Systran/faster-whisper-small', { env })), 'faster-whisper-small');
  assert.equal(
    code(() => resolveSource('hf://just-owner', { env })),
    'bad_source',
  );
  assert.equal(
    code(() => resolveSource('hf://o/r/../../etc', { env })),
    'bad_source',
  );
});

test('s3:// sources, endpoint override and the seed variables', () => {
  const s = resolveSource('s3://my-bucket/models/base.tar.gz', { env: { AWS_REGION: 'eu-west-1' }, s3Endpoint: 'http://minio:9000' });
  assert.equal(s.kind, 's3');
  if (s.kind !== 's3') return;
  assert.deepEqual(s.s3, { bucket: 'my-bucket', key: 'models/base.tar.gz', region: 'eu-west-1', endpoint: 'http://minio:9000' });
  assert.equal(s.archive, 'tar.gz');
  const seedEnv = { S3_BUCKET_NAME: 'seed-bucket', S3_MODEL_KEY: '/whisper/ggml-base.bin', AWS_ENDPOINT_URL: 'http://127.0.0.1:9000' };
  const seed = resolveSource('s3://', { env: seedEnv });
  assert.equal(seed.kind === 's3' && seed.s3.bucket, 'seed-bucket');
  assert.equal(seed.kind === 's3' && seed.s3.key, 'whisper/ggml-base.bin');
  assert.equal(seed.kind === 's3' && seed.s3.endpoint, 'http://127.0.0.1:9000');
  assert.equal(sourceFromSeedEnv(seedEnv), 's3://seed-bucket/whisper/ggml-base.bin');
  assert.equal(sourceFromSeedEnv({}), undefined);
  assert.equal(
    code(() => resolveSource('s3://', { env: {} })),
    'bad_source',
  );
  assert.equal(
    code(() => resolveSource('s3://Bad_Bucket/key', { env: {} })),
    'bad_source',
  );
});

test('URLs, local paths and archives', () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'earshot-resolve-'));
  try {
    const u = resolveSource('https://example.com/models/whisper-base.zip?sig=1', { env });
    assert.equal(u.kind, 'url');
    assert.equal(u.archive, 'zip');
    assert.equal(defaultModelId(u), 'whisper-base');
    writeFileSync(join(dir, 'ggml-small.en.bin'), 'x');
    mkdirSync(join(dir, 'faster-whisper-tiny'));
    const f = resolveSource('ggml-small.en.bin', { cwd: dir, env });
    assert.equal(f.kind === 'local' && f.isDirectory, false);
    assert.equal(defaultModelId(f), 'small.en');
    const d = resolveSource(`file://${join(dir, 'faster-whisper-tiny')}`, { env });
    assert.equal(d.kind === 'local' && d.isDirectory, true);
    assert.equal(defaultModelId(d, 'q8_0'), 'faster-whisper-tiny-q8_0');
    assert.equal(
      code(() => resolveSource('./missing.bin', { cwd: dir, env })),
      'not_found',
    );
    assert.equal(
      code(() => resolveSource('ftp://x/y', { env })),
      'bad_source',
    );
    assert.equal(
      code(() => resolveSource('  ', { env })),
      'bad_source',
    );
    assert.equal(archiveKindOf('a.TGZ'), 'tar.gz');
    assert.equal(archiveKindOf('a.tar'), 'tar');
    assert.equal(archiveKindOf('a.bin'), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('error classes carry distinct codes and exit codes', async () => {
  const { MODEL_ERROR_EXIT_CODES } = await import('../../src/models/sources/errors.js');
  const exits = Object.values(MODEL_ERROR_EXIT_CODES);
  assert.equal(new Set(exits).size, exits.length);
  const e = new ModelSourceError('disk_full', 'x');
  assert.equal(e.exitCode, MODEL_ERROR_EXIT_CODES.disk_full);
});
