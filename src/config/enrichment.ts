// The `enrichment` section of the config (keywords and categories for each final): its schema with
// defaults, and its environment names (EARSHOT_ENRICH_*, EARSHOT_LLM_*, seed-style VLLM_*).
import { z } from 'zod';
import { processEnv } from './env.js';

/** Categories used when the config names none. Order matters: it is the order results list them in. */
export const DEFAULT_CATEGORIES = ['person', 'place', 'organization', 'product', 'date_time', 'topic', 'other'] as const;

const llmSchema = z.object({
  /** base URL of the OpenAI-compatible API, normalised to end in /v1 */
  baseUrl: z
    .string()
    .min(1)
    .transform((raw, ctx) => {
      try {
        return normalizeBaseUrl(raw);
      } catch {
        ctx.addIssue({ code: 'custom', message: `not a URL: ${JSON.stringify(raw)}` });
        return z.NEVER;
      }
    }),
  apiKey: z.string().min(1).optional(),
  /** unset: the first model listed by GET /v1/models */
  model: z.string().min(1).optional(),
  mode: z.enum(['chat', 'completions']).default('chat'),
  timeoutMs: z.number().int().positive().default(10_000),
  maxConcurrency: z.number().int().positive().default(2),
  structuredOutput: z.enum(['json_schema', 'json_object', 'guided_json', 'structured_outputs', 'none']).default('json_schema'),
  maxTokens: z.number().int().positive().default(256),
  temperature: z.number().min(0).max(2).default(0),
});

export const enrichConfigSchema = z.object({
  /** false: the server skips enrichment entirely */
  enabled: z.boolean().default(true),
  llm: llmSchema.nullable().default(null),
  /** use the built-in extractor when the LLM is unavailable; false reports `unavailable` instead */
  fallback: z.boolean().default(true),
  categories: z
    .array(z.string().min(1))
    .min(1)
    .default([...DEFAULT_CATEGORIES]),
  /** JSON file mapping terms to categories (see lexicon.ts) */
  lexiconPath: z.string().min(1).optional(),
  maxKeywords: z.number().int().positive().default(10),
  /** LLM keywords must occur in the text (drops few-shot echoes and inventions) */
  requireGrounded: z.boolean().default(true),
  breaker: z
    .object({
      failureThreshold: z.number().int().positive().default(3),
      cooldownMs: z.number().int().positive().default(30_000),
    })
    .default({ failureThreshold: 3, cooldownMs: 30_000 }),
  queue: z
    .object({
      maxPending: z.number().int().nonnegative().default(32),
      /** work that waited longer than this for a free slot is stale and skips the LLM; unset: the LLM timeout */
      maxWaitMs: z.number().int().positive().optional(),
    })
    .default({ maxPending: 32 }),
});

export type LlmConfig = z.infer<typeof llmSchema>;
export type EnrichConfig = z.infer<typeof enrichConfigSchema>;
export type LlmConfigInput = z.input<typeof llmSchema>;
export type EnrichConfigInput = z.input<typeof enrichConfigSchema>;

/**
 * Accepts `http://host:8001`, `http://host:8001/`, `http://host:8001/v1/` alike.
 * A bare host gets /v1; a URL with another path (a hosted API's prefix) is kept as given.
 */
export function normalizeBaseUrl(raw: string): string {
  const trimmed = raw.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
  const url = new URL(withScheme);
  let path = url.pathname.replace(/\/+$/, '');
  if (path === '') path = '/v1';
  url.pathname = path;
  url.search = '';
  url.hash = '';
  return url.toString().replace(/\/+$/, '');
}

export function parseLlmConfig(input: LlmConfigInput): LlmConfig {
  return llmSchema.parse(input);
}

export function parseEnrichConfig(input: EnrichConfigInput = {}): EnrichConfig {
  return enrichConfigSchema.parse(input);
}

type Env = Record<string, string | undefined>;

/** First non-empty value among the names, in order (Earshot's name first, seed-compatible ones after). */
function pick(env: Env, ...names: string[]): string | undefined {
  for (const name of names) {
    const v = env[name]?.trim();
    if (v) return v;
  }
  return undefined;
}

function int(env: Env, name: string): number | undefined {
  const v = pick(env, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got ${JSON.stringify(v)}`);
  return n;
}

function bool(env: Env, name: string): boolean | undefined {
  const v = pick(env, name)?.toLowerCase();
  if (v === undefined) return undefined;
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new Error(`${name} must be true or false, got ${JSON.stringify(v)}`);
}

/** Drops undefined keys so schema defaults apply. */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The LLM part of the config from the environment. EARSHOT_LLM_* first; VLLM_URL / VLLM_BASE_URL /
 * VLLM_MODEL / VLLM_API_KEY are accepted too, the names a seed-001-style vLLM deployment already sets.
 */
export function llmInputFromEnv(env: Env = processEnv()): Partial<LlmConfigInput> | null {
  const mode = pick(env, 'EARSHOT_LLM_MODE');
  const structuredOutput = pick(env, 'EARSHOT_LLM_STRUCTURED_OUTPUT');
  // Settings without a URL still count: a config file may give the URL (file < env).
  const given = defined({
    baseUrl: pick(env, 'EARSHOT_LLM_URL', 'VLLM_URL', 'VLLM_BASE_URL'),
    apiKey: pick(env, 'EARSHOT_LLM_API_KEY', 'VLLM_API_KEY'),
    model: pick(env, 'EARSHOT_LLM_MODEL', 'VLLM_MODEL'),
    mode: mode as LlmConfigInput['mode'],
    timeoutMs: int(env, 'EARSHOT_LLM_TIMEOUT_MS'),
    maxConcurrency: int(env, 'EARSHOT_LLM_MAX_CONCURRENCY'),
    structuredOutput: structuredOutput as LlmConfigInput['structuredOutput'],
    maxTokens: int(env, 'EARSHOT_LLM_MAX_TOKENS'),
  });
  return Object.keys(given).length ? given : null;
}

/** An LLM section without a URL means "no LLM" (its other settings wait for one). */
export function withoutUrlless<T extends { llm?: unknown }>(input: T): T {
  const llm = input.llm as { baseUrl?: unknown } | null | undefined;
  return llm && llm.baseUrl === undefined ? { ...input, llm: null } : input;
}

/** Everything enrichment reads from the environment, as schema input (defaults not yet applied). */
export function enrichInputFromEnv(env: Env = processEnv()): Omit<EnrichConfigInput, 'llm'> & { llm?: Partial<LlmConfigInput> } {
  const categories = pick(env, 'EARSHOT_ENRICH_CATEGORIES')
    ?.split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  const failureThreshold = int(env, 'EARSHOT_ENRICH_BREAKER_FAILURES');
  const cooldownMs = int(env, 'EARSHOT_ENRICH_BREAKER_COOLDOWN_MS');
  const maxPending = int(env, 'EARSHOT_ENRICH_QUEUE_MAX');
  return defined({
    enabled: bool(env, 'EARSHOT_ENRICH'),
    breaker: failureThreshold !== undefined || cooldownMs !== undefined ? { ...defined({ failureThreshold, cooldownMs }) } : undefined,
    queue: maxPending !== undefined ? { maxPending } : undefined,
    llm: llmInputFromEnv(env) ?? undefined,
    fallback: bool(env, 'EARSHOT_ENRICH_FALLBACK'),
    categories: categories?.length ? categories : undefined,
    lexiconPath: pick(env, 'EARSHOT_ENRICH_LEXICON'),
    maxKeywords: int(env, 'EARSHOT_ENRICH_MAX_KEYWORDS'),
  });
}

export function enrichConfigFromEnv(env: Env = processEnv()): EnrichConfig {
  return parseEnrichConfig(withoutUrlless(enrichInputFromEnv(env)) as EnrichConfigInput);
}

/** The config as the dashboard may show it: the API key is never echoed. */
export function publicEnrichConfig(config: EnrichConfig): Record<string, unknown> {
  return {
    ...config,
    llm: config.llm ? { ...config.llm, apiKey: config.llm.apiKey ? '***' : undefined } : null,
  };
}
