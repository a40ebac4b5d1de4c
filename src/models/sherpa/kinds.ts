// The model kinds sherpa-onnx runs: which files each needs (by role), whether it is an offline
// (whole utterance) or online (true streaming) recognizer. The store validates installed sherpa
// models against this; the engine builds its recognizer config from it.

export const SHERPA_KINDS = [
  // offline: decode a whole utterance at once
  'moonshine',
  'moonshine-v2',
  'sense-voice',
  'paraformer',
  'nemo-ctc',
  'zipformer-ctc',
  'fire-red',
  'whisper-onnx',
  'transducer',
  // online: feed chunks, get hypotheses and endpoints as the audio arrives
  'online-transducer',
  'online-paraformer',
  'online-zipformer2-ctc',
] as const;

export type SherpaKind = (typeof SHERPA_KINDS)[number];

export interface KindInfo {
  mode: 'offline' | 'online';
  /** file roles every model of this kind needs (tokens included) */
  roles: readonly string[];
  /** languages when the kind alone decides them; undefined = from the model's manifest */
  languages?: string[];
  /** the model family can translate into English */
  canTranslate: boolean;
}

export const KIND_INFO: Record<SherpaKind, KindInfo> = {
  moonshine: { mode: 'offline', roles: ['preprocessor', 'encoder', 'uncachedDecoder', 'cachedDecoder', 'tokens'], canTranslate: false },
  'moonshine-v2': { mode: 'offline', roles: ['encoder', 'mergedDecoder', 'tokens'], canTranslate: false },
  'sense-voice': { mode: 'offline', roles: ['model', 'tokens'], languages: ['zh', 'en', 'ja', 'ko', 'yue'], canTranslate: false },
  paraformer: { mode: 'offline', roles: ['model', 'tokens'], canTranslate: false },
  'nemo-ctc': { mode: 'offline', roles: ['model', 'tokens'], canTranslate: false },
  'zipformer-ctc': { mode: 'offline', roles: ['model', 'tokens'], canTranslate: false },
  'fire-red': { mode: 'offline', roles: ['encoder', 'decoder', 'tokens'], languages: ['zh', 'en'], canTranslate: false },
  // sherpa-onnx runs Whisper's translate task too, but only multilingual checkpoints can.
  'whisper-onnx': { mode: 'offline', roles: ['encoder', 'decoder', 'tokens'], canTranslate: true },
  transducer: { mode: 'offline', roles: ['encoder', 'decoder', 'joiner', 'tokens'], canTranslate: false },
  'online-transducer': { mode: 'online', roles: ['encoder', 'decoder', 'joiner', 'tokens'], canTranslate: false },
  'online-paraformer': { mode: 'online', roles: ['encoder', 'decoder', 'tokens'], canTranslate: false },
  'online-zipformer2-ctc': { mode: 'online', roles: ['model', 'tokens'], canTranslate: false },
};

export function isSherpaKind(value: unknown): value is SherpaKind {
  return typeof value === 'string' && (SHERPA_KINDS as readonly string[]).includes(value);
}

/** A loadable model: its kind and the absolute path of each role's file. */
export interface RecognizerSpec {
  kind: SherpaKind;
  files: Record<string, string>;
  /** Whisper-ONNX / SenseVoice: the language to force ('' = detect) */
  language?: string;
}

/** What the manifest of a sherpa model stores in `details.sherpa` (paths relative to the model folder). */
export interface SherpaDetails {
  kind: SherpaKind;
  files: Record<string, string>;
}

export function missingRoles(kind: SherpaKind, files: Record<string, string>): string[] {
  return KIND_INFO[kind].roles.filter((role) => !files[role]);
}
