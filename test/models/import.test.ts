// Whisper model import: real CTranslate2 weights (from `npm run fetch:test-models`) → ggml files
// that satisfy whisper.cpp's loader; a Hugging Face safetensors folder built here from the same
// weights (with this file's own, independent name mapping) must convert to the very same bytes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, open, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { defaultHome, ModelStore, sha256File, type InstalledModel } from '../../src/models/store.js';
import { importModel, defaultModelId, detectModel, readGgmlModel, type GgmlModelInfo } from '../../src/models/import/index.js';
import { readCt2Model, type Ct2Variable } from '../../src/models/import/ct2-reader.js';
import { melFilterbank } from '../../src/models/import/mel-filters.js';
import { halfToFloat } from '../../src/models/import/half.js';
import { quantizeQ5_0, quantizeQ8_0 } from '../../src/models/import/quantize.js';
import { expectedWhisperTensors } from '../../src/models/import/whisper-tensors.js';

const CT2_BASE = join(defaultHome(), 'cache', 'ct2', 'base');
const CT2_TINY_EN = join(defaultHome(), 'cache', 'ct2', 'tiny.en');

// Produced by whisper.cpp's own `whisper-quantize` from our f16 base file during development;
// our quantizer must keep matching it byte for byte.
const WHISPER_QUANTIZE_SHA256 = {
  q8_0: 'ec154a9d64ef691e5035f8502ea31ea3594a6fa00f9fd8f240fe213bf7d25e01',
  q5_0: 'af2507510b99204410ae5ed69a5bda43f19102a44daf57f9f26ca688de903abe',
};

// librosa.filters.mel(sr=16000, n_fft=400, n_mels=N) values (librosa 0.11.0, identical to
// OpenAI's mel_filters.npz), as [mel, bin, value].
const LIBROSA_MEL_80: Array<[number, number, number]> = [
  [0, 1, 0.02486259490251541],
  [0, 2, 0.0],
  [1, 2, 0.022871771827340126],
  [10, 10, 0.01990821771323681],
  [12, 13, 0.0009727313299663365],
  [40, 45, 0.0],
  [66, 120, 0.0017016039928421378],
  [79, 190, 0.0022320549469441175],
  [79, 199, 0.0004487590049393475],
];
const LIBROSA_MEL_80_SUM = 1.999024092387117;
const LIBROSA_MEL_128: Array<[number, number, number]> = [
  [0, 1, 0.012373986653983593],
  [51, 31, 0.022718291729688644],
  [100, 110, 0.0],
  [127, 196, 0.004457120783627033],
];
const LIBROSA_MEL_128_SUM = 3.1909855409403463;

const BASE_HPARAMS = {
  nVocab: 51865,
  nAudioCtx: 1500,
  nAudioState: 512,
  nAudioHead: 8,
  nAudioLayer: 6,
  nTextCtx: 448,
  nTextState: 512,
  nTextHead: 8,
  nTextLayer: 6,
  nMels: 80,
};

let tmp: string;
let store: ModelStore;
let baseF16: InstalledModel;
let baseF16Info: GgmlModelInfo;

before(async () => {
  for (const dir of [CT2_BASE, CT2_TINY_EN]) {
    if (!existsSync(join(dir, 'model.bin'))) {
      throw new Error(`${dir}/model.bin is missing: run \`npm run fetch:test-models\` before these tests`);
    }
  }
  tmp = await mkdtemp(join(os.tmpdir(), 'earshot-import-test-'));
  store = new ModelStore(join(tmp, 'home'));
  baseF16 = await importModel(CT2_BASE, { store, id: 'base' });
  baseF16Info = await readGgmlModel(baseF16.path);
});

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('CTranslate2 → ggml (Whisper base, multilingual)', () => {
  test('header and hyperparameters are what whisper.cpp reads', () => {
    assert.deepEqual(baseF16Info.hparams, BASE_HPARAMS);
    assert.equal(baseF16Info.ftype, 1);
    assert.equal(baseF16Info.quantization, 'f16');
    assert.equal(baseF16Info.filters.nMels, 80);
    assert.equal(baseF16Info.filters.nBins, 201);
  });

  test('every tensor whisper.cpp asks for is present once, with its shape and type', () => {
    const expected = expectedWhisperTensors(BASE_HPARAMS);
    assert.equal(baseF16Info.tensors.length, 245);
    assert.equal(expected.length, 245);
    const byName = new Map(baseF16Info.tensors.map((t) => [t.name, t]));
    for (const { name, shape } of expected) {
      const t = byName.get(name);
      assert.ok(t, `missing ${name}`);
      assert.deepEqual(t.shape, shape, name);
      const wantType =
        shape.length === 1 || name.endsWith('conv1.bias') || name.endsWith('conv2.bias') || name.endsWith('positional_embedding') ? 'f32' : 'f16';
      assert.equal(t.typeName, wantType, name);
    }
    assert.deepEqual(byName.get('encoder.conv1.weight')!.shape, [512, 80, 3]);
    assert.deepEqual(byName.get('encoder.conv1.bias')!.shape, [512, 1]);
    assert.deepEqual(byName.get('decoder.token_embedding.weight')!.shape, [51865, 512]);
  });

  test('vocabulary: 50257 ordinary tokens as raw bytes, specials left to whisper.cpp', async () => {
    const vocab = baseF16Info.vocab;
    assert.equal(vocab.length, 50257);
    assert.equal(vocab[0].toString(), '!');
    assert.equal(vocab[50256].length, 0, 'the multilingual vocabulary has an empty token at 50256');
    const list = JSON.parse(await readFile(join(CT2_BASE, 'vocabulary.json'), 'utf8')) as string[];
    assert.equal(list[50257], '<|endoftext|>');
    const the = list.indexOf('Ġthe');
    assert.equal(vocab[the].toString('utf8'), ' the');
    const newline = list.indexOf('Ċ');
    assert.deepEqual([...vocab[newline]], [0x0a]);
    // a multi-byte UTF-8 token survives: "é" is spelled "Ã©" byte-level
    const eAcute = list.indexOf('Ã©');
    assert.equal(vocab[eAcute].toString('utf8'), 'é');
  });

  test('weights are the CTranslate2 values, fused Q/K/V split at the right rows', async () => {
    const ct2 = await readCt2Model(join(CT2_BASE, 'model.bin'));
    const fh = await open(baseF16.path, 'r');
    try {
      const ggml = new Map(baseF16Info.tensors.map((t) => [t.name, t]));
      const readGgml = async (name: string) => {
        const t = ggml.get(name)!;
        const b = Buffer.alloc(t.byteLength);
        await fh.read(b, 0, b.length, t.offset);
        return b;
      };
      const readCt2 = (v: Ct2Variable, firstRow = 0, rows = v.shape[0]) => {
        const rowBytes = v.byteLength / v.shape[0];
        return ct2.file.read(v.offset + firstRow * rowBytes, rows * rowBytes);
      };
      const d = 512;
      const qkv = ct2.require('encoder/layer_3/self_attention/linear_0/weight');
      assert.equal(qkv.dtype, 'float16');
      assert.deepEqual(qkv.shape, [3 * d, d]);
      assert.ok((await readGgml('encoder.blocks.3.attn.query.weight')).equals(await readCt2(qkv, 0, d)));
      assert.ok((await readGgml('encoder.blocks.3.attn.key.weight')).equals(await readCt2(qkv, d, d)));
      assert.ok((await readGgml('encoder.blocks.3.attn.value.weight')).equals(await readCt2(qkv, 2 * d, d)));
      const kv = ct2.require('decoder/layer_5/attention/linear_1/weight');
      assert.ok((await readGgml('decoder.blocks.5.cross_attn.key.weight')).equals(await readCt2(kv, 0, d)));
      assert.ok((await readGgml('decoder.blocks.5.cross_attn.value.weight')).equals(await readCt2(kv, d, d)));
      assert.ok((await readGgml('decoder.token_embedding.weight')).equals(await readCt2(ct2.require('decoder/embeddings/weight'))));
      // f16 biases become f32 with the same values; the fused bias's key block is dropped
      const kvBias = await readCt2(ct2.require('decoder/layer_5/attention/linear_1/bias'));
      const valueBias = await readGgml('decoder.blocks.5.cross_attn.value.bias');
      for (let i = 0; i < d; i++) assert.equal(valueBias.readFloatLE(i * 4), halfToFloat(kvBias.readUInt16LE((d + i) * 2)));
      const gamma = await readCt2(ct2.require('encoder/layer_norm/gamma'));
      const lnPost = await readGgml('encoder.ln_post.weight');
      for (let i = 0; i < d; i++) assert.equal(lnPost.readFloatLE(i * 4), halfToFloat(gamma.readUInt16LE(i * 2)));
    } finally {
      await fh.close();
      await ct2.close();
    }
  });

  test('the mel filterbank in the file is the librosa/Whisper one', () => {
    const ours = melFilterbank(80).data;
    assert.deepEqual([...baseF16Info.filters.data], [...ours]);
  });

  test('manifest: ggml, whisper, multilingual, f16, with conversion details', async () => {
    assert.equal(baseF16.format, 'ggml');
    assert.equal(baseF16.engine, 'whisper');
    assert.equal(baseF16.file, 'model.bin');
    assert.equal(baseF16.languages, '*');
    assert.equal(baseF16.quantization, 'f16');
    assert.equal(baseF16.details?.n_vocab, 51865);
    assert.equal(baseF16.details?.n_audio_layer, 6);
    assert.equal(baseF16.details?.n_text_layer, 6);
    assert.equal(baseF16.details?.converted_from, 'ct2');
    assert.equal(baseF16.sha256, await sha256File(baseF16.path));
    assert.deepEqual((await store.get('base'))?.sha256, baseF16.sha256);
  });
});

describe('quantized output', () => {
  test('q8_0 is smaller, parses, keeps f32/f16 where whisper.cpp wants them, and matches whisper-quantize', async () => {
    const q8 = await importModel(CT2_BASE, { store, id: 'base-q8_0', quantize: 'q8_0' });
    assert.equal(q8.quantization, 'q8_0');
    assert.ok(q8.size < baseF16.size * 0.6, `q8_0 ${q8.size} bytes vs f16 ${baseF16.size}`);
    const info = await readGgmlModel(q8.path);
    assert.equal(info.ftype, 2007);
    assert.deepEqual(info.hparams, BASE_HPARAMS);
    const types = new Map(info.tensors.map((t) => [t.name, t.typeName]));
    assert.equal(types.get('decoder.token_embedding.weight'), 'q8_0');
    assert.equal(types.get('encoder.blocks.0.mlp.0.weight'), 'q8_0');
    assert.equal(types.get('encoder.conv2.weight'), 'f16');
    assert.equal(types.get('encoder.conv2.bias'), 'f32');
    assert.equal(types.get('decoder.positional_embedding'), 'f32');
    assert.equal(types.get('decoder.ln.bias'), 'f32');
    assert.equal(q8.sha256, WHISPER_QUANTIZE_SHA256.q8_0);

    // Dequantized values stay within half a quantization step of the f16 originals.
    const f16 = baseF16Info.tensors.find((t) => t.name === 'encoder.blocks.2.attn.out.weight')!;
    const q = info.tensors.find((t) => t.name === 'encoder.blocks.2.attn.out.weight')!;
    const f16Bytes = await readRange(baseF16.path, f16.offset, 512 * 2);
    const qBytes = await readRange(q8.path, q.offset, 16 * 34);
    for (let block = 0; block < 16; block++) {
      const scale = halfToFloat(qBytes.readUInt16LE(block * 34));
      for (let j = 0; j < 32; j++) {
        const original = halfToFloat(f16Bytes.readUInt16LE((block * 32 + j) * 2));
        const restored = scale * qBytes.readInt8(block * 34 + 2 + j);
        assert.ok(Math.abs(original - restored) <= scale * 0.51 + 1e-7, `block ${block} value ${j}`);
      }
    }
  });

  test('q5_0 is smaller still and matches whisper-quantize', async () => {
    const q5 = await importModel(CT2_BASE, { store, id: 'base-q5_0', quantize: 'q5_0' });
    const info = await readGgmlModel(q5.path);
    assert.equal(info.ftype, 2008);
    assert.equal(q5.quantization, 'q5_0');
    assert.ok(q5.size < baseF16.size * 0.4);
    assert.equal(q5.sha256, WHISPER_QUANTIZE_SHA256.q5_0);
  });

  test('re-encoding the f16 ggml file to q8_0 gives the same bytes as converting CTranslate2 directly', async () => {
    const requantized = await importModel(baseF16.path, { store, id: 'from-ggml-q8_0', quantize: 'q8_0' });
    assert.equal(requantized.sha256, WHISPER_QUANTIZE_SHA256.q8_0);
    assert.equal(requantized.details?.converted_from, null);
  });

  test('q8_0 block rules: scale amax/127, halves rounded away from zero', () => {
    const x = new Float32Array(32);
    x.set([127, 2.5, -2.5, 0.5, -0.5, 1.49, -127]);
    const out = new Uint8Array(34);
    quantizeQ8_0(x, out);
    assert.equal(out[0] | (out[1] << 8), 0x3c00); // d = 1.0
    assert.deepEqual([...new Int8Array(out.buffer, 2, 7)], [127, 3, -3, 1, -1, 1, -127]);
    const ramp = Float32Array.from({ length: 32 }, (_, j) => j - 16);
    quantizeQ8_0(ramp, out);
    const qs = new Int8Array(out.buffer, 2, 32);
    assert.equal(qs[0], -127);
    assert.equal(qs[16], 0);
    assert.equal(qs[17], 8);
    assert.equal(qs[31], 119);
    assert.ok(Math.abs(halfToFloat(out[0] | (out[1] << 8)) - 16 / 127) < 1e-4);
  });

  test('q5_0 block rules: scale max/-16, nibbles paired j/j+16, fifth bits in qh', () => {
    const ramp = Float32Array.from({ length: 32 }, (_, j) => j - 16);
    const out = new Uint8Array(22);
    quantizeQ5_0(ramp, out);
    assert.equal(out[0] | (out[1] << 8), 0x3c00); // d = -16 / -16 = 1
    assert.deepEqual([...out.subarray(2, 6)], [0, 0, 0xff, 0xff]);
    assert.deepEqual(
      [...out.subarray(6, 22)],
      Array.from({ length: 16 }, (_, j) => j | (j << 4)),
    );
  });
});

describe('int8-quantized CTranslate2 weights', () => {
  test('int8 rows with per-row "_scale" are dequantized (fused rows keep their own scales)', async () => {
    const dir = join(tmp, 'ct2-int8');
    await buildInt8Ct2(dir);
    const converted = await importModel(dir, { store, id: 'from-int8' });
    const info = await readGgmlModel(converted.path);
    assert.deepEqual(info.hparams, BASE_HPARAMS);
    const ct2 = await readCt2Model(join(dir, 'model.bin'));
    try {
      const check = async (name: string, ct2Name: string, firstRow: number, rows: number) => {
        const scaleVar = ct2.require(`${ct2Name}_scale`);
        const scaleBytes = await ct2.file.read(scaleVar.offset, scaleVar.byteLength);
        const ours = info.tensors.find((t) => t.name === name)!;
        const ref = baseF16Info.tensors.find((t) => t.name === name)!;
        const rowLength = ours.byteLength / 2 / ours.shape[0];
        const [a, b] = await Promise.all([
          readRange(converted.path, ours.offset, rows * rowLength * 2),
          readRange(baseF16.path, ref.offset, rows * rowLength * 2),
        ]);
        for (let i = 0; i < rows * rowLength; i++) {
          const scale = scaleBytes.readFloatLE((firstRow + Math.floor(i / rowLength)) * 4);
          const original = halfToFloat(b.readUInt16LE(i * 2));
          const restored = halfToFloat(a.readUInt16LE(i * 2));
          const tolerance = 0.5 / scale + Math.abs(original) * 2 ** -10 + 1e-7;
          assert.ok(Math.abs(restored - original) <= tolerance, `${name}[${i}]: ${restored} vs ${original}`);
        }
      };
      await check('encoder.blocks.1.attn.key.weight', 'encoder/layer_1/self_attention/linear_0/weight', 512, 4);
      await check('decoder.blocks.2.cross_attn.value.weight', 'decoder/layer_2/attention/linear_1/weight', 512, 4);
      await check('encoder.conv1.weight', 'encoder/conv1/weight', 0, 8);
      await check('decoder.token_embedding.weight', 'decoder/embeddings/weight', 0, 8);
    } finally {
      await ct2.close();
    }
    await rm(dir, { recursive: true, force: true });
  });
});

describe('English-only model (tiny.en)', () => {
  test('converts with 50256 ordinary tokens and languages ["en"]', async () => {
    const tiny = await importModel(CT2_TINY_EN, { store, id: 'tiny.en' });
    assert.deepEqual(tiny.languages, ['en']);
    const info = await readGgmlModel(tiny.path);
    assert.deepEqual(info.hparams, {
      nVocab: 51864,
      nAudioCtx: 1500,
      nAudioState: 384,
      nAudioHead: 6,
      nAudioLayer: 4,
      nTextCtx: 448,
      nTextState: 384,
      nTextHead: 6,
      nTextLayer: 4,
      nMels: 80,
    });
    assert.equal(info.vocab.length, 50256);
    assert.equal(info.tensors.length, expectedWhisperTensors(info.hparams).length);
    assert.equal(tiny.details?.size, 'tiny');
  });
});

describe('ggml files are taken as they are', () => {
  test('a ggml file is copied unchanged after its header is checked', async () => {
    const copy = await importModel(baseF16.path, { store, id: 'copied' });
    assert.equal(copy.sha256, baseF16.sha256);
    assert.equal(copy.quantization, 'f16');
    assert.equal(copy.languages, '*');
  });

  test('detection by content', async () => {
    assert.deepEqual(await detectModel(CT2_BASE), { kind: 'ct2', path: CT2_BASE });
    assert.deepEqual(await detectModel(join(CT2_BASE, 'model.bin')), { kind: 'ct2', path: CT2_BASE });
    assert.deepEqual(await detectModel(baseF16.path), { kind: 'ggml', path: baseF16.path });
    assert.equal((await detectModel(join(CT2_BASE, 'vocabulary.json'))).kind, 'unknown');
    assert.equal((await detectModel(join(tmp, 'nope'))).kind, 'unknown');
  });

  test('default ids come from the input name', () => {
    assert.equal(defaultModelId('/x/ggml-base.en.bin'), 'base.en');
    assert.equal(defaultModelId('/x/faster-whisper-small/'), 'faster-whisper-small');
    assert.equal(defaultModelId('/x/faster-whisper-small/model.bin', 'q8_0'), 'faster-whisper-small-q8_0');
  });
});

describe('Hugging Face safetensors → ggml', () => {
  test('a transformers-layout folder built from the CTranslate2 weights converts to the same bytes (single file)', async () => {
    const dir = join(tmp, 'hf-single');
    await buildHfFolder(dir, 1);
    const hf = await importModel(dir, { store, id: 'hf-single' });
    assert.equal(hf.details?.converted_from, 'hf-safetensors');
    await assertSameTensors(hf.path);
    assert.equal(hf.sha256, baseF16.sha256, 'header, vocabulary and tensors all identical');
    await rm(dir, { recursive: true, force: true });
  });

  test('sharded checkpoints (model.safetensors.index.json) convert the same way', async () => {
    const dir = join(tmp, 'hf-sharded');
    await buildHfFolder(dir, 2);
    const hf = await importModel(dir, { store, id: 'hf-sharded' });
    assert.equal(hf.sha256, baseF16.sha256);
    await rm(dir, { recursive: true, force: true });
  });
});

describe('bad input gives clear errors and leaves nothing behind', () => {
  test('truncated CTranslate2 model.bin', async () => {
    const dir = join(tmp, 'truncated-ct2');
    await mkdir(dir);
    const head = await readRange(join(CT2_BASE, 'model.bin'), 0, 10_000_000);
    await writeFile(join(dir, 'model.bin'), head);
    await copyFile(join(CT2_BASE, 'vocabulary.json'), join(dir, 'vocabulary.json'));
    await assert.rejects(importModel(dir, { store, id: 'bad-truncated' }), /truncated/);
  });

  test('a CTranslate2 model that is not Whisper', async () => {
    const dir = join(tmp, 'not-whisper');
    await mkdir(dir);
    await writeFile(join(dir, 'model.bin'), ct2File('TransformerSpec', [{ name: 'x', shape: [2], dtypeId: 0, data: Buffer.alloc(8) }]));
    await assert.rejects(importModel(dir, { store, id: 'bad-spec' }), /"TransformerSpec" is not a Whisper model/);
  });

  test('a CTranslate2 variable with an unknown dtype', async () => {
    const dir = join(tmp, 'bad-dtype');
    await mkdir(dir);
    await writeFile(join(dir, 'model.bin'), ct2File('WhisperSpec', [{ name: 'x', shape: [2], dtypeId: 9, data: Buffer.alloc(8) }]));
    await assert.rejects(importModel(dir, { store, id: 'bad-dtype' }), /unknown dtype id 9/);
  });

  test('CTranslate2 folder without a vocabulary', async () => {
    const dir = join(tmp, 'no-vocab');
    await mkdir(dir);
    await symlink(join(CT2_BASE, 'model.bin'), join(dir, 'model.bin'));
    await assert.rejects(importModel(dir, { store, id: 'bad-vocab' }), /no vocabulary found/);
  });

  test('Hugging Face folder without config.json', async () => {
    const dir = join(tmp, 'hf-no-config');
    await mkdir(dir);
    await writeSafetensors([join(dir, 'model.safetensors')], [[{ name: 'x', dtype: 'F32', shape: [2], bytes: Buffer.alloc(8) }]]);
    await assert.rejects(importModel(dir, { store, id: 'bad-config' }), /missing config\.json/);
  });

  test('truncated ggml file', async () => {
    const path = join(tmp, 'truncated-ggml.bin');
    await writeFile(path, await readRange(baseF16.path, 0, 5_000_000));
    await assert.rejects(importModel(path, { store, id: 'bad-ggml' }), /truncated/);
  });

  test('GGUF and arbitrary files are refused by name', async () => {
    const gguf = join(tmp, 'model.gguf');
    await writeFile(gguf, Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(60)]));
    await assert.rejects(importModel(gguf, { store, id: 'bad-gguf' }), /GGUF/);
    const text = join(tmp, 'notes.txt');
    await writeFile(text, 'this is not a model, just some text that is long enough');
    await assert.rejects(importModel(text, { store, id: 'bad-text' }), /cannot import .*not a ggml, CTranslate2 or safetensors/);
  });

  test('f32 output is refused: whisper.cpp 1.9.1 aborts on f32 conv kernels on CPU', async () => {
    await assert.rejects(importModel(CT2_BASE, { store, id: 'bad-f32', quantize: 'f32' }), /f32 .*abort whisper\.cpp/);
  });

  test('failed imports installed nothing and cleaned their staging folders', async () => {
    const ids = (await store.list()).map((m) => m.id);
    assert.ok(!ids.some((id) => id.startsWith('bad-')), ids.join(','));
    assert.deepEqual(await readdir(store.tmpDir), []);
  });
});

describe('mel filterbank', () => {
  test('80 bands equal librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)', () => {
    const bank = melFilterbank(80);
    assert.equal(bank.nBins, 201);
    for (const [m, k, value] of LIBROSA_MEL_80) assert.equal(bank.data[m * 201 + k], Math.fround(value), `[${m}][${k}]`);
    const sum = bank.data.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - LIBROSA_MEL_80_SUM) < 1e-9, `sum ${sum}`);
  });

  test('128 bands (large-v3) equal librosa too', () => {
    const bank = melFilterbank(128);
    for (const [m, k, value] of LIBROSA_MEL_128) assert.equal(bank.data[m * 201 + k], Math.fround(value), `[${m}][${k}]`);
    const sum = bank.data.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - LIBROSA_MEL_128_SUM) < 1e-9, `sum ${sum}`);
  });
});

// ---------------------------------------------------------------------------------------------
// helpers

async function readRange(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(length);
    const { bytesRead } = await fh.read(b, 0, length, offset);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Compares every tensor's data bytes with the CT2-converted base file. */
async function assertSameTensors(path: string): Promise<void> {
  const info = await readGgmlModel(path);
  assert.equal(info.tensors.length, baseF16Info.tensors.length);
  const reference = new Map(baseF16Info.tensors.map((t) => [t.name, t]));
  for (const t of info.tensors) {
    const ref = reference.get(t.name)!;
    assert.equal(t.type, ref.type, t.name);
    assert.deepEqual(t.shape, ref.shape, t.name);
    const [a, b] = await Promise.all([readRange(path, t.offset, t.byteLength), readRange(baseF16.path, ref.offset, ref.byteLength)]);
    assert.ok(a.equals(b), `tensor ${t.name} differs`);
  }
}

/**
 * Writes an int8 CTranslate2 copy of the base model laid out as CTranslate2 stores int8 weights:
 * every weight matrix/kernel becomes int8 rows round(w * scale) with scale = 127 / max|row|,
 * stored next to it as "<name>_scale" (float32, one per row). Other variables stay as they are.
 */
async function buildInt8Ct2(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const src = await readCt2Model(join(CT2_BASE, 'model.bin'));
  const variables: Array<{ name: string; shape: number[]; dtypeId: number; data: Buffer }> = [];
  try {
    for (const v of src.variables.values()) {
      const raw = await src.file.read(v.offset, v.byteLength);
      const quantizable = v.name.endsWith('/weight') && v.shape.length >= 2 && v.dtype === 'float16';
      if (!quantizable) {
        variables.push({
          name: v.name,
          shape: v.shape,
          dtypeId: { float32: 0, int8: 1, int16: 2, int32: 3, float16: 4, bfloat16: 5 }[v.dtype as 'float32'],
          data: raw,
        });
        continue;
      }
      const rows = v.shape[0];
      const rowLength = v.byteLength / 2 / rows;
      const q = Buffer.alloc(rows * rowLength);
      const scales = Buffer.alloc(rows * 4);
      for (let r = 0; r < rows; r++) {
        let amax = 0;
        for (let j = 0; j < rowLength; j++) amax = Math.max(amax, Math.abs(halfToFloat(raw.readUInt16LE((r * rowLength + j) * 2))));
        const scale = Math.fround(127 / (amax || 127));
        scales.writeFloatLE(scale, r * 4);
        for (let j = 0; j < rowLength; j++) {
          const x = Math.fround(halfToFloat(raw.readUInt16LE((r * rowLength + j) * 2)) * scale);
          q.writeInt8(Math.max(-127, Math.min(127, Math.round(x))), r * rowLength + j);
        }
      }
      variables.push({ name: v.name, shape: v.shape, dtypeId: 1, data: q });
      variables.push({ name: `${v.name}_scale`, shape: [rows], dtypeId: 0, data: scales });
    }
    await writeFile(join(dir, 'model.bin'), ct2File('WhisperSpec', variables, src.aliases));
  } finally {
    await src.close();
  }
  await copyFile(join(CT2_BASE, 'vocabulary.json'), join(dir, 'vocabulary.json'));
}

/** A CTranslate2 model.bin (binary version 6) from explicit variables. */
function ct2File(
  spec: string,
  variables: Array<{ name: string; shape: number[]; dtypeId: number; data: Buffer }>,
  aliases: Map<string, string> = new Map(),
): Buffer {
  const parts: Buffer[] = [];
  const u8 = (n: number) => parts.push(Buffer.from([n]));
  const u16 = (n: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(n);
    parts.push(b);
  };
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    parts.push(b);
  };
  const str = (s: string) => {
    u16(Buffer.byteLength(s) + 1);
    parts.push(Buffer.from(s), Buffer.from([0]));
  };
  u32(6);
  str(spec);
  u32(1);
  u32(variables.length);
  for (const v of variables) {
    str(v.name);
    u8(v.shape.length);
    v.shape.forEach(u32);
    u8(v.dtypeId);
    u32(v.data.length);
    parts.push(v.data);
  }
  u32(aliases.size);
  for (const [alias, target] of aliases) {
    str(alias);
    str(target);
  }
  return Buffer.concat(parts);
}

interface StTensor {
  name: string;
  dtype: 'F16' | 'F32';
  shape: number[];
  bytes: Buffer;
}

/** Writes safetensors shards (header padded to 8 bytes, as the reference writer does). */
async function writeSafetensors(paths: string[], shards: StTensor[][]): Promise<void> {
  for (let s = 0; s < paths.length; s++) {
    const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    let offset = 0;
    for (const t of shards[s]) {
      header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
      offset += t.bytes.length;
    }
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    const fh = await open(paths[s], 'w');
    try {
      await fh.write(Buffer.concat([length, Buffer.from(json)]));
      for (const t of shards[s]) await fh.write(t.bytes);
    } finally {
      await fh.close();
    }
  }
}

/**
 * Builds a transformers-layout Whisper folder (config.json, vocab.json, added_tokens.json,
 * model.safetensors or shards + index) from the CTranslate2 base weights. The name mapping and
 * the un-fusing of Q/K/V here are written independently of src/models/import.
 */
async function buildHfFolder(dir: string, shardCount: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const ct2 = await readCt2Model(join(CT2_BASE, 'model.bin'));
  try {
    const d = 512;
    const tensors: StTensor[] = [];
    const take = async (hfName: string, ct2Name: string, firstRow?: number, rows?: number) => {
      const v = ct2.require(ct2Name);
      assert.equal(v.dtype, 'float16');
      const rowBytes = v.byteLength / v.shape[0];
      const start = firstRow ?? 0;
      const count = rows ?? v.shape[0];
      const bytes = await ct2.file.read(v.offset + start * rowBytes, count * rowBytes);
      tensors.push({ name: hfName, dtype: 'F16', shape: [count, ...v.shape.slice(1)], bytes });
    };
    const linear = async (hf: string, c: string, firstRow?: number, rows?: number, bias = true) => {
      await take(`${hf}.weight`, `${c}/weight`, firstRow, rows);
      if (bias) await take(`${hf}.bias`, `${c}/bias`, firstRow, rows);
    };
    const norm = async (hf: string, c: string) => {
      await take(`${hf}.weight`, `${c}/gamma`);
      await take(`${hf}.bias`, `${c}/beta`);
    };
    const selfAttention = async (hf: string, c: string) => {
      await linear(`${hf}.self_attn.q_proj`, `${c}/self_attention/linear_0`, 0, d);
      await linear(`${hf}.self_attn.k_proj`, `${c}/self_attention/linear_0`, d, d, false);
      await linear(`${hf}.self_attn.v_proj`, `${c}/self_attention/linear_0`, 2 * d, d);
      await linear(`${hf}.self_attn.out_proj`, `${c}/self_attention/linear_1`);
      await norm(`${hf}.self_attn_layer_norm`, `${c}/self_attention/layer_norm`);
    };
    const ffn = async (hf: string, c: string) => {
      await linear(`${hf}.fc1`, `${c}/ffn/linear_0`);
      await linear(`${hf}.fc2`, `${c}/ffn/linear_1`);
      await norm(`${hf}.final_layer_norm`, `${c}/ffn/layer_norm`);
    };

    await linear('model.encoder.conv1', 'encoder/conv1');
    await linear('model.encoder.conv2', 'encoder/conv2');
    await take('model.encoder.embed_positions.weight', 'encoder/position_encodings/encodings');
    for (let i = 0; i < 6; i++) {
      await selfAttention(`model.encoder.layers.${i}`, `encoder/layer_${i}`);
      await ffn(`model.encoder.layers.${i}`, `encoder/layer_${i}`);
    }
    await norm('model.encoder.layer_norm', 'encoder/layer_norm');
    await take('model.decoder.embed_tokens.weight', 'decoder/embeddings/weight');
    await take('model.decoder.embed_positions.weight', 'decoder/position_encodings/encodings');
    for (let i = 0; i < 6; i++) {
      const hf = `model.decoder.layers.${i}`;
      const c = `decoder/layer_${i}`;
      await selfAttention(hf, c);
      await linear(`${hf}.encoder_attn.q_proj`, `${c}/attention/linear_0`);
      await linear(`${hf}.encoder_attn.k_proj`, `${c}/attention/linear_1`, 0, d, false);
      await linear(`${hf}.encoder_attn.v_proj`, `${c}/attention/linear_1`, d, d);
      await linear(`${hf}.encoder_attn.out_proj`, `${c}/attention/linear_2`);
      await norm(`${hf}.encoder_attn_layer_norm`, `${c}/attention/layer_norm`);
      await ffn(hf, c);
    }
    await norm('model.decoder.layer_norm', 'decoder/layer_norm');
    await take('proj_out.weight', 'decoder/embeddings/weight'); // tied; the converter must ignore it

    if (shardCount === 1) {
      await writeSafetensors([join(dir, 'model.safetensors')], [tensors]);
    } else {
      const shards: StTensor[][] = Array.from({ length: shardCount }, () => []);
      for (const [i, t] of tensors.entries()) shards[i % shardCount].push(t);
      const names = shards.map((_, s) => `model-0000${s + 1}-of-0000${shardCount}.safetensors`);
      await writeSafetensors(
        names.map((n) => join(dir, n)),
        shards,
      );
      const weightMap: Record<string, string> = {};
      for (const [s, shard] of shards.entries()) for (const t of shard) weightMap[t.name] = names[s];
      await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    }
  } finally {
    await ct2.close();
  }

  const tokens = JSON.parse(await readFile(join(CT2_BASE, 'vocabulary.json'), 'utf8')) as string[];
  const eot = tokens.indexOf('<|endoftext|>');
  const vocab: Record<string, number> = {};
  const added: Record<string, number> = {};
  for (const [id, token] of tokens.entries()) (id < eot ? vocab : added)[token] = id;
  await writeFile(join(dir, 'vocab.json'), JSON.stringify(vocab));
  await writeFile(join(dir, 'added_tokens.json'), JSON.stringify(added));
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({
      architectures: ['WhisperForConditionalGeneration'],
      model_type: 'whisper',
      vocab_size: 51865,
      num_mel_bins: 80,
      d_model: 512,
      encoder_layers: 6,
      encoder_attention_heads: 8,
      decoder_layers: 6,
      decoder_attention_heads: 8,
      encoder_ffn_dim: 2048,
      decoder_ffn_dim: 2048,
      max_source_positions: 1500,
      max_target_positions: 448,
      torch_dtype: 'float16',
    }),
  );
}
