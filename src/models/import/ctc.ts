// Imports a Hugging Face CTC model folder (wav2vec2 family) into the store as an onnxruntime model:
// an ONNX export already in the folder (model.onnx, onnx/model.onnx) is used as it is; a
// safetensors checkpoint is converted by building the ONNX graph here, in TypeScript, from
// config.json and the tensors (no Python needed). The processor and tokenizer files become ctc.json.
// Everything is staged and checked by loading it in onnxruntime before it is installed.
import { copyFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import ort from 'onnxruntime-node';
import { CTC_SETTINGS_FILE, tokenizerSpecFromFiles, type CtcModelSettings } from '../ctc-settings.js';
import type { InstalledModel, ModelStore } from '../store.js';
import { writeOnnxModel } from './onnx-writer.js';
import { readSafetensors } from './safetensors-reader.js';
import { buildWav2Vec2Onnx, checkSupported, inputsToLogitsRatio, type Wav2Vec2Config } from './wav2vec2-onnx.js';

export const CTC_MODEL_FILE = 'model.onnx';
const PROCESSOR_FILES = [
  'config.json',
  'vocab.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'preprocessor_config.json',
  'processor_config.json',
];

export interface CtcImportOptions {
  store: ModelStore;
  id?: string;
  source?: string;
  /** ISO 639-1 code of the model's language; guessed from the vocabulary's script when omitted */
  language?: string;
  /** int8 dynamic quantisation of the converted graph's matrices */
  quantize?: 'int8';
  onProgress?: (done: number, total: number) => void;
}

/** model_type values of the wav2vec2 family (a config without `architectures` still says what it is). */
const CTC_MODEL_TYPES = new Set(['wav2vec2', 'hubert', 'wavlm', 'data2vec-audio', 'wav2vec2-conformer', 'unispeech', 'unispeech-sat', 'sew', 'sew-d']);

/** True when a folder holds a Hugging Face CTC model (by config.json), whatever its weights' format. */
export async function isCtcFolder(dir: string): Promise<boolean> {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) return false;
  try {
    const config = JSON.parse(await readFile(configPath, 'utf8')) as { architectures?: string[]; model_type?: string };
    return Boolean(config.architectures?.some((a) => a.endsWith('ForCTC'))) || CTC_MODEL_TYPES.has(config.model_type ?? '');
  } catch {
    return false;
  }
}

async function readJson(path: string, what: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${what} ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** The exported ONNX file a folder already carries, if any. */
function existingOnnx(dir: string): string | undefined {
  return [join(dir, 'model.onnx'), join(dir, 'onnx', 'model.onnx')].find((p) => existsSync(p));
}

/** Script of most vocabulary characters → the language a seed-004-style model is for. */
export function guessLanguage(vocab: Record<string, number>): string | undefined {
  const counts: Record<string, number> = {};
  const scripts: Array<[string, RegExp]> = [
    ['ko', /\p{Script=Hangul}/u],
    ['ja', /[\p{Script=Hiragana}\p{Script=Katakana}]/u],
    ['zh', /\p{Script=Han}/u],
    ['ru', /\p{Script=Cyrillic}/u],
    ['en', /\p{Script=Latin}/u],
  ];
  for (const token of Object.keys(vocab)) {
    if (token.length !== 1) continue;
    const hit = scripts.find(([, re]) => re.test(token));
    if (hit) counts[hit[0]] = (counts[hit[0]] ?? 0) + 1;
  }
  const best = Object.entries(counts).sort((a, b) => b[1] - a[1])[0];
  // Kana beside Han means Japanese even when Han characters outnumber kana.
  if (best?.[0] === 'zh' && (counts.ja ?? 0) > 20) return 'ja';
  return best?.[0];
}

export async function importCtcModel(input: string, opts: CtcImportOptions): Promise<InstalledModel> {
  const dir = resolve(input);
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new Error(`${dir}: missing config.json (a Hugging Face CTC model folder has one)`);
  const config = (await readJson(configPath, 'config')) as unknown as Wav2Vec2Config;
  const vocabPath = join(dir, 'vocab.json');
  if (!existsSync(vocabPath)) {
    throw new Error(`${dir}: missing vocab.json: a CTC model needs its tokenizer's vocabulary (save the processor with save_pretrained next to the model)`);
  }
  const onnxSource = existingOnnx(dir);
  // Refuse what cannot be converted before reading any weights.
  if (!onnxSource) checkSupported(config, dir);
  const tokenizer = tokenizerSpecFromFiles({
    vocab: await readJson(vocabPath, 'vocabulary'),
    tokenizerConfig: existsSync(join(dir, 'tokenizer_config.json')) ? await readJson(join(dir, 'tokenizer_config.json'), 'tokenizer config') : undefined,
    specialTokensMap: existsSync(join(dir, 'special_tokens_map.json')) ? await readJson(join(dir, 'special_tokens_map.json'), 'special tokens map') : undefined,
  });
  const extractor = await featureExtractorSettings(dir);
  if (extractor.sampling_rate !== 16000) throw new Error(`${dir}: sampling_rate ${extractor.sampling_rate}; Earshot's audio path is 16 kHz`);
  const kernels = config.conv_kernel ?? [10, 3, 3, 3, 3, 2, 2];
  const strides = config.conv_stride ?? [5, 2, 2, 2, 2, 2, 2];
  const language = opts.language ?? guessLanguage(tokenizer.vocab);

  const id = opts.id ?? defaultCtcId(dir, opts.quantize);
  const staging = await opts.store.stagingDir('import-ctc-');
  try {
    const target = join(staging, CTC_MODEL_FILE);
    let convertedFrom: string | null = null;
    if (onnxSource) {
      await copyOnnxWithData(onnxSource, staging);
    } else {
      convertedFrom = await convert(dir, config, target, opts);
    }
    const settings: CtcModelSettings = {
      onnx: CTC_MODEL_FILE,
      input: 'input_values',
      output: 'logits',
      samplingRate: extractor.sampling_rate,
      doNormalize: extractor.do_normalize,
      samplesPerFrame: inputsToLogitsRatio({ conv_stride: strides }),
      convKernels: kernels,
      convStrides: strides,
      tokenizer,
    };
    await checkLoads(target, settings, tokenizer.vocab);
    await writeFile(join(staging, CTC_SETTINGS_FILE), JSON.stringify(settings, null, 2) + '\n');
    for (const name of PROCESSOR_FILES) if (existsSync(join(dir, name))) await copyFile(join(dir, name), join(staging, name));
    return await opts.store.install(staging, {
      id,
      source: opts.source ?? dir,
      format: 'onnx-ctc',
      engine: 'ctc',
      file: CTC_MODEL_FILE,
      languages: language ? [language] : [],
      quantization: opts.quantize ?? (onnxSource ? undefined : 'f32'),
      details: {
        architecture: config.architectures?.[0] ?? config.model_type ?? null,
        converted_from: convertedFrom,
        onnx_from: onnxSource ? (basename(dirname(onnxSource)) === 'onnx' ? 'onnx/model.onnx' : 'model.onnx') : null,
        layers: config.num_hidden_layers,
        hidden_size: config.hidden_size,
        vocab_size: config.vocab_size,
        frame_seconds: settings.samplesPerFrame / settings.samplingRate,
      },
    });
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}

async function featureExtractorSettings(dir: string): Promise<{ sampling_rate: number; do_normalize: boolean }> {
  let raw: Record<string, unknown> | undefined;
  if (existsSync(join(dir, 'preprocessor_config.json'))) raw = await readJson(join(dir, 'preprocessor_config.json'), 'feature extractor config');
  else if (existsSync(join(dir, 'processor_config.json'))) {
    // transformers ≥ 5 saves the feature extractor inside processor_config.json
    raw = (await readJson(join(dir, 'processor_config.json'), 'processor config')).feature_extractor as Record<string, unknown> | undefined;
  }
  if (!raw) throw new Error(`${dir}: missing preprocessor_config.json (the feature extractor's settings: sampling rate, normalisation)`);
  return {
    sampling_rate: typeof raw.sampling_rate === 'number' ? raw.sampling_rate : 16000,
    do_normalize: raw.do_normalize !== false,
  };
}

async function convert(dir: string, config: Wav2Vec2Config, target: string, opts: CtcImportOptions): Promise<string> {
  const hasSafetensors = existsSync(join(dir, 'model.safetensors')) || existsSync(join(dir, 'model.safetensors.index.json'));
  if (!hasSafetensors) {
    if (existsSync(join(dir, 'pytorch_model.bin'))) {
      throw new Error(
        `${dir} holds PyTorch pickles (pytorch_model.bin), which Earshot does not unpickle. Convert them once to safetensors, e.g. ` +
          `python -c "from transformers import AutoModelForCTC as M; M.from_pretrained('${dir}').save_pretrained('${dir}', safe_serialization=True)"`,
      );
    }
    throw new Error(`${dir}: no model.safetensors, model.onnx or onnx/model.onnx`);
  }
  const tensors = await readSafetensors(dir);
  try {
    await writeOnnxModel(target, buildWav2Vec2Onnx(config, tensors, dir, { quantize: opts.quantize }), opts.onProgress);
  } finally {
    await tensors.close();
  }
  return 'safetensors';
}

/** Copies an exported graph and the external-data files it names (they sit beside it). */
async function copyOnnxWithData(source: string, staging: string): Promise<void> {
  await copyFile(source, join(staging, CTC_MODEL_FILE));
  const folder = dirname(source);
  for (const name of await readdir(folder)) {
    if (name !== basename(source) && (name.startsWith('model.onnx') || name.startsWith('model.onnx_data') || name === 'model.data')) {
      await copyFile(join(folder, name), join(staging, name));
    }
  }
}

/** onnxruntime must load the graph, and its input/output must be what the worker feeds and reads. */
async function checkLoads(path: string, settings: CtcModelSettings, vocab: Record<string, number>): Promise<void> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, { executionProviders: ['cpu'], graphOptimizationLevel: 'disabled' });
  } catch (err) {
    throw new Error(`the ONNX model does not load in onnxruntime (truncated or corrupt?): ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    if (!session.inputNames.includes(settings.input) || !session.outputNames.includes(settings.output)) {
      throw new Error(`the ONNX model has inputs [${session.inputNames}] and outputs [${session.outputNames}]; a CTC export has input_values → logits`);
    }
    const probe = new Float32Array(settings.samplingRate); // 1 s of silence: the graph must run end to end
    const out = await session.run({ [settings.input]: new ort.Tensor('float32', probe, [1, probe.length]) });
    const vocabSize = out[settings.output]!.dims[2]!;
    const maxId = Math.max(...Object.values(vocab));
    if (maxId >= vocabSize) throw new Error(`vocab.json has ids up to ${maxId} but the model outputs ${vocabSize} classes`);
  } finally {
    await session.release();
  }
}

/** "wav2vec2-large-xlsr-korean/" → "wav2vec2-large-xlsr-korean" (+ "-int8"). */
export function defaultCtcId(dir: string, quantize?: 'int8'): string {
  const name =
    basename(dir)
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '') || 'ctc';
  return (quantize ? `${name}-${quantize}` : name).slice(0, 128);
}
