// sherpa-onnx models through the model manager: a .tar.bz2 archive laid out as sherpa-onnx
// publishes them, holding the real Moonshine tiny-en files (npm run fetch:test-models), is
// extracted, its kind detected from its files and name, Moonshine's tokenizer.bin turned into
// tokens.txt, validated, installed, and then transcribes real speech. bzip2 archives obey the same
// safety rules as the others. Kind detection for the published layouts is checked by file names.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { SherpaEngine } from '../../src/engines/sherpa/engine.js';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { werCount } from '../../src/eval/wer.js';
import { ModelSourceError, pullModel } from '../../src/models/pull.js';
import { detectSherpaModel, selectSherpaFiles } from '../../src/models/sherpa/detect.js';
import { sherpaDetails } from '../../src/models/sherpa/validate.js';
import { ModelStore } from '../../src/models/store.js';
import { loadClip } from '../helpers/audio.js';
import { tarBuffer } from './archive-builders.js';
import { leftovers, modelDirs, tempStore } from './fixtures.js';

const scratch = mkdtempSync(join(os.tmpdir(), 'earshot-sherpa-pull-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** bzip2 with the system tool (Debian's bzip2 package), -1: the fastest block size. */
function bzip2(input: Buffer): Buffer {
  return execFileSync('bzip2', ['-1', '-c'], { input, maxBuffer: 512 * 1024 * 1024 });
}

test('a sherpa-style .tar.bz2 of Moonshine tiny-en installs as a moonshine-v2 model and transcribes', { timeout: 300_000 }, async () => {
  const tiny = await new ModelStore().get('moonshine-tiny-en');
  if (!tiny) throw new Error('moonshine-tiny-en is not installed: run "npm run fetch:test-models" first');
  const folder = 'sherpa-onnx-moonshine-tiny-en-quantized-2026-01-01';
  const layout = join(scratch, 'layout', folder);
  mkdirSync(join(layout, 'test_wavs'), { recursive: true });
  // As Moonshine ships it: tokenizer.bin, no tokens.txt (the installer writes it).
  for (const f of ['encoder_model.ort', 'decoder_model_merged.ort', 'tokenizer.bin', 'LICENSE']) copyFileSync(join(tiny.dir, f), join(layout, f));
  const clip = pocketsphinxClips().find((c) => c.id.endsWith('0870'))!;
  copyFileSync(clip.path, join(layout, 'test_wavs', '0.wav'));
  const archive = join(scratch, `${folder}.tar.bz2`);
  execFileSync('tar', ['-cjf', archive, '-C', join(scratch, 'layout'), folder]);

  const t = await tempStore();
  try {
    const model = await pullModel(archive, { store: t.store });
    assert.equal(model.id, folder);
    assert.equal(model.format, 'sherpa-onnx');
    assert.equal(model.engine, 'sherpa');
    assert.deepEqual(model.languages, ['en']);
    const details = sherpaDetails(model.details, model.id);
    assert.equal(details.kind, 'moonshine-v2');
    assert.deepEqual(details.files, { encoder: 'encoder_model.ort', mergedDecoder: 'decoder_model_merged.ort', tokens: 'tokens.txt' });
    assert.equal(
      readFileSync(join(model.dir, 'tokens.txt'), 'utf8'),
      readFileSync(join(tiny.dir, 'tokens.txt'), 'utf8'),
      'the same token table fetch:test-models writes',
    );
    assert.deepEqual(leftovers(t.home), []);

    const engine = new SherpaEngine({ modelId: model.id, modelDir: model.dir, details, threads: 2, processes: 1, device: 'cpu' });
    try {
      const text = (await engine.transcribe(await loadClip(clip.path))).text;
      const c = werCount(clip.reference, text);
      assert.ok(c.errors / c.words <= 0.25, text);
    } finally {
      await engine.close();
    }
  } finally {
    await t.cleanup();
  }
});

async function refused(archive: string, code: string, pattern: RegExp, limits?: Record<string, number>): Promise<void> {
  const t = await tempStore();
  try {
    await assert.rejects(pullModel(archive, { store: t.store, id: 'bad', ...(limits ? { extractLimits: limits } : {}) }), (err: unknown) => {
      assert.ok(err instanceof ModelSourceError, String(err));
      assert.equal(err.code, code, err.message);
      assert.match(err.message, pattern);
      return true;
    });
    assert.deepEqual(modelDirs(t.home), []);
    assert.deepEqual(leftovers(t.home), []);
  } finally {
    await t.cleanup();
  }
}

test('.tar.bz2 follows the archive safety rules: traversal, size limits, corrupt data', async () => {
  const traversal = join(scratch, 'traversal.tar.bz2');
  writeFileSync(traversal, bzip2(tarBuffer([{ name: 'model/../../evil.txt', body: Buffer.from('x') }])));
  await refused(traversal, 'unsafe_archive', /escaping/);
  const big = join(scratch, 'big.tar.bz2');
  writeFileSync(big, bzip2(tarBuffer([{ name: 'evil-big.bin', size: 4 * 1024 * 1024 }])));
  await refused(big, 'archive_too_large', /expands past/, { maxBytes: 1024 * 1024 });
  const truncated = join(scratch, 'truncated.tar.bz2');
  const whole = bzip2(tarBuffer([{ name: 'model/a.bin', body: Buffer.alloc(200_000, 7) }]));
  writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
  await refused(truncated, 'corrupt_archive', /not a valid tar\.bz2/);
});

/** A folder with empty files of these names: detection reads names only. */
function layoutOf(name: string, files: string[]): string {
  const dir = join(scratch, 'layouts', name);
  mkdirSync(dir, { recursive: true });
  for (const f of files) writeFileSync(join(dir, f), '');
  return dir;
}

test('kinds detected from the layouts sherpa-onnx publishes (names only; no weights for these here)', async () => {
  const cases: Array<[string, string[], string, Record<string, string>, string[] | undefined]> = [
    [
      'sherpa-onnx-sense-voice-zh-en-ja-ko-yue-2024-07-17',
      ['model.onnx', 'model.int8.onnx', 'tokens.txt'],
      'sense-voice',
      { model: 'model.int8.onnx' },
      ['zh', 'en', 'ja', 'ko', 'yue'],
    ],
    ['sherpa-onnx-paraformer-zh-2023-09-14', ['model.int8.onnx', 'tokens.txt'], 'paraformer', { model: 'model.int8.onnx' }, ['zh']],
    ['sherpa-onnx-nemo-ctc-en-citrinet-512', ['model.onnx', 'tokens.txt'], 'nemo-ctc', { model: 'model.onnx' }, ['en']],
    ['sherpa-onnx-zipformer-ctc-en-2023-10-02', ['model.int8.onnx', 'tokens.txt'], 'zipformer-ctc', { model: 'model.int8.onnx' }, ['en']],
    [
      'sherpa-onnx-fire-red-asr-large-zh_en-2025-02-16',
      ['encoder.int8.onnx', 'decoder.int8.onnx', 'tokens.txt'],
      'fire-red',
      { encoder: 'encoder.int8.onnx', decoder: 'decoder.int8.onnx' },
      ['zh', 'en'],
    ],
    [
      'sherpa-onnx-whisper-tiny.en',
      ['tiny.en-encoder.onnx', 'tiny.en-encoder.int8.onnx', 'tiny.en-decoder.onnx', 'tiny.en-decoder.int8.onnx', 'tiny.en-tokens.txt'],
      'whisper-onnx',
      { encoder: 'tiny.en-encoder.int8.onnx', decoder: 'tiny.en-decoder.int8.onnx' },
      ['en'],
    ],
    [
      'sherpa-onnx-moonshine-tiny-en-int8',
      ['preprocess.onnx', 'encode.int8.onnx', 'uncached_decode.int8.onnx', 'cached_decode.int8.onnx', 'tokens.txt'],
      'moonshine',
      { preprocessor: 'preprocess.onnx', encoder: 'encode.int8.onnx', uncachedDecoder: 'uncached_decode.int8.onnx', cachedDecoder: 'cached_decode.int8.onnx' },
      ['en'],
    ],
    [
      'sherpa-onnx-zipformer-en-2023-06-26',
      ['encoder-epoch-99-avg-1.onnx', 'decoder-epoch-99-avg-1.onnx', 'joiner-epoch-99-avg-1.onnx', 'tokens.txt'],
      'transducer',
      { encoder: 'encoder-epoch-99-avg-1.onnx', decoder: 'decoder-epoch-99-avg-1.onnx', joiner: 'joiner-epoch-99-avg-1.onnx' },
      ['en'],
    ],
    [
      'sherpa-onnx-streaming-zipformer-korean-2024-06-16',
      ['encoder-epoch-99-avg-1.int8.onnx', 'encoder-epoch-99-avg-1.onnx', 'decoder-epoch-99-avg-1.onnx', 'joiner-epoch-99-avg-1.int8.onnx', 'tokens.txt'],
      'online-transducer',
      { encoder: 'encoder-epoch-99-avg-1.int8.onnx', decoder: 'decoder-epoch-99-avg-1.onnx', joiner: 'joiner-epoch-99-avg-1.int8.onnx' },
      ['ko'],
    ],
    [
      'sherpa-onnx-streaming-paraformer-bilingual-zh-en',
      ['encoder.int8.onnx', 'decoder.int8.onnx', 'tokens.txt'],
      'online-paraformer',
      { encoder: 'encoder.int8.onnx', decoder: 'decoder.int8.onnx' },
      ['zh', 'en'],
    ],
    [
      'sherpa-onnx-streaming-zipformer-ctc-multi-zh-hans-2023-12-13',
      ['ctc-epoch-20-avg-1-chunk-16-left-128.onnx', 'tokens.txt'],
      'online-zipformer2-ctc',
      { model: 'ctc-epoch-20-avg-1-chunk-16-left-128.onnx' },
      ['zh'],
    ],
  ];
  for (const [name, files, kind, roles, languages] of cases) {
    const d = await detectSherpaModel(layoutOf(name, files), name);
    assert.ok(d, name);
    assert.equal(d.kind, kind, name);
    const { tokens, ...rest } = d.files;
    assert.deepEqual(rest, roles, name);
    assert.ok(tokens?.endsWith('tokens.txt'), name);
    assert.deepEqual(d.languages, languages, name);
  }
  assert.equal(
    await detectSherpaModel(layoutOf('whisper-ct2', ['model.bin', 'config.json', 'tokenizer.json']), 'whisper-ct2'),
    undefined,
    'not a sherpa model',
  );
  await assert.rejects(detectSherpaModel(layoutOf('mystery', ['model.onnx', 'tokens.txt']), 'mystery'), /not a layout Earshot knows/);
});

test('from a sherpa Hub repo only the token table and the int8 weights are fetched', () => {
  const listing = ['README.md', 'model.onnx', 'model.int8.onnx', 'tokens.txt', 'test_wavs/en.wav', 'test_wavs/zh.wav', '.gitattributes', 'export-onnx.py'];
  assert.deepEqual(selectSherpaFiles(listing), ['README.md', 'model.int8.onnx', 'tokens.txt']);
});
