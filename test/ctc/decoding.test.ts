// The pure parts of the CTC engine: greedy decoding rules of Wav2Vec2CTCTokenizer, the tokenizer
// files' variants, the pipeline's chunk arithmetic (Python rounding), segments at pauses.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { keptRange, planChunks, roundHalfEven } from '../../src/engines/ctc/chunking.js';
import { splitSegments } from '../../src/engines/ctc/engine.js';
import { CtcTokenizer } from '../../src/engines/ctc/tokenizer.js';
import { receptiveField, tokenizerSpecFromFiles } from '../../src/models/ctc-settings.js';
import { guessLanguage } from '../../src/models/import/ctc.js';
import { foldWeightNorm, inputsToLogitsRatio } from '../../src/models/import/wav2vec2-onnx.js';

const vocab = { '<pad>': 0, '<s>': 1, '</s>': 2, '<unk>': 3, '|': 4, a: 5, b: 6, '.': 7 };

describe('CTC greedy decoding (Wav2Vec2CTCTokenizer rules)', () => {
  const tok = new CtcTokenizer(tokenizerSpecFromFiles({ vocab }));

  it('collapses repeats, drops blanks, keeps a letter repeated across a blank, turns | into spaces and strips', () => {
    // frames: | a a <pad> a b | | <pad> b b |
    const d = tok.decode([4, 5, 5, 0, 5, 6, 4, 4, 0, 6, 6, 4]);
    assert.equal(d.text, 'aab b');
    assert.deepEqual(d.words, [
      { word: 'aab', start: 1, end: 6 },
      { word: 'b', start: 9, end: 11 },
    ]);
  });

  it('keeps special tokens in the text (the ASR pipeline decodes with skip_special_tokens false) and maps unknown ids to <unk>', () => {
    assert.equal(tok.decode([1, 5, 99, 2]).text, '<s>a<unk></s>');
  });

  it('applies do_lower_case and clean_up_tokenization_spaces only when the tokenizer config says so', () => {
    const cased = new CtcTokenizer(
      tokenizerSpecFromFiles({ vocab: { '<pad>': 0, '|': 1, A: 2, '.': 3 }, tokenizerConfig: { do_lower_case: true, clean_up_tokenization_spaces: true } }),
    );
    assert.equal(cased.decode([2, 1, 3]).text, 'a.');
    const plain = new CtcTokenizer(tokenizerSpecFromFiles({ vocab: { '<pad>': 0, '|': 1, A: 2, '.': 3 } }));
    assert.equal(plain.decode([2, 1, 3]).text, 'A .');
  });

  it('reads special tokens from special_tokens_map.json (objects or strings) and nested multilingual vocabularies by target_lang', () => {
    const spec = tokenizerSpecFromFiles({
      vocab: { kor: { '[PAD]': 0, '[UNK]': 1, '|': 2, 가: 3 }, eng: { '[PAD]': 0, x: 1 } },
      tokenizerConfig: { target_lang: 'kor' },
      specialTokensMap: { pad_token: { content: '[PAD]' }, unk_token: '[UNK]' },
    });
    const t = new CtcTokenizer(spec);
    assert.equal(t.decode([3, 0, 3, 2, 3]).text, '가가 가');
    assert.throws(() => tokenizerSpecFromFiles({ vocab: { kor: { a: 0 }, eng: { b: 0 } } }), /target_lang/);
  });
});

describe('chunking arithmetic of the transformers ASR pipeline', () => {
  const s = { chunkSeconds: 10, sampleRate: 16000, samplesPerFrame: 320 };

  it('rounds halves to even like Python', () => {
    assert.deepEqual([0.5, 1.5, 2.5, 2.4, 2.6].map(roundHalfEven), [0, 2, 2, 2, 3]);
  });

  it('steps by chunk − 2·stride, drops no context at the outer edges, and covers the whole input', () => {
    const chunks = planChunks(60 * 16000, s);
    const stride = 83 * 320; // round(10/6 s · 16000 / 320) = 83 frames of 320 samples
    assert.equal(chunks[0]!.start, 0);
    assert.equal(chunks[0]!.dropLeft, 0);
    assert.equal(chunks[1]!.start, 160000 - 2 * stride);
    assert.equal(chunks.at(-1)!.end, 60 * 16000);
    assert.equal(chunks.at(-1)!.dropRight, 0);
    for (const c of chunks.slice(1, -1)) assert.deepEqual([c.dropLeft, c.dropRight], [83, 83]);
    // the model gives 499 frames for 160000 samples; the pipeline trims from its estimate of 500
    assert.deepEqual(keptRange(chunks[1]!, 499), [83, 417]);
  });

  it('one pass when chunking is off, and refuses a stride longer than half a chunk', () => {
    assert.equal(planChunks(1000, { ...s, chunkSeconds: 0 }).length, 1);
    assert.throws(() => planChunks(1000, { ...s, strideSeconds: 6 }), /twice the stride/);
  });
});

describe('model facts', () => {
  it('wav2vec2: 320 samples per frame, 400 samples of receptive field', () => {
    const kernels = [10, 3, 3, 3, 3, 2, 2];
    const strides = [5, 2, 2, 2, 2, 2, 2];
    assert.equal(inputsToLogitsRatio({ conv_stride: strides }), 320);
    assert.equal(receptiveField(kernels, strides), 400);
  });

  it('folds weight norm over the kernel dimension like torch (dim=2)', () => {
    // v [2 out, 1 in, 2 kernel]: column norms over the kernel index
    const w = foldWeightNorm(Float32Array.of(2, 10), Float32Array.of(3, 1, 4, 0), 2);
    assert.deepEqual(
      [...w].map((x) => Math.round(x * 1000) / 1000),
      [1.2, 10, 1.6, 0],
    );
  });

  it('guesses the language from the vocabulary script', () => {
    assert.equal(guessLanguage({ 가: 0, 나: 1, a: 2 }), 'ko');
    assert.equal(guessLanguage({ a: 0, b: 1, c: 2, "'": 3 }), 'en');
    assert.equal(guessLanguage({ '<pad>': 0 }), undefined);
  });

  it('splits segments at pauses and keeps words and times', () => {
    const words = [
      { word: 'a', start: 0, end: 0.2, probability: 0.9 },
      { word: 'b', start: 0.3, end: 0.5, probability: 0.8 },
      { word: 'c', start: 2.0, end: 2.2, probability: 0.7 },
    ];
    const segs = splitSegments(
      words,
      0.8,
      [5, 0, 0, 0, 0, 0],
      [
        { start: 0, end: 1 },
        { start: 0, end: 1 },
        { start: 0, end: 1 },
      ],
      0,
    );
    assert.deepEqual(
      segs.map((x) => [x.text, x.start, x.end]),
      [
        ['a b', 0, 0.5],
        ['c', 2.0, 2.2],
      ],
    );
    assert.equal(segs[0]!.avgLogprob, undefined);
  });
});
