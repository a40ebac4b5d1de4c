// ctc.json: what a CTC model folder in the store tells its engine beyond the ONNX graph — the
// processor's settings and the tokenizer — written by the importer, read by engine and worker.
// The tokenizer fields mean what transformers' Wav2Vec2CTCTokenizer means by them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const CTC_SETTINGS_FILE = 'ctc.json';

export interface CtcModelSettings {
  /** the ONNX file, relative to the model folder */
  onnx: string;
  /** the graph's input and output names */
  input: string;
  output: string;
  samplingRate: number;
  /** Wav2Vec2FeatureExtractor.do_normalize */
  doNormalize: boolean;
  /** samples per logit frame: the conv strides' product (320 → 20 ms at 16 kHz) */
  samplesPerFrame: number;
  convKernels: number[];
  convStrides: number[];
  tokenizer: CtcTokenizerSpec;
}

export function readCtcSettings(dir: string): CtcModelSettings {
  return JSON.parse(readFileSync(join(dir, CTC_SETTINGS_FILE), 'utf8')) as CtcModelSettings;
}

/** Shortest input the conv encoder turns into one frame (400 samples for wav2vec2). */
export function receptiveField(kernels: number[], strides: number[]): number {
  let field = 1;
  for (let i = kernels.length - 1; i >= 0; i--) field = (field - 1) * strides[i]! + kernels[i]!;
  return field;
}

export interface CtcTokenizerSpec {
  /** token → id, from vocab.json (one language of a nested multilingual vocab already chosen) */
  vocab: Record<string, number>;
  /** ids beyond vocab.json (tokenizer_config.json's added_tokens_decoder) */
  addedTokens?: Record<number, string>;
  padToken?: string;
  unkToken?: string;
  wordDelimiterToken?: string;
  replaceWordDelimiterChar?: string;
  doLowerCase?: boolean;
  cleanUpTokenizationSpaces?: boolean;
}

/** Reads the tokenizer files of a model folder (vocab.json, tokenizer_config.json, special_tokens_map.json). */
export function tokenizerSpecFromFiles(files: {
  vocab: unknown;
  tokenizerConfig?: Record<string, unknown>;
  specialTokensMap?: Record<string, unknown>;
  targetLang?: string;
}): CtcTokenizerSpec {
  const config = files.tokenizerConfig ?? {};
  const special = files.specialTokensMap ?? {};
  const str = (v: unknown): string | undefined =>
    typeof v === 'string'
      ? v
      : v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string'
        ? (v as { content: string }).content
        : undefined;
  const pick = (key: string) => str(special[key]) ?? str(config[key]);
  if (!files.vocab || typeof files.vocab !== 'object') throw new Error('vocab.json is not a JSON object');
  let vocab = files.vocab as Record<string, unknown>;
  const target = files.targetLang ?? (typeof config.target_lang === 'string' ? config.target_lang : undefined);
  const nested = Object.values(vocab).every((v) => v && typeof v === 'object');
  if (nested) {
    if (!target || !vocab[target]) {
      throw new Error(`vocab.json holds one vocabulary per language (${Object.keys(vocab).slice(0, 8).join(', ')}…); set target_lang in tokenizer_config.json`);
    }
    vocab = vocab[target] as Record<string, unknown>;
  }
  for (const [token, id] of Object.entries(vocab)) {
    if (!Number.isInteger(id)) throw new Error(`vocab.json: token ${JSON.stringify(token)} has id ${JSON.stringify(id)}, not an integer`);
  }
  const added: Record<number, string> = {};
  const decoderEntries = config.added_tokens_decoder;
  if (decoderEntries && typeof decoderEntries === 'object') {
    for (const [id, entry] of Object.entries(decoderEntries as Record<string, unknown>)) {
      const content = str(entry);
      if (content !== undefined) added[Number(id)] = content;
    }
  }
  return {
    vocab: vocab as Record<string, number>,
    addedTokens: added,
    padToken: pick('pad_token'),
    unkToken: pick('unk_token'),
    wordDelimiterToken: pick('word_delimiter_token'),
    replaceWordDelimiterChar: typeof config.replace_word_delimiter_char === 'string' ? config.replace_word_delimiter_char : undefined,
    doLowerCase: config.do_lower_case === true,
    cleanUpTokenizationSpaces: config.clean_up_tokenization_spaces === true,
  };
}
