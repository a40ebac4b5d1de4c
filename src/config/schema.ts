// One typed schema for the whole server: the single source of defaults, one section per concern.
// Layers: defaults < config file (EARSHOT_CONFIG / --config) < environment < CLI flags.
// Environment names are read in src/config only (this file, enrichment.ts, listen.ts, env.ts).
//
//   server      listen address, API keys and their limits, TLS, proxies, on-demand model loading, shutdown
//   model       the default model and how engines run it (device, threads, workers, beam)
//   languages   language → model routes (seed 004's SUPPORTED_LANGUAGES), per use (batch / live) if wanted;
//               the model's manifest says its engine
//   limits      upload size, audio length, engine queue
//   streaming   live-session defaults (partials, utterance and backlog bounds)
//   filter      the hallucination filter
//   enrichment  keywords after each final: LLM, fallback, categories, breaker, queue
//   history     the transcript history
//   metrics     Prometheus /metrics (port, key)
//   jobs        durable transcription jobs (/v1/jobs): queue lease, storage of uploads, webhooks, SSRF guard
//   wakeword    `earshot listen` settings, when kept in the same file (see listen.ts)
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { z } from 'zod';
import { enrichConfigSchema, enrichInputFromEnv, publicEnrichConfig, withoutUrlless } from './enrichment.js';
import { processEnv } from './env.js';
import { listenSectionSchema } from './listen.js';

/** An API key with a name (for logs and metrics; the key itself is never logged) and its own limits. */
const namedKey = z
  .object({
    name: z.string().min(1).max(64),
    key: z.string().min(8),
    /** requests per minute for this key; absent = server.rateLimitPerMinute, 0 = unlimited */
    rateLimitPerMinute: z.coerce.number().int().min(0).optional(),
    /** concurrent live sessions (/ws, realtime, Wyoming) for this key; absent = server.maxLiveSessions */
    maxLiveSessions: z.coerce.number().int().min(0).optional(),
  })
  .strict();

/** batch.skipSilence: which batch audio is decoded from its speech only (see the field) */
export const SKIP_SILENCE = ['off', 'long', 'always'] as const;
export type SkipSilence = (typeof SKIP_SILENCE)[number];

const languageRoute = z
  .object({
    /** model id in the store or any model source, for every use; its manifest names the engine that runs it */
    model: z.string().optional(),
    /** for files and jobs (/transcribe, the OpenAI routes, the CLI); overrides `model` */
    batch: z.string().optional(),
    /** for live sessions (/ws and the other live protocols); overrides `model` */
    live: z.string().optional(),
  })
  .strict()
  .refine((r) => Boolean(r.model || r.batch || r.live), { message: 'a language route names a model, a batch model or a live model' });

export const configSchema = z.object({
  server: z
    .object({
      host: z.string().default('0.0.0.0'),
      port: z.coerce.number().int().min(0).max(65535).default(8000),
      /** API keys; empty = no auth */
      apiKeys: z.array(z.string().min(1)).default([]),
      /** named keys with their own limits (config file); accepted alongside apiKeys */
      keys: z.array(namedKey).default([]),
      /** requests per minute per key (per client IP without keys); 0 = unlimited (src/server/limits.ts) */
      rateLimitPerMinute: z.coerce.number().int().min(0).default(0),
      /** concurrent live sessions per key (per client IP without keys); 0 = unlimited */
      maxLiveSessions: z.coerce.number().int().min(0).default(0),
      /**
       * Fastify's trustProxy: true, a hop count, or comma-separated addresses/CIDRs of the reverse proxies
       * whose X-Forwarded-For / -Proto to believe (client IPs for limits and logs). false = use the socket.
       */
      trustProxy: z.union([z.boolean(), z.coerce.number().int().min(1), z.string().min(1)]).default(false),
      /** HTTPS and WSS on the same port; both files PEM; reloaded on SIGHUP */
      tls: z
        .object({ cert: z.string().min(1).optional(), key: z.string().min(1).optional() })
        .strict()
        .refine((t) => Boolean(t.cert) === Boolean(t.key), 'tls.cert and tls.key go together')
        .prefault({}),
      /** on SIGTERM/SIGINT: how long in-flight requests and live sessions may take to finish */
      shutdownGraceSeconds: z.coerce.number().min(0).default(30),
      /** allow /v1 requests to load catalogue models that are not loaded yet */
      allowModelLoading: z.boolean().default(true),
    })
    .prefault({}),
  model: z
    .object({
      /** default model: a store id or any source (catalogue name, hf://, https://, s3://, path) */
      name: z.string().default('base'),
      /**
       * default model for live sessions (/ws and the other live protocols), for languages without a
       * live route. 'auto': English on a CPU goes to Moonshine (moonshine-tiny-en, else
       * moonshine-base-en: same WER on the bench, a fraction of the CPU) when it is installed — it costs what the utterance costs where Whisper pads
       * every utterance to 30 s —, everything else to `name`.
       */
      live: z.string().min(1).default('auto'),
      device: z.enum(['cpu', 'cuda', 'auto']).default('auto'),
      threads: z.coerce
        .number()
        .int()
        .min(1)
        .default(Math.max(1, Math.min(8, os.availableParallelism()))),
      /** decoding states per worker process (share the weights) */
      parallel: z.coerce.number().int().min(1).default(1),
      processes: z.coerce.number().int().min(1).default(1),
      /** unload models other than the default after this long unused; 0 = never */
      idleUnloadSeconds: z.coerce.number().min(0).default(900),
      beamSize: z.coerce.number().int().min(1).max(16).default(1),
      /** Whisper engine: auto (default) = the faster of whisper.cpp and CTranslate2 on this machine (measured
       *  once, kept in the store; whisper.cpp alone when the model has no CTranslate2 weights or the runtime
       *  cannot be had), or force one; CTranslate2 needs the model's CTranslate2 weights */
      engine: z.enum(['auto', 'whisper', 'ct2']).default('auto'),
    })
    .prefault({}),
  batch: z
    .object({
      /**
       * decode only what the VAD hears as speech (faster-whisper's vad_filter), in windows of up to 30 s;
       * times stay on the original timeline. 'long' (default): only audio longer than one 30 s Whisper
       * window — a shorter clip is one window either way, so cutting it saves nothing and loses the
       * context around the speech (the benchmark found a clip it mis-heard that way); 'always'; 'off'.
       * true/false mean always/off.
       */
      skipSilence: z
        .union([z.boolean(), z.enum(SKIP_SILENCE)])
        .default('long')
        .transform((v): SkipSilence => (v === true ? 'always' : v === false ? 'off' : v)),
    })
    .prefault({}),
  /** the CTranslate2 engine's Python runtime (src/engines/ct2/runtime.ts) */
  ct2: z
    .object({
      /** a Python with faster-whisper and ctranslate2 installed; default: Earshot's own venv in its home */
      python: z.string().optional(),
      /** create Earshot's venv on first use (pip from PyPI); false = only use one already there */
      install: z.boolean().default(true),
      /** CTranslate2 compute type; default int8 on a CPU, float16 on CUDA */
      computeType: z.string().optional(),
    })
    .prefault({}),
  /** CTC (wav2vec2-family) models: long audio is decoded in overlapping chunks, as transformers' ASR pipeline does */
  ctc: z
    .object({
      /** chunk_length_s; 0 = one pass over the whole input (memory grows with the square of its length) */
      chunkSeconds: z.coerce.number().min(0).default(20),
      /** stride_length_s: context dropped at each chunk edge; default chunkSeconds / 6 */
      strideSeconds: z.coerce.number().min(0).optional(),
    })
    .prefault({}),
  /** model sources named by API callers (src/models/sources/policy.ts); the operator's own sources are not limited */
  models: z
    .object({
      /** let API callers name local paths and URLs on private, loopback or link-local addresses */
      allowPrivateSources: z.boolean().default(false),
      /** host names API callers' sources may reach even when they resolve to private addresses (an internal mirror) */
      allowedHosts: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
  /** seed 004's SUPPORTED_LANGUAGES: language → model (or batch/live models); unlisted languages use model.name / model.live */
  languages: z.record(z.string(), languageRoute).default({}),
  limits: z
    .object({
      maxUploadBytes: z.coerce
        .number()
        .int()
        .min(1)
        .default(100 * 1024 * 1024),
      maxAudioSeconds: z.coerce
        .number()
        .min(1)
        .default(3 * 3600),
      maxQueue: z.coerce.number().int().min(1).default(64),
      /**
       * Engine watchdog: a job still running after max(jobTimeoutFloorSeconds, audio seconds ×
       * jobTimeoutPerAudioSecond) is a hung worker: it is killed (the job answers 503 worker_timeout)
       * and respawned. Generous on purpose: a busy 2-core machine decodes far slower than real time.
       */
      jobTimeoutPerAudioSecond: z.coerce.number().gt(0).default(10),
      jobTimeoutFloorSeconds: z.coerce.number().gt(0).default(60),
      /**
       * An upload whose body has not all arrived and from which no byte was read for this long is answered
       * 408 upload_stalled: a client that stopped sending, or a multipart body the parser cannot finish.
       */
      uploadIdleSeconds: z.coerce.number().gt(0).default(30),
    })
    .prefault({}),
  streaming: z
    .object({
      /** send partial (interim) results unless the client says otherwise */
      partials: z.boolean().default(true),
      /** longest utterance before a forced cut; a client may ask for less or more (2–30 s) */
      maxUtteranceSeconds: z.coerce.number().min(2).max(30).default(20),
      /** audio a session may hold undecoded before the oldest is dropped (backpressure) */
      maxPendingSeconds: z.coerce.number().min(2).max(600).default(30),
      /** hangover: silence that ends an utterance; a client may set its own (vad.min_silence_ms) */
      hangoverMs: z.coerce.number().int().min(100).max(10_000).default(500),
      /** silence inside speech at which the final decode starts speculatively (vad.min_pause_ms) */
      minPauseMs: z.coerce.number().int().min(100).max(10_000).default(250),
      /** partial cadence: growth of the utterance between two partial decodes (partial_interval_ms) */
      partialIntervalMs: z.coerce.number().int().min(100).max(10_000).default(500),
      /** the first partial of an utterance comes once it holds this much audio, pre-roll included (first_partial_ms) */
      firstPartialMs: z.coerce.number().int().min(100).max(10_000).default(500),
      /** encoder window of partial decodes: 'fit' = the audio plus 1 s, at least 10 s; 'full' = 30 s (partial_window) */
      partialWindow: z.enum(['fit', 'full']).default('fit'),
      /** encoder window of final decodes, speculative ones included (final_window) */
      finalWindow: z.enum(['fit', 'full']).default('fit'),
      /** period of the /ws stats message; 0 = none (stats_interval_ms) */
      statsIntervalMs: z.coerce.number().int().min(0).max(60_000).default(2000),
      /** start final decodes at the first pause, kept if the pause ends the utterance */
      speculativeFinals: z.boolean().default(true),
      /** prompt every decode with the end of the session's committed text */
      contextPrompt: z.boolean().default(true),
      /** a smaller, faster model for partials when a session is overloaded (e.g. "tiny.en"); none = partials stop instead */
      partialModel: z.string().min(1).optional(),
    })
    .prefault({}),
  filter: z
    .object({
      enabled: z.boolean().default(true),
      /** extra phrases per language, e.g. {"ko": ["..."]} */
      phrases: z.record(z.string(), z.array(z.string())).default({}),
    })
    .prefault({}),
  enrichment: enrichConfigSchema.prefault({}),
  history: z
    .object({
      enabled: z.boolean().default(true),
      retentionDays: z.coerce.number().min(0).default(30),
    })
    .prefault({}),
  metrics: z
    .object({
      /** Prometheus text format at /metrics */
      enabled: z.boolean().default(true),
      /** serve /metrics on this port instead of the API port (same host); 0 = the API port */
      port: z.coerce.number().int().min(0).max(65535).default(0),
      /** require "Authorization: Bearer <key>" for /metrics (API keys do not open it) */
      apiKey: z.string().min(1).optional(),
    })
    .prefault({}),
  wakeword: listenSectionSchema.optional(),
  /** Wyoming protocol server (Home Assistant): ASR and wake word over TCP */
  wyoming: z
    .object({
      /** tcp://HOST:PORT to serve on; unset = off (`earshot serve --wyoming`, `earshot wyoming`) */
      uri: z.string().optional(),
      /** advertise `_wyoming._tcp` on the LAN over zeroconf (mDNS) so Home Assistant discovers it */
      zeroconf: z.boolean().default(true),
      /** advertised service name; default earshot-<hostname> */
      zeroconfName: z.string().min(1).optional(),
      /** wake words offered to `detect`: built-in openWakeWord names or .onnx paths */
      wakewords: z.array(z.string().min(1)).default(['hey_jarvis', 'alexa', 'hey_mycroft', 'hey_rhasspy']),
      /** detection score, 0..1 */
      wakeThreshold: z.coerce.number().gt(0).max(1).default(0.5),
      /** seconds after a detection before the same stream can fire again */
      refractorySeconds: z.coerce.number().min(0).default(2),
      /** a frame that has begun must arrive whole within this many seconds, or the connection closes */
      frameTimeoutSeconds: z.coerce.number().gt(0).default(10),
    })
    .prefault({}),
  /**
   * Cluster mode: set both URLs and several Earshot nodes share history (PostgreSQL), durable jobs,
   * the live view and rate limits (Redis). Unset = the single-node embedded server (SQLite, memory).
   */
  cluster: z
    .object({
      /** postgres://user:pass@host:5432/db */
      databaseUrl: z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
        .optional(),
      /** redis://[:pass@]host:6379[/db] (rediss:// for TLS) */
      redisUrl: z
        .string()
        .regex(/^rediss?:\/\//, 'must be a redis:// URL')
        .optional(),
      /** this node's name in the cluster (monitor, jobs, logs); default the hostname */
      nodeName: z.string().min(1).optional(),
    })
    .prefault({}),
  /**
   * Durable transcription jobs (/v1/jobs). With cluster.redisUrl they live in BullMQ on Redis and any node
   * serving the model takes them; without it, in this process (same API, lost on restart).
   */
  jobs: z
    .object({
      enabled: z.boolean().default(true),
      /** jobs this node runs at once */
      concurrency: z.coerce.number().int().min(1).max(64).default(1),
      /**
       * models this node takes jobs for (ids or sources); empty = model.name plus the languages' batch
       * models. A job waits in its model's queue until a node serving that model is up.
       */
      models: z.array(z.string().min(1)).default([]),
      /** a running job's lease: a node that stops renewing it (killed, frozen) loses the job to another node after this long */
      leaseSeconds: z.coerce.number().min(1).max(3600).default(30),
      /** how often a job may lose its node (lease expired) before it is failed */
      maxRetries: z.coerce.number().int().min(0).max(100).default(3),
      /** finished jobs (status, result) are kept this long */
      retentionHours: z.coerce.number().min(0.01).default(24),
      /** fetch source URLs and call webhooks on loopback, private, link-local addresses (SSRF guard off) */
      allowPrivateNetworks: z.boolean().default(false),
      /** buckets an s3:// source may name (read with the server's AWS credentials); "*" = any; empty = s3:// sources refused */
      s3SourceBuckets: z.array(z.string().min(1)).default([]),
      /** where uploaded audio waits for its job: S3 (required in cluster mode for uploads); unset = the node's home folder (single node) */
      storage: z
        .object({
          bucket: z.string().min(1).optional(),
          /** key prefix inside the bucket */
          prefix: z.string().default('earshot-jobs/'),
          /** an S3-compatible endpoint (MinIO, moto, R2); default AWS (AWS_ENDPOINT_URL is honoured by the SDK) */
          endpoint: z.string().url().optional(),
          region: z.string().min(1).default('us-east-1'),
        })
        .strict()
        .prefault({}),
      webhook: z
        .object({
          /** HMAC-SHA256 key for the webhook-signature header ("whsec_" + base64, or any string) */
          secret: z.string().min(8).optional(),
          /** delivery attempts (exponential backoff from 1 s) */
          attempts: z.coerce.number().int().min(1).max(20).default(5),
          timeoutSeconds: z.coerce.number().min(1).max(120).default(10),
        })
        .strict()
        .prefault({}),
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

/** Environment names: the seeds' (SERVER_HOST, SERVER_PORT, MODEL_NAME, WHISPER_DEVICE, VLLM_*) and EARSHOT_*. */
export function configFromEnv(env: NodeJS.ProcessEnv = processEnv()): Dict {
  const csv = (v?: string) =>
    v
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined;
  const num = (v?: string) => (v === undefined || v === '' ? undefined : Number(v));
  return {
    server: {
      host: env.EARSHOT_HOST ?? env.SERVER_HOST,
      port: num(env.EARSHOT_PORT ?? env.SERVER_PORT),
      apiKeys: csv(env.EARSHOT_API_KEYS),
      rateLimitPerMinute: num(env.EARSHOT_RATE_LIMIT),
      maxLiveSessions: num(env.EARSHOT_MAX_LIVE_SESSIONS),
      trustProxy: trustProxyFromEnv(env.EARSHOT_TRUST_PROXY),
      tls: { cert: env.EARSHOT_TLS_CERT, key: env.EARSHOT_TLS_KEY },
      shutdownGraceSeconds: num(env.EARSHOT_SHUTDOWN_GRACE_SECONDS),
    },
    model: {
      name: env.EARSHOT_MODEL ?? env.MODEL_NAME,
      live: env.EARSHOT_LIVE_MODEL,
      device: env.EARSHOT_DEVICE ?? env.WHISPER_DEVICE,
      threads: num(env.EARSHOT_THREADS),
      parallel: num(env.EARSHOT_PARALLEL),
      engine: env.EARSHOT_ENGINE,
    },
    batch: {
      skipSilence: skipSilenceFromEnv(env.EARSHOT_SKIP_SILENCE),
    },
    ct2: {
      python: env.EARSHOT_CT2_PYTHON,
      install: env.EARSHOT_CT2_INSTALL === undefined ? undefined : env.EARSHOT_CT2_INSTALL !== '0',
      computeType: env.EARSHOT_CT2_COMPUTE_TYPE,
    },
    limits: {
      maxUploadBytes: num(env.EARSHOT_MAX_UPLOAD_BYTES),
      maxAudioSeconds: num(env.EARSHOT_MAX_AUDIO_SECONDS),
      uploadIdleSeconds: num(env.EARSHOT_UPLOAD_IDLE_SECONDS),
    },
    enrichment: enrichInputFromEnv(env),
    wyoming: {
      uri: env.EARSHOT_WYOMING_URI,
      zeroconf: env.EARSHOT_WYOMING_ZEROCONF === undefined ? undefined : !['0', 'false', 'no', 'off'].includes(env.EARSHOT_WYOMING_ZEROCONF.toLowerCase()),
    },
    metrics: {
      enabled: env.EARSHOT_METRICS === undefined || env.EARSHOT_METRICS === '' ? undefined : !['0', 'false', 'off'].includes(env.EARSHOT_METRICS),
      port: num(env.EARSHOT_METRICS_PORT),
      apiKey: env.EARSHOT_METRICS_KEY,
    },
    cluster: {
      databaseUrl: env.EARSHOT_DATABASE_URL || undefined,
      redisUrl: env.EARSHOT_REDIS_URL || undefined,
      nodeName: env.EARSHOT_NODE_NAME || undefined,
    },
    jobs: {
      enabled: env.EARSHOT_JOBS === undefined || env.EARSHOT_JOBS === '' ? undefined : !['0', 'false', 'off'].includes(env.EARSHOT_JOBS),
      concurrency: num(env.EARSHOT_JOBS_CONCURRENCY),
      models: csv(env.EARSHOT_JOBS_MODELS),
      leaseSeconds: num(env.EARSHOT_JOBS_LEASE_SECONDS),
      maxRetries: num(env.EARSHOT_JOBS_MAX_RETRIES),
      retentionHours: num(env.EARSHOT_JOBS_RETENTION_HOURS),
      allowPrivateNetworks:
        env.EARSHOT_JOBS_ALLOW_PRIVATE_NETWORKS === undefined ? undefined : ['1', 'true', 'yes', 'on'].includes(env.EARSHOT_JOBS_ALLOW_PRIVATE_NETWORKS),
      s3SourceBuckets: csv(env.EARSHOT_JOBS_S3_SOURCE_BUCKETS),
      storage: {
        bucket: env.EARSHOT_JOBS_S3_BUCKET || undefined,
        prefix: env.EARSHOT_JOBS_S3_PREFIX,
        endpoint: env.EARSHOT_JOBS_S3_ENDPOINT || undefined,
        region: env.EARSHOT_JOBS_S3_REGION || undefined,
      },
      webhook: { secret: env.EARSHOT_JOBS_WEBHOOK_SECRET || undefined, attempts: num(env.EARSHOT_JOBS_WEBHOOK_ATTEMPTS) },
    },
    logLevel: env.EARSHOT_LOG_LEVEL,
    logFormat: env.EARSHOT_LOG_FORMAT,
  };
}

/** EARSHOT_TRUST_PROXY: true/false, a hop count, or addresses/CIDRs. */
/** EARSHOT_SKIP_SILENCE: off|long|always, or 0/1 (off/always) as before */
function skipSilenceFromEnv(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  return v === '0' ? 'off' : v === '1' ? 'always' : v;
}

function trustProxyFromEnv(v: string | undefined): boolean | number | string | undefined {
  if (v === undefined || v === '') return undefined;
  if (v === 'true' || v === 'false') return v === 'true';
  return /^\d+$/.test(v) ? Number(v) : v;
}

/**
 * Config files written before the enrichment section kept the LLM under a top-level `llm`
 * ({url, apiKey, model, mode, timeoutMs}); it still works and lands in enrichment.llm.
 */
function migrateLegacy(input: Dict): Dict {
  if (!isDict(input.llm)) return input;
  const { llm, ...rest } = input;
  const { url, ...other } = llm as Dict;
  const moved = Object.fromEntries(Object.entries({ baseUrl: url, ...other }).filter(([, v]) => v !== undefined));
  if (moved.baseUrl === undefined) return rest;
  return deepMerge(rest, { enrichment: { llm: moved } });
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
  const env = opts.env ?? processEnv();
  const file = opts.file ?? env.EARSHOT_CONFIG;
  let merged: Dict = {};
  if (file) merged = deepMerge(merged, migrateLegacy(readConfigFile(file)));
  merged = deepMerge(merged, configFromEnv(env));
  if (opts.flags) merged = deepMerge(merged, migrateLegacy(opts.flags));
  if (isDict(merged.enrichment)) merged.enrichment = withoutUrlless(merged.enrichment);
  return parseConfig(merged);
}

/** Validates a config object (defaults applied); throws a readable message listing every bad field. */
export function parseConfig(input: unknown): Config {
  const result = configSchema.safeParse(input);
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
    server: { ...config.server, apiKeys: config.server.apiKeys.map(() => '***'), keys: config.server.keys.map((k) => ({ ...k, key: '***' })) },
    metrics: { ...config.metrics, apiKey: config.metrics.apiKey ? '***' : undefined },
    cluster: { ...config.cluster, databaseUrl: maskUrlPassword(config.cluster.databaseUrl), redisUrl: maskUrlPassword(config.cluster.redisUrl) },
    jobs: { ...config.jobs, webhook: { ...config.jobs.webhook, secret: config.jobs.webhook.secret ? '***' : undefined } },
    enrichment: publicEnrichConfig(config.enrichment),
    ...(config.wakeword ? { wakeword: { ...config.wakeword, apiKey: config.wakeword.apiKey ? '***' : undefined } } : {}),
  };
}

/** postgres://user:secret@host → postgres://user:***@host (the dashboard shows where, never the password) */
function maskUrlPassword(url: string | undefined): string | undefined {
  if (!url) return url;
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '***';
  }
}
