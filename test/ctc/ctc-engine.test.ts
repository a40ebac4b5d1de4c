// The CTC engine against transformers itself, on a randomly initialised Wav2Vec2ForCTC saved by
// save_pretrained and imported through `models import` like a user's folder: logits vs PyTorch,
// text vs Wav2Vec2Processor.batch_decode, word times vs the ASR pipeline, chunked long audio vs the
// pipeline's chunking, and import errors that leave nothing behind.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { pocketsphinxClips } from '../../src/eval/corpus.js';
import { editDistance } from '../../src/eval/wer.js';
import { CtcEngine } from '../../src/engines/ctc/engine.js';
import { normalize } from '../../src/engines/ctc/chunking.js';
import { CtcTokenizer } from '../../src/engines/ctc/tokenizer.js';
import { EngineError } from '../../src/engines/types.js';
import { readCtcSettings } from '../../src/models/ctc-settings.js';
import { importModel } from '../../src/models/import/index.js';
import { ModelStore, type InstalledModel } from '../../src/models/store.js';
import { loadClip } from '../helpers/audio.js';
import { reference, tinyModel } from './fixture.js';

const clips = pocketsphinxClips().filter((c) => c.set === 'librivox');

async function concatClips(seconds: number): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  let total = 0;
  for (let i = 0; total < seconds * 16000; i++) {
    const clip = await loadClip(clips[i % clips.length]!.path);
    parts.push(clip);
    total += clip.length;
  }
  const out = new Float32Array(seconds * 16000);
  let at = 0;
  for (const p of parts) {
    out.set(p.subarray(0, Math.min(p.length, out.length - at)), at);
    at += p.length;
    if (at >= out.length) break;
  }
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * Chunked vs one pass: measured 7.5 % CER on the random model. Its attention is spread over the
 * whole input (nothing trained it to look locally), so 10 s of context instead of 60 s changes
 * frames everywhere, not only at chunk edges. Exactness is asserted against the pipeline's own
 * chunking above; this bound only guards against gross stitching errors (a lost or doubled chunk
 * is 6.7 s of the 60 s, a ninth of the text, on top of the 7.5 %).
 */
const CHUNKED_CER_LIMIT = 0.12;

describe('CTC engine (wav2vec2, onnxruntime) vs transformers', () => {
  let home: string;
  let store: ModelStore;
  let folder: string;
  let model: InstalledModel;
  let clip: Float32Array;
  const engines: CtcEngine[] = [];

  const engine = (chunkSeconds: number) => {
    const e = new CtcEngine({
      modelId: model.id,
      modelDir: model.dir,
      threads: 1,
      processes: 1,
      device: 'cpu',
      languages: model.languages as string[],
      chunkSeconds,
    });
    engines.push(e);
    return e;
  };

  before(async () => {
    home = await mkdtemp(join(os.tmpdir(), 'earshot-ctc-'));
    store = new ModelStore(home);
    folder = await tinyModel('large');
    model = await importModel(folder, { store, id: 'w2v-ko' });
    clip = await loadClip(clips[0]!.path);
  });
  after(async () => {
    await Promise.all(engines.map((e) => e.close(1000)));
    await rm(home, { recursive: true, force: true });
  });

  it('imports the save_pretrained folder as an ONNX CTC model with its language guessed from the vocabulary', async () => {
    assert.equal(model.format, 'onnx-ctc');
    assert.equal(model.engine, 'ctc');
    assert.deepEqual(model.languages, ['ko']);
    assert.equal(model.details?.converted_from, 'safetensors');
    const files = await readdir(model.dir);
    for (const f of ['model.onnx', 'model.onnx.data', 'ctc.json', 'vocab.json', 'config.json']) assert.ok(files.includes(f), `${f} installed`);
  });

  const variants = {
    'wav2vec2, large-style layout (pre-norm, layer-norm convs)': () => tinyModel('large'),
    'wav2vec2, base-style layout (post-norm, group-norm conv)': () => tinyModel('base'),
    HubertForCTC: () => tinyModel('large', false, 'hubert'),
  };
  for (const [name, build] of Object.entries(variants)) {
    it(`gives PyTorch's logits within 1e-3 (${name})`, async () => {
      const source = await build();
      const dir = source === folder ? model.dir : (await importModel(source, { store, id: `variant-${Object.keys(variants).indexOf(name)}` })).dir;
      const ref = await reference(source, clip);
      const session = await ort.InferenceSession.create(join(dir, 'model.onnx'));
      const out = await session.run({ input_values: new ort.Tensor('float32', normalize(clip), [1, clip.length]) });
      assert.deepEqual(out.logits!.dims, [1, ref.frames, ref.vocab]);
      const diff = maxAbsDiff(out.logits!.data as Float32Array, ref.logits);
      console.log(`# ${name}: max |logits - PyTorch| = ${diff.toExponential(2)} over ${ref.frames}x${ref.vocab}`);
      assert.ok(diff <= 1e-3, `max abs diff ${diff}`);
      await session.release();
    });
  }

  it('decodes the same ids to the same text and word offsets as Wav2Vec2Processor.batch_decode', async () => {
    const ref = await reference(folder, clip);
    const tokenizer = new CtcTokenizer(readCtcSettings(model.dir).tokenizer);
    const decoded = tokenizer.decode(ref.ids);
    assert.ok(ref.text.length > 20 && ref.text.includes(' '), 'the random model emits words and delimiters');
    assert.equal(decoded.text, ref.text);
    assert.deepEqual(decoded.words, ref.word_offsets);
  });

  it('transcribes like the transformers ASR pipeline: same text, same word times, inside the audio', async () => {
    const ref = await reference(folder, clip);
    const t = await engine(0).transcribe(clip);
    assert.equal(t.text, ref.pipeline.text);
    const words = t.segments.flatMap((s) => s.words ?? []);
    assert.deepEqual(
      words.map((w) => [w.word, round2(w.start), round2(w.end)]),
      ref.pipeline.words.map(([w, a, b]) => [w, round2(a), round2(b)]),
    );
    let last = 0;
    for (const w of words) {
      assert.ok(w.start >= last && w.end >= w.start && w.end <= t.duration + 1e-9, `word ${w.word} ${w.start}-${w.end}`);
      assert.ok(w.probability > 0 && w.probability <= 1);
      last = w.start;
    }
    assert.equal(t.engine, 'ctc');
    assert.equal(t.language, 'ko');
    for (const s of t.segments) {
      assert.equal(s.avgLogprob, undefined, 'no invented avg_logprob');
      assert.equal(s.noSpeechProb, undefined, 'no invented no_speech_prob');
    }
  });

  it('chunks 60 s of audio exactly as the pipeline does (chunk_length_s=10) and stays within the measured distance of one pass', async () => {
    const long = await concatClips(60);
    const ref = await reference(folder, long, 10);
    const chunked = await engine(10).transcribe(long);
    assert.equal(chunked.text, ref.chunked!.text);
    const words = chunked.segments.flatMap((s) => s.words ?? []);
    assert.deepEqual(
      words.map((w) => w.word),
      ref.chunked!.words.map(([w]) => w),
    );
    for (let i = 0; i < words.length; i++) {
      assert.ok(Math.abs(words[i]!.start - ref.chunked!.words[i]![1]) < 0.011, `word ${i} start`);
      if (i > 0) assert.ok(words[i]!.start >= words[i - 1]!.start);
      assert.ok(words[i]!.end <= 60);
    }
    const single = await engine(0).transcribe(long);
    assert.equal(single.text, ref.pipeline.text);
    // Chunk edges see less context than one pass (the transformer attends over the whole input):
    // the character error rate between the two measures how much that changes.
    const cer = editDistance([...single.text], [...chunked.text]) / [...single.text].length;
    console.log(`# 60 s: chunked vs single pass: CER ${(cer * 100).toFixed(2)} % over ${[...single.text].length} characters`);
    assert.ok(cer < CHUNKED_CER_LIMIT, `CER ${cer}`);
  });

  it('refuses translation with a clear unsupported error', async () => {
    await assert.rejects(
      engine(0).transcribe(clip, { task: 'translate' }),
      (err: unknown) => err instanceof EngineError && err.code === 'unsupported' && /cannot translate/.test(err.message),
    );
  });

  describe('bad folders at import: a clear error, nothing installed, no staging left', () => {
    async function broken(name: string, damage: (dir: string) => Promise<void>): Promise<string> {
      const dir = join(home, 'inputs', name);
      await cp(folder, dir, { recursive: true });
      await damage(dir);
      return dir;
    }
    async function expectRefused(dir: string, pattern: RegExp): Promise<void> {
      await assert.rejects(importModel(dir, { store, id: 'broken' }), (err: Error) => {
        assert.match(err.message, pattern);
        return true;
      });
      assert.equal(store.has('broken'), false);
      const leftovers = (await readdir(store.tmpDir)).filter((n) => n.startsWith('import-'));
      assert.deepEqual(leftovers, []);
    }

    it('missing vocab.json', async () => {
      await expectRefused(await broken('no-vocab', (d) => rm(join(d, 'vocab.json'))), /missing vocab\.json/);
    });
    it('unsupported architecture', async () => {
      const dir = await broken('wavlm', async (d) => {
        const config = JSON.parse(await readFile(join(d, 'config.json'), 'utf8'));
        await writeFile(join(d, 'config.json'), JSON.stringify({ ...config, architectures: ['WavLMForCTC'], model_type: 'wavlm' }));
      });
      await expectRefused(dir, /architecture WavLMForCTC is not supported.*Wav2Vec2ForCTC/);
    });
    it('corrupt model.safetensors', async () => {
      const dir = await broken('corrupt', (d) => truncate(join(d, 'model.safetensors'), Math.floor(statSync(join(d, 'model.safetensors')).size / 2)));
      await expectRefused(dir, /truncated/);
    });
    it('truncated ONNX export', async () => {
      const dir = await broken('onnx', async (d) => {
        await cp(join(model.dir, 'model.onnx'), join(d, 'model.onnx'));
        await cp(join(model.dir, 'model.onnx.data'), join(d, 'model.onnx.data'));
        await truncate(join(d, 'model.onnx.data'), Math.floor(statSync(join(d, 'model.onnx.data')).size / 3));
      });
      await expectRefused(dir, /does not load in onnxruntime/);
    });
  });
});
