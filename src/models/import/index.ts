// Imports a Whisper model into the store as a whisper.cpp ggml file: ggml files as they are,
// CTranslate2 (faster-whisper) folders and Hugging Face safetensors folders converted in TypeScript.
import { copyFile, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { keepCt2Weights } from '../ct2-weights.js';
import type { InstalledModel, ModelStore } from '../store.js';
import { readCt2Model } from './ct2-reader.js';
import { detectModel, type ModelKind } from './detect.js';
import { readGgmlModel, ggmlTensorSource, type GgmlModelInfo } from './ggml-reader.js';
import { writeGgmlModel, type GgmlModelContents, type ProgressFn } from './ggml-writer.js';
import { melFilterbank } from './mel-filters.js';
import type { GgmlOutputType } from './quantize.js';
import { readSafetensors } from './safetensors-reader.js';
import { BinaryFile } from './binary-file.js';
import { readTokenList, whisperVocabBytes } from './vocab.js';
import { whisperWeightsFromCt2, whisperWeightsFromHf, type HfWhisperConfig, type WhisperHparams } from './whisper-tensors.js';
import { importCtcModel } from './ctc.js';

export { detectModel, type Detection, type ModelKind } from './detect.js';
export { readGgmlModel, type GgmlModelInfo } from './ggml-reader.js';
export { melFilterbank } from './mel-filters.js';
export type { GgmlOutputType } from './quantize.js';

export interface ImportOptions {
  store: ModelStore;
  /** store id; derived from the input's name when omitted */
  id?: string;
  /** recorded in the manifest; defaults to the input path */
  source?: string;
  /** output weight type; converted models default to `convertTo`, ggml files keep theirs ('f32' is refused, see F32_REFUSED);
   *  'int8' (dynamic quantisation) is for CTC models, which are otherwise kept f32 */
  quantize?: GgmlOutputType | 'int8';
  /** weight type of converted (CTranslate2, Hugging Face) models when `quantize` is not given; default f16 */
  convertTo?: GgmlOutputType;
  /** CTC models: the language they transcribe (guessed from the vocabulary when omitted) */
  language?: string;
  /** tensor elements converted so far / in all (bytes copied for ggml files taken as they are) */
  onProgress?: (done: number, total: number) => void;
}

export const MODEL_FILE = 'model.bin';

/**
 * What the CLI and the model manager convert to unless told otherwise: q8_0 is whisper.cpp's fastest
 * decoder and holds f16's WER on the benchmark corpus (bench/results, whisper.cpp f16 vs q8_0 rows).
 */
export const DEFAULT_CONVERSION: GgmlOutputType = 'q8_0';

// whisper.cpp 1.9.1 builds its encoder convolutions with an f16 im2col whose CPU kernel asserts
// f16 weights (ggml-cpu ops.cpp, im2col_f16), and an f32 model file makes those weights f32:
// the process aborts on the first transcription. So f32 output is refused rather than written.
const F32_REFUSED = 'f32 Whisper ggml models abort whisper.cpp 1.9.1 on CPU (its convolution needs f16 kernels); use f16, q8_0 or q5_0';

/** Model-size names whisper.cpp itself uses, by encoder depth. */
const SIZE_BY_LAYERS: Record<number, string> = { 4: 'tiny', 6: 'base', 12: 'small', 24: 'medium', 32: 'large' };

export async function importModel(input: string, opts: ImportOptions): Promise<InstalledModel> {
  const detection = await detectModel(input);
  if (detection.kind === 'unknown') throw new Error(`cannot import ${input}: ${detection.reason}`);
  if (detection.kind === 'hf-ctc') {
    if (opts.quantize !== undefined && opts.quantize !== 'int8')
      throw new Error(`cannot import ${input}: CTC models are kept f32 or quantised to int8, not ${opts.quantize}`);
    return importCtcModel(detection.path, { ...opts, quantize: opts.quantize });
  }
  if (opts.quantize === 'int8') throw new Error(`cannot import ${input}: int8 is for CTC models; Whisper ggml models take f16, q8_0 or q5_0`);
  const quantize = opts.quantize;
  if (quantize === 'f32') throw new Error(F32_REFUSED);
  const { store } = opts;
  const id = opts.id ?? defaultModelId(input, quantize);
  const staging = await store.stagingDir('import-');
  try {
    const target = join(staging, MODEL_FILE);
    let written: GgmlModelInfo;
    if (detection.kind === 'ggml') {
      written = await importGgml(detection.path, target, quantize, opts.onProgress);
    } else {
      const contents = detection.kind === 'ct2' ? await loadCt2(detection.path) : await loadHf(detection.path);
      try {
        await writeGgmlModel(target, contents.model, quantize ?? opts.convertTo ?? 'f16', opts.onProgress);
      } finally {
        await contents.close();
      }
      // Re-read what we wrote with the same checks whisper.cpp's loader applies.
      written = await readGgmlModel(target);
      // The CTranslate2 engine can run the original weights as they are.
      if (detection.kind === 'ct2') await keepCt2Weights(detection.path, staging);
    }
    return await store.install(staging, {
      id,
      source: opts.source ?? resolve(input),
      format: 'ggml',
      engine: 'whisper',
      file: MODEL_FILE,
      languages: isMultilingual(written.hparams) ? '*' : ['en'],
      quantization: written.quantization,
      details: modelDetails(written, detection.kind),
    });
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}

export function isMultilingual(h: WhisperHparams): boolean {
  return h.nVocab >= 51865;
}

/** "faster-whisper-base/" → "faster-whisper-base", "ggml-base.en.bin" → "base.en", plus "-q8_0" if asked. */
export function defaultModelId(input: string, quantize?: GgmlOutputType): string {
  let name = basename(resolve(input));
  if (name === MODEL_FILE) name = basename(resolve(input, '..'));
  name = name.replace(/\.bin$/, '').replace(/^ggml-/, '');
  name = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'whisper';
  if (quantize && quantize !== 'f16' && !name.endsWith(quantize)) name += `-${quantize}`;
  return name.slice(0, 128);
}

function modelDetails(info: GgmlModelInfo, from: ModelKind): Record<string, unknown> {
  const h = info.hparams;
  return {
    architecture: 'whisper',
    size: SIZE_BY_LAYERS[h.nAudioLayer] ?? `${h.nAudioLayer}-layer`,
    multilingual: isMultilingual(h),
    n_vocab: h.nVocab,
    n_mels: h.nMels,
    n_audio_state: h.nAudioState,
    n_audio_layer: h.nAudioLayer,
    n_text_layer: h.nTextLayer,
    n_audio_head: h.nAudioHead,
    n_text_head: h.nTextHead,
    tensors: info.tensors.length,
    converted_from: from === 'ggml' ? null : from,
  };
}

interface LoadedSource {
  model: GgmlModelContents;
  close(): Promise<void>;
}

async function loadCt2(dir: string): Promise<LoadedSource> {
  const modelPath = join(dir, 'model.bin');
  const ct2 = await readCt2Model(modelPath);
  try {
    const { hparams, tensors } = await whisperWeightsFromCt2(ct2);
    const vocab = whisperVocabBytes(await readTokenList(dir), dir);
    checkVocab(hparams, vocab, dir);
    return { model: { hparams, tensors, vocab, filters: melFilterbank(hparams.nMels) }, close: () => ct2.close() };
  } catch (err) {
    await ct2.close();
    throw err;
  }
}

async function loadHf(dir: string): Promise<LoadedSource> {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new Error(`${dir}: missing config.json (needed for a Hugging Face Whisper model's dimensions)`);
  const config = JSON.parse(await readFile(configPath, 'utf8')) as HfWhisperConfig;
  if (config.model_type !== undefined && config.model_type !== 'whisper') {
    throw new Error(`${dir}: config.json says model_type "${config.model_type}", not "whisper"`);
  }
  const safetensors = await readSafetensors(dir);
  try {
    const { hparams, tensors } = whisperWeightsFromHf(config, safetensors, dir);
    const vocab = whisperVocabBytes(await readTokenList(dir), dir);
    checkVocab(hparams, vocab, dir);
    return { model: { hparams, tensors, vocab, filters: melFilterbank(hparams.nMels) }, close: () => safetensors.close() };
  } catch (err) {
    await safetensors.close();
    throw err;
  }
}

function checkVocab(h: WhisperHparams, vocab: Buffer[], origin: string): void {
  // whisper.cpp derives every special token id from n_vocab, assuming the ordinary tokens end
  // where <|endoftext|> begins: 50256 for English-only models, 50257 for multilingual ones.
  const expected = isMultilingual(h) ? 50257 : 50256;
  if (vocab.length !== expected) {
    throw new Error(`${origin}: ${vocab.length} ordinary tokens before <|endoftext|>, but whisper.cpp expects ${expected} for n_vocab ${h.nVocab}`);
  }
}

async function importGgml(path: string, target: string, quantize: GgmlOutputType | undefined, onProgress?: ProgressFn): Promise<GgmlModelInfo> {
  const info = await readGgmlModel(path);
  if (info.quantization === 'f32' && !quantize) throw new Error(`${path}: ${F32_REFUSED} (import it with quantize 'f16' to convert it)`);
  if (!quantize || quantize === info.quantization) {
    await copyFile(path, target);
    onProgress?.(info.fileSize, info.fileSize);
    return readGgmlModel(target);
  }
  // Re-encode an f32/f16 ggml file to another type.
  const file = await BinaryFile.open(path);
  try {
    const tensors = info.tensors.map((t) => ({ name: t.name, source: ggmlTensorSource(file, t) }));
    await writeGgmlModel(target, { hparams: info.hparams, filters: info.filters, vocab: info.vocab, tensors }, quantize, onProgress);
  } finally {
    await file.close();
  }
  return readGgmlModel(target);
}
