// `earshot listen` settings. Layers: defaults (seed 000's client) < --config file.json < EARSHOT_LISTEN_* env < flags.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { processEnv } from './env.js';

/** The wake word `earshot listen` waits for when none is named. */
export const DEFAULT_WAKEWORD = 'hey_jarvis';

const bool = z.union([z.boolean(), z.enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off']).transform((v) => ['1', 'true', 'yes', 'on'].includes(v))]);
const seconds = z.coerce.number().min(0);

export const listenConfigSchema = z.object({
  server: z.string().url({ message: 'server must be a URL like http://localhost:8000' }),
  wakewords: z.array(z.string().min(1)).min(1).default([DEFAULT_WAKEWORD]),
  threshold: z.coerce.number().gt(0).max(1).default(0.5),
  input: z.string().min(1).default('mic'),
  device: z.string().optional(),
  silenceDuration: seconds.default(1.5),
  silenceThreshold: z.coerce.number().min(0).default(500),
  maxDuration: z.coerce.number().gt(0).default(10),
  /** After the wake word, how long to wait for speech to begin before giving up quietly (s). */
  speechTimeout: z.coerce.number().gt(0).default(4),
  /** What ends a recording: the server's VAD (Silero v5 + its speech state machine) or seed 000's RMS rule. */
  endpoint: z.enum(['vad', 'rms']).default('vad'),
  /** Drop transcripts the hallucination filter judges invented (e.g. "Thank you." over silence). */
  filter: bool.default(true),
  cooldown: seconds.default(3),
  preRoll: seconds.max(5).default(0.5),
  language: z.string().min(1).optional(),
  apiKey: z.string().min(1).optional(),
  json: bool.default(false),
  exec: z.string().min(1).optional(),
  vad: bool.default(false),
  realtime: bool.default(false),
  /** How long an utterance is retried while the server is unreachable (s). */
  retryWindow: seconds.default(300),
});

export type ListenConfig = z.infer<typeof listenConfigSchema>;
export type ListenConfigInput = Partial<Record<keyof ListenConfig, unknown>>;

/** Config-file and env spellings, including seed 000's names (wakeword_threshold, cooldown_time, …). */
const ALIASES: Record<string, keyof ListenConfig> = {
  server: 'server',
  server_url: 'server',
  url: 'server',
  wakeword: 'wakewords',
  wakewords: 'wakewords',
  wakeword_model: 'wakewords',
  wakeword_models: 'wakewords',
  threshold: 'threshold',
  wakeword_threshold: 'threshold',
  input: 'input',
  device: 'device',
  silence_duration: 'silenceDuration',
  silence_threshold: 'silenceThreshold',
  max_duration: 'maxDuration',
  max_recording_duration: 'maxDuration',
  speech_timeout: 'speechTimeout',
  endpoint: 'endpoint',
  filter: 'filter',
  cooldown: 'cooldown',
  cooldown_time: 'cooldown',
  pre_roll: 'preRoll',
  language: 'language',
  api_key: 'apiKey',
  json: 'json',
  exec: 'exec',
  vad: 'vad',
  realtime: 'realtime',
  retry_window: 'retryWindow',
};

function canonicalKey(key: string): keyof ListenConfig | undefined {
  const snake = key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toLowerCase();
  return ALIASES[snake];
}

/** Wake words may be given as a list or a comma-separated string. */
function normalize(key: keyof ListenConfig, value: unknown): unknown {
  if (key === 'wakewords') {
    const list = Array.isArray(value) ? value : String(value).split(',');
    return list.map((v) => String(v).trim()).filter(Boolean);
  }
  return value;
}

export function configFromObject(obj: Record<string, unknown>, source: string): ListenConfigInput {
  const out: ListenConfigInput = {};
  // Accept either a flat object or the settings nested under "wakeword" (the server config's section) or "listen".
  const nested = [obj.wakeword, obj.listen].find((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
  const flat = (nested as Record<string, unknown> | undefined) ?? obj;
  for (const [key, value] of Object.entries(flat)) {
    const canonical = canonicalKey(key);
    if (!canonical) throw new Error(`${source}: unknown setting "${key}"`);
    if (value !== null && value !== undefined) out[canonical] = normalize(canonical, value);
  }
  return out;
}

/**
 * The server config file's `wakeword` section: the same settings in any accepted spelling, checked
 * for unknown names here and against listenConfigSchema when `earshot listen` resolves them.
 */
export const listenSectionSchema = z.record(z.string(), z.unknown()).transform((obj, ctx): ListenConfigInput => {
  try {
    return configFromObject(obj, 'wakeword');
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

export function listenConfigFromFile(path: string): ListenConfigInput {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read config ${path}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${path}: expected a JSON object`);
  return configFromObject(parsed as Record<string, unknown>, path);
}

/** EARSHOT_LISTEN_SERVER, EARSHOT_LISTEN_WAKEWORD (comma-separated), EARSHOT_LISTEN_THRESHOLD, … */
export function listenConfigFromEnv(env: NodeJS.ProcessEnv = processEnv()): ListenConfigInput {
  const out: ListenConfigInput = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('EARSHOT_LISTEN_') || value === undefined || value === '') continue;
    if (name === 'EARSHOT_LISTEN_CONFIG') continue;
    const canonical = canonicalKey(name.slice('EARSHOT_LISTEN_'.length).toLowerCase());
    if (!canonical) throw new Error(`unknown environment variable ${name}`);
    out[canonical] = normalize(canonical, value);
  }
  return out;
}

export function resolveListenConfig(...layers: ListenConfigInput[]): ListenConfig {
  const merged: ListenConfigInput = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) if (value !== undefined) merged[key as keyof ListenConfig] = value;
  }
  const result = listenConfigSchema.safeParse(merged);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`);
    throw new Error(`invalid listen settings: ${issues.join('; ')}`);
  }
  return result.data;
}

/** The documented environment variables, for --help. */
export const ENV_HELP = [
  'EARSHOT_LISTEN_CONFIG',
  'EARSHOT_LISTEN_SERVER',
  'EARSHOT_LISTEN_WAKEWORD',
  'EARSHOT_LISTEN_THRESHOLD',
  'EARSHOT_LISTEN_INPUT',
  'EARSHOT_LISTEN_DEVICE',
  'EARSHOT_LISTEN_SILENCE_DURATION',
  'EARSHOT_LISTEN_SILENCE_THRESHOLD',
  'EARSHOT_LISTEN_MAX_DURATION',
  'EARSHOT_LISTEN_COOLDOWN',
  'EARSHOT_LISTEN_PRE_ROLL',
  'EARSHOT_LISTEN_LANGUAGE',
  'EARSHOT_LISTEN_API_KEY',
  'EARSHOT_LISTEN_JSON',
  'EARSHOT_LISTEN_EXEC',
  'EARSHOT_LISTEN_VAD',
  'EARSHOT_LISTEN_REALTIME',
  'EARSHOT_LISTEN_RETRY_WINDOW',
  'EARSHOT_LISTEN_SPEECH_TIMEOUT',
  'EARSHOT_LISTEN_ENDPOINT',
  'EARSHOT_LISTEN_FILTER',
];
