// Tells which sherpa-onnx model kind a folder holds, from its file names and the name it was
// published under (the archive or Hub repo: "sherpa-onnx-streaming-zipformer-korean-2024-06-16").
// sherpa-onnx's archives follow fixed naming conventions; where files alone are ambiguous (a lone
// model.onnx can be SenseVoice, Paraformer or a CTC model) the published name decides.
import { readdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { WHISPER_LANGUAGES } from '../../util/languages.js';
import { KIND_INFO, type SherpaDetails, type SherpaKind } from './kinds.js';

export interface SherpaDetection extends SherpaDetails {
  /** languages read off the published name or fixed by the kind; undefined when nothing says */
  languages?: string[];
  /** tokenizer.bin that must become tokens.txt (Moonshine v2 as Moonshine ships it) */
  convertTokenizer?: string;
}

const MODEL_FILE = /\.(onnx|ort)$/i;

/** true when a file listing looks like a sherpa-onnx model (token table + ONNX/ORT files). */
export function looksLikeSherpa(names: string[]): boolean {
  const base = names.map((n) => basename(n));
  const tokens = base.some((n) => /(^|-)tokens\.txt$/.test(n) || n === 'tokenizer.bin');
  return tokens && base.some((n) => MODEL_FILE.test(n)) && !base.some((n) => n === 'model.bin' || n.endsWith('.safetensors'));
}

/**
 * Of the files a sherpa model repo or archive holds, the ones to fetch: the token table and, per
 * model file, the int8 variant when one is published (what sherpa-onnx itself runs on CPUs);
 * test recordings and docs stay behind.
 */
export function selectSherpaFiles(names: string[]): string[] {
  const base = (n: string) => basename(n);
  const kept = names.filter(
    (n) => /(^|-)tokens\.txt$/.test(base(n)) || base(n) === 'tokenizer.bin' || MODEL_FILE.test(base(n)) || /^(LICENSE|README\.md)$/i.test(base(n)),
  );
  const withoutTests = kept.filter((n) => !/(^|\/)test_wavs\//.test(n));
  const int8 = new Set(withoutTests.filter((n) => /\.int8\.(onnx|ort)$/i.test(n)).map((n) => n.replace(/\.int8\.(onnx|ort)$/i, '.$1')));
  return withoutTests.filter((n) => !int8.has(n));
}

/** The file for a role: the int8 variant first, then the plain one. */
function pick(files: string[], pattern: RegExp): string | undefined {
  const matches = files.filter((f) => pattern.test(f));
  return matches.find((f) => /\.int8\./i.test(f)) ?? matches[0];
}

/** Languages named by the published name's parts ("zh-en", "korean", "ja"). */
export function languagesFromName(name: string): string[] | undefined {
  const byName = Object.fromEntries(Object.entries(WHISPER_LANGUAGES).map(([code, lang]) => [lang, code]));
  const found: string[] = [];
  for (const part of name.toLowerCase().split(/[-_.\s]+/)) {
    const code = WHISPER_LANGUAGES[part] ? part : byName[part];
    if (code && !found.includes(code)) found.push(code);
  }
  return found.length ? found : undefined;
}

export class SherpaDetectError extends Error {}

/**
 * Detects the kind and the file of each role in `dir` (files directly inside it). `publishedName`
 * is the archive / repo / folder name. Answers undefined when the folder is no sherpa model at all;
 * throws SherpaDetectError when it is one but the kind cannot be told.
 */
export async function detectSherpaModel(dir: string, publishedName: string): Promise<SherpaDetection | undefined> {
  const files = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  if (!looksLikeSherpa(files)) return undefined;
  const name = `${publishedName} ${basename(dir)}`.toLowerCase();
  const streaming = /streaming|online/.test(name) || files.some((f) => /chunk-\d+/.test(f));
  const tokens = files.find((f) => f === 'tokens.txt') ?? files.find((f) => f.endsWith('-tokens.txt'));
  const found = (kind: SherpaKind, roles: Record<string, string | undefined>): SherpaDetection => {
    const detection: SherpaDetection = { kind, files: {} };
    for (const [role, file] of Object.entries(roles)) if (file) detection.files[role] = file;
    if (tokens) detection.files.tokens = tokens;
    else if (files.includes('tokenizer.bin')) {
      detection.files.tokens = 'tokens.txt';
      detection.convertTokenizer = 'tokenizer.bin';
    }
    const missing = KIND_INFO[kind].roles.filter((r) => !detection.files[r]);
    if (missing.length) throw new SherpaDetectError(`${publishedName} looks like a ${kind} model but has no file for ${missing.join(', ')}`);
    detection.languages = KIND_INFO[kind].languages ?? languagesFromName(name.replace(/sherpa-onnx/g, ''));
    return detection;
  };

  // Moonshine v2 as Moonshine publishes it (encoder + merged decoder); v1 as sherpa-onnx exports it.
  const mergedDecoder = pick(files, /^decoder_model_merged(\.int8)?\.(onnx|ort)$/i);
  if (mergedDecoder) return found('moonshine-v2', { encoder: pick(files, /^encoder_model(\.int8)?\.(onnx|ort)$/i), mergedDecoder });
  if (files.some((f) => /^preprocess\.onnx$/i.test(f))) {
    return found('moonshine', {
      preprocessor: 'preprocess.onnx',
      encoder: pick(files, /^encode(\.int8)?\.onnx$/i),
      uncachedDecoder: pick(files, /^uncached_decode(\.int8)?\.onnx$/i),
      cachedDecoder: pick(files, /^cached_decode(\.int8)?\.onnx$/i),
    });
  }
  // Whisper exported by sherpa-onnx: <size>-encoder.onnx, <size>-decoder.onnx, <size>-tokens.txt.
  const whisperEncoder = pick(files, /^[\w.]+-encoder(\.int8)?\.onnx$/i);
  if (whisperEncoder && /whisper/.test(name)) {
    const detection = found('whisper-onnx', { encoder: whisperEncoder, decoder: pick(files, /^[\w.]+-decoder(\.int8)?\.onnx$/i) });
    if (!/\.en\b|-en\b/.test(name)) detection.languages = undefined; // multilingual: the engine's default list
    return detection;
  }
  const encoder = pick(files, /^encoder[\w.-]*\.onnx$/i);
  const decoder = pick(files, /^decoder[\w.-]*\.onnx$/i);
  const joiner = pick(files, /^joiner[\w.-]*\.onnx$/i);
  if (encoder && decoder && joiner) return found(streaming ? 'online-transducer' : 'transducer', { encoder, decoder, joiner });
  if (encoder && decoder) {
    if (/paraformer/.test(name)) return found(streaming ? 'online-paraformer' : 'paraformer', { encoder, decoder });
    if (/fire-?red/.test(name)) return found('fire-red', { encoder, decoder });
    throw new SherpaDetectError(`${publishedName}: an encoder and a decoder, but the name says neither paraformer nor fire-red; cannot tell the kind`);
  }
  const single = pick(files, /^(model|ctc[\w.-]*)(\.int8)?\.onnx$/i) ?? pick(files, /\.onnx$/i);
  if (single) {
    if (/sense-?voice/.test(name)) return found('sense-voice', { model: single });
    if (/paraformer/.test(name)) return found('paraformer', { model: single });
    if (/nemo/.test(name)) return found('nemo-ctc', { model: single });
    if (/zipformer/.test(name) && /ctc/.test(name + single)) return found(streaming ? 'online-zipformer2-ctc' : 'zipformer-ctc', { model: single });
  }
  throw new SherpaDetectError(
    `${publishedName}: ONNX files and a token table, but not a layout Earshot knows (${files.join(', ')}); kinds: ${Object.keys(KIND_INFO).join(', ')}`,
  );
}
