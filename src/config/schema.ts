// One typed schema: the single source of defaults. Layers: defaults < config file < env < CLI flags.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { z } from 'zod';

const languageRoute = z.object({
  /** model id in the store or any model source */
  model: z.string(),
  engine: z.enum(['whisper', 'ctc']).default('whisper'),
});

export const configSchema = z.object({
  server: z
    .object({
      host: z.string().default('0.0.0.0'),
      port: z.coerce.number().int().min(0).max(65535).default(8000),
      /** API keys; empty = no auth */
      apiKeys: z.array(z.string().min(1)).default([]),
      /** requests per minute per key/IP; 0 = unlimited */
      rateLimitPerMinute: z.coerce.number().int().min(0).default(0),
      /** allow /v1 requests to load catalogue models that are not loaded yet */
      allowModelLoading: z.boolean().default(true),
    })
    .prefault({}),
  model: z
    .object({
      /** default model: a store id or any source (catalogue name, hf://, https://, s3://, path) */
      name: z.string().default('base'),
      device: z.enum(['cpu', 'cuda', 'auto']).default('auto'),
      threads: z.coerce.number().int().min(1).default(Math.max(1, Math.min(8, os.availableParallelism()))),
      /** decoding states per worker process (share the weights) */
      parallel: z.coerce.number().int().min(1).default(1),
      processes: z.coerce.number().int().min(1).default(1),
      /** unload models other than the default after this long unused; 0 = never */
      idleUnloadSeconds: z.coerce.number().min(0).default(900),
      beamSize: z.coerce.number().int().min(1).max(16).default(1),
    })
    .prefault({}),
  /** seed 004's SUPPORTED_LANGUAGES: language → model (+ engine); unlisted languages use model.name */
  languages: z.record(z.string(), languageRoute).default({}),
  limits: z
    .object({
      maxUploadBytes: z.coerce.number().int().min(1).default(100 * 1024 * 1024),
      maxAudioSeconds: z.coerce.number().min(1).default(3 * 3600),
      maxQueue: z.coerce.number().int().min(1).default(64),
    })
    .prefault({}),
  filter: z
    .object({
      enabled: z.boolean().default(true),
      /** extra phrases per language, e.g. {"ko": ["..."]} */
      phrases: z.record(z.string(), z.array(z.string())).default({}),
    })
    .prefault({}),
  llm: z
    .object({
      url: z.string().optional(),
      apiKey: z.string().optional(),
      model: z.string().optional(),
      mode: z.enum(['chat', 'completions']).default('chat'),
      timeoutMs: z.coerce.number().int().min(100).default(10_000),
    })
    .prefault({}),
  history: z
    .object({
      enabled: z.boolean().default(true),
      retentionDays: z.coerce.number().min(0).default(30),
    })
    .prefault({}),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** auto: readable lines on a terminal, JSON lines otherwise (Docker, systemd, files) */
  logFormat: z.enum(['auto', 'pretty', 'json']).default('auto'),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

type Dict = Record<string, unknown>;

function isDict(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepMerge(base: Dict, over: Dict): Dict {
  const out: Dict = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = isDict(v) && isDict(out[k]) ? deepMerge(out[k] as Dict, v) : v;
  }
  return out;
}

/** Environment names: the seeds' (SERVER_HOST, SERVER_PORT, MODEL_NAME, WHISPER_DEVICE) and EARSHOT_*. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Dict {
  const csv = (v?: string) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined);
  const num = (v?: string) => (v === undefined || v === '' ? undefined : Number(v));
  return {
    server: {
      host: env.EARSHOT_HOST ?? env.SERVER_HOST,
      port: num(env.EARSHOT_PORT ?? env.SERVER_PORT),
      apiKeys: csv(env.EARSHOT_API_KEYS),
      rateLimitPerMinute: num(env.EARSHOT_RATE_LIMIT),
    },
    model: {
      name: env.EARSHOT_MODEL ?? env.MODEL_NAME,
      device: env.EARSHOT_DEVICE ?? env.WHISPER_DEVICE,
      threads: num(env.EARSHOT_THREADS),
      parallel: num(env.EARSHOT_PARALLEL),
    },
    limits: {
      maxUploadBytes: num(env.EARSHOT_MAX_UPLOAD_BYTES),
      maxAudioSeconds: num(env.EARSHOT_MAX_AUDIO_SECONDS),
    },
    llm: {
      url: env.EARSHOT_LLM_URL,
      apiKey: env.EARSHOT_LLM_API_KEY,
      model: env.EARSHOT_LLM_MODEL,
      mode: env.EARSHOT_LLM_MODE,
      timeoutMs: num(env.EARSHOT_LLM_TIMEOUT_MS),
    },
    logLevel: env.EARSHOT_LOG_LEVEL,
    logFormat: env.EARSHOT_LOG_FORMAT,
  };
}

export function readConfigFile(path: string): Dict {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!isDict(parsed)) throw new Error('top level must be an object');
    return parsed;
  } catch (err) {
    throw new Error(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Builds the effective config; throws a readable message listing every bad field. */
export function loadConfig(opts: { file?: string; flags?: Dict; env?: NodeJS.ProcessEnv } = {}): Config {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.EARSHOT_CONFIG;
  let merged: Dict = {};
  if (file) merged = deepMerge(merged, readConfigFile(file));
  merged = deepMerge(merged, configFromEnv(env));
  if (opts.flags) merged = deepMerge(merged, opts.flags);
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** The config as the dashboard and /api/config show it: secrets masked. */
export function publicConfig(config: Config): Dict {
  return {
    ...config,
    server: { ...config.server, apiKeys: config.server.apiKeys.map(() => '***') },
    llm: { ...config.llm, apiKey: config.llm.apiKey ? '***' : undefined },
  };
}
