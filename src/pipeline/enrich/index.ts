// The Enricher: keywords and categories for every final transcript, from the configured LLM when it
// is healthy and from the built-in extractor otherwise. It never throws for LLM trouble and never
// makes a caller wait longer than the LLM timeout (plus queueing), so transcription is never held up.
import { CircuitBreaker, type BreakerSnapshot } from './breaker.js';
import { BuiltinExtractor } from './builtin.js';
import { candidateKey, type Candidate } from './candidate.js';
import { parseEnrichConfig, type EnrichConfig, type EnrichConfigInput } from '../../config/enrichment.js';
import { resolveLanguage } from './language.js';
import { Lexicon } from './lexicon.js';
import { LlmClient, LlmError, type LlmErrorKind } from './llm-client.js';
import { DropOldestQueue, DroppedError } from './queue.js';
import { KeywordSession, SessionStore } from './keyword-session.js';
import type { EnrichLanguage, EnrichRequest, EnrichmentResult, FallbackReason, Keyword } from './types.js';

export * from './types.js';
export { enrichConfigFromEnv, parseEnrichConfig, publicEnrichConfig, type EnrichConfig, type LlmConfig } from '../../config/enrichment.js';
export { checkLlm, type LlmCheckReport } from './check.js';
export { Lexicon } from './lexicon.js';
export { LlmClient, LlmError } from './llm-client.js';
export { BuiltinExtractor } from './builtin.js';
export { KeywordSession } from './keyword-session.js';

export interface EnricherLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface EnricherOptions {
  lexicon?: Lexicon;
  /** replaces global fetch (tests never need it: they run a real HTTP server) */
  fetch?: typeof fetch;
  /** clock for the breaker's cool-down */
  now?: () => number;
  logger?: EnricherLogger;
  /** told about every LLM call (metrics): its latency, and whether it failed */
  observer?: { llmCall(latencyMs: number, ok: boolean): void };
}

export interface EnricherState {
  enabled: boolean;
  /** an LLM URL is configured */
  configured: boolean;
  url: string | null;
  mode: string | null;
  structuredOutput: string | null;
  /** null until the first call; false after a network error or timeout */
  reachable: boolean | null;
  model: string | null;
  lastLatencyMs: number | null;
  /** share of the last 50 LLM calls that failed (invalid output included) */
  errorRate: number;
  calls: number;
  failures: number;
  lastError: string | null;
  breaker: BreakerSnapshot;
  queue: { pending: number; running: number; maxPending: number; concurrency: number };
  /** enrichment requests that skipped the LLM under overload: pushed out of the queue, or waited past maxWaitMs */
  dropped: number;
  fallback: boolean;
  lexiconTerms: number;
}

const REASON_BY_KIND: Record<LlmErrorKind, FallbackReason> = {
  timeout: 'timeout',
  network: 'network_error',
  http: 'http_error',
  protocol: 'http_error',
  invalid_output: 'invalid_output',
};

/** Failures that say the server is unwell (the breaker counts them); a 400 for one odd request does not. */
function isServerFailure(err: LlmError): boolean {
  if (err.kind === 'invalid_output') return false;
  if (err.kind !== 'http') return true;
  const s = err.status ?? 0;
  return s >= 500 || [401, 403, 404, 408, 429].includes(s);
}

class BreakerOpenError extends Error {}
class StaleError extends Error {}

const ERROR_WINDOW = 50;

export class Enricher {
  readonly config: EnrichConfig;
  private readonly client: LlmClient | null;
  private readonly builtin: BuiltinExtractor;
  private readonly breaker: CircuitBreaker;
  private readonly queue: DropOldestQueue;
  private readonly sessions = new SessionStore();
  private readonly lexicon?: Lexicon;
  private readonly logger?: EnricherLogger;
  private readonly observer?: EnricherOptions['observer'];
  private reachable: boolean | null = null;
  private lastLatencyMs: number | null = null;
  private lastError: string | null = null;
  private calls = 0;
  private failures = 0;
  private readonly outcomes: boolean[] = [];
  private readonly now: () => number;
  private stale = 0;

  constructor(config: EnrichConfig | EnrichConfigInput = {}, options: EnricherOptions = {}) {
    this.config = parseEnrichConfig(config as EnrichConfigInput);
    this.lexicon = options.lexicon;
    this.logger = options.logger;
    this.observer = options.observer;
    this.now = options.now ?? Date.now;
    this.client = this.config.llm ? new LlmClient(this.config.llm, options.fetch) : null;
    this.builtin = new BuiltinExtractor({ categories: this.config.categories, lexicon: options.lexicon, maxKeywords: this.config.maxKeywords });
    this.breaker = new CircuitBreaker({ ...this.config.breaker, now: options.now });
    this.queue = new DropOldestQueue(this.config.llm?.maxConcurrency ?? 1, this.config.queue.maxPending);
  }

  /** An Enricher with the config's lexicon file loaded. */
  static async create(config: EnrichConfig | EnrichConfigInput = {}, options: EnricherOptions = {}): Promise<Enricher> {
    const parsed = parseEnrichConfig(config as EnrichConfigInput);
    const lexicon = options.lexicon ?? (parsed.lexiconPath ? await Lexicon.load(parsed.lexiconPath) : undefined);
    return new Enricher(parsed, { ...options, lexicon });
  }

  get llmClient(): LlmClient | null {
    return this.client;
  }

  /** Keywords and categories for one utterance. Rejects only when the caller aborts. */
  async enrich(request: EnrichRequest): Promise<EnrichmentResult> {
    const started = performance.now();
    const language = resolveLanguage(request.text, request.language);
    const text = request.text.normalize('NFC').trim();
    const base = { language, utteranceId: request.utteranceId, sessionId: request.sessionId };
    const elapsed = () => Math.round(performance.now() - started);
    request.signal?.throwIfAborted();

    if (!text) return { ...base, status: 'ok', keywords: [], categories: [], source: 'none', latencyMs: elapsed() };
    if (!this.client) return this.fromBuiltin(text, language, request.sessionId, base, elapsed);

    const fallback = (reason: FallbackReason, error?: string): EnrichmentResult => {
      if (!this.config.fallback) {
        return { ...base, status: 'unavailable', keywords: [], categories: [], source: 'none', latencyMs: elapsed(), fallbackReason: reason, error };
      }
      return { ...this.fromBuiltin(text, language, request.sessionId, base, elapsed), fallbackReason: reason, error };
    };

    if (!this.breaker.tryAcquire()) return fallback('breaker_open', this.lastError ?? undefined);

    const client = this.client;
    const enqueuedAt = this.now();
    const maxWaitMs = this.config.queue.maxWaitMs ?? client.config.timeoutMs;
    const adaptations = `${client.mode}/${client.structuredOutput}`;
    try {
      const answer = await this.queue.run(async () => {
        // a job that waited while the breaker opened does not add to the pile-up
        if (this.breaker.state === 'open') throw new BreakerOpenError();
        // nor does one whose keywords would arrive too late to matter
        if (this.now() - enqueuedAt > maxWaitMs) throw new StaleError();
        return client.extract(text, { language, categories: this.config.categories, maxKeywords: this.config.maxKeywords, signal: request.signal });
      }, request.signal);
      this.recordSuccess(answer.latencyMs);
      if (`${client.mode}/${client.structuredOutput}` !== adaptations) {
        this.logger?.info(
          { mode: client.mode, structuredOutput: client.structuredOutput },
          'LLM server refused part of the request; adapted to what it accepts',
        );
      }
      const keywords = this.llmKeywords(answer.keywords, text, language);
      this.sessionOf(request.sessionId)?.score(keywords.map((k, i) => this.asCandidate(k, i)));
      return { ...base, status: 'ok', keywords, categories: this.categoriesOf(keywords), source: 'llm', model: answer.model, latencyMs: elapsed() };
    } catch (err) {
      if (err instanceof DroppedError) {
        this.breaker.release();
        return fallback('overloaded');
      }
      if (err instanceof StaleError) {
        this.breaker.release();
        this.stale++;
        return fallback('overloaded');
      }
      if (err instanceof BreakerOpenError) {
        this.breaker.release();
        return fallback('breaker_open', this.lastError ?? undefined);
      }
      if (err instanceof LlmError) {
        this.recordFailure(err);
        this.logFallback(REASON_BY_KIND[err.kind], err.message);
        return fallback(REASON_BY_KIND[err.kind], err.message);
      }
      this.breaker.release();
      if (request.signal?.aborted) throw err;
      // anything else is a bug here, not the LLM's fault: still never break transcription
      this.logger?.warn({ err }, 'enrichment failed unexpectedly');
      return fallback('http_error', (err as Error)?.message ?? String(err));
    }
  }

  private fromBuiltin(
    text: string,
    language: EnrichLanguage,
    sessionId: string | undefined,
    base: Pick<EnrichmentResult, 'language' | 'utteranceId' | 'sessionId'>,
    elapsed: () => number,
  ): EnrichmentResult {
    const keywords = this.builtin.extract(text, language, this.sessionOf(sessionId) ?? new KeywordSession());
    return { ...base, status: 'ok', keywords, categories: this.categoriesOf(keywords), source: 'builtin', latencyMs: elapsed() };
  }

  private sessionOf(sessionId: string | undefined): KeywordSession | undefined {
    return sessionId ? this.sessions.get(sessionId) : undefined;
  }

  private asCandidate(k: Keyword, position: number): Candidate {
    return { text: k.text, key: candidateKey(k.text), category: k.category as Candidate['category'], position, weight: 1 };
  }

  /** Grounds, categorises, completes with lexicon terms, bounds and scores what the model found. */
  private llmKeywords(raw: Array<{ text: string; category: string | null }>, text: string, language: EnrichLanguage): Keyword[] {
    const squash = (s: string) => candidateKey(s).replace(/[\s\p{P}]/gu, '');
    const haystack = squash(text);
    const kept = raw
      .filter((k) => !this.config.requireGrounded || haystack.includes(squash(k.text)))
      .map((k) => ({
        text: this.lexicon?.canonical(k.text) ?? k.text,
        category: this.lexicon?.categoryOf(k.text) ?? k.category ?? this.builtin.categorize(k.text, language),
      }));
    const have = new Set(kept.map((k) => candidateKey(k.text)));
    for (const m of this.lexicon?.find(text) ?? []) {
      if (!have.has(candidateKey(m.term))) kept.push({ text: m.term, category: m.category });
    }
    const bounded = kept.slice(0, this.config.maxKeywords);
    return bounded.map((k, i) => ({ ...k, score: Math.round(((bounded.length - i) / bounded.length) * 1000) / 1000 }));
  }

  /** Distinct categories in the configured order, any others after. */
  private categoriesOf(keywords: readonly Keyword[]): string[] {
    const used = new Set(keywords.map((k) => k.category));
    return [...this.config.categories.filter((c) => used.has(c)), ...[...used].filter((c) => !this.config.categories.includes(c))];
  }

  private record(failed: boolean): void {
    this.calls++;
    if (failed) this.failures++;
    this.outcomes.push(failed);
    if (this.outcomes.length > ERROR_WINDOW) this.outcomes.shift();
  }

  private recordSuccess(latencyMs: number): void {
    const wasOpen = this.breaker.state !== 'closed';
    this.breaker.success();
    if (wasOpen) this.logger?.info({ url: this.config.llm?.baseUrl }, 'LLM answered again; enrichment back on the LLM');
    this.reachable = true;
    this.lastLatencyMs = latencyMs;
    this.record(false);
    this.observer?.llmCall(latencyMs, true);
  }

  /** when each fallback reason was last logged: the first of a kind is logged, then at most one a minute */
  private readonly fallbackLogged = new Map<FallbackReason, number>();

  private logFallback(reason: FallbackReason, error: string): void {
    const last = this.fallbackLogged.get(reason);
    const now = this.now();
    if (last !== undefined && now - last < 60_000) return;
    this.fallbackLogged.set(reason, now);
    this.logger?.warn({ reason, error, url: this.config.llm?.baseUrl }, `LLM answer not used (${reason}: ${error}); keywords from the built-in extractor`);
  }

  private recordFailure(err: LlmError): void {
    this.record(true);
    this.observer?.llmCall(0, false);
    this.lastError = err.message;
    if (err.kind === 'timeout' || err.kind === 'network') this.reachable = false;
    else if (err.kind === 'http' || err.kind === 'invalid_output') this.reachable = true;
    if (!isServerFailure(err)) {
      // the server answered, only this answer was bad: that proves it is up, so it must not open the breaker
      this.breaker.success();
      return;
    }
    const before = this.breaker.state;
    this.breaker.failure();
    if (before !== 'open' && this.breaker.state === 'open') {
      this.logger?.warn({ url: this.config.llm?.baseUrl, error: err.message }, 'LLM failing; using the built-in extractor until it recovers');
    }
  }

  /** The session's keywords so far, best first. */
  sessionKeywords(sessionId: string, n = this.config.maxKeywords): Keyword[] {
    return this.sessions
      .get(sessionId)
      .top(n)
      .map((s) => ({ text: s.text, category: this.builtin.mapCategory(s.category), score: s.score }));
  }

  /** Forget a session's accumulated keywords (its stream ended). */
  endSession(sessionId: string): void {
    this.sessions.delete(sessionId);
  }

  /** For /health and /api/config. Never includes the API key. */
  state(): EnricherState {
    const llm = this.config.llm;
    return {
      enabled: this.config.enabled,
      configured: llm !== null,
      url: llm?.baseUrl ?? null,
      mode: this.client?.mode ?? null,
      structuredOutput: this.client?.structuredOutput ?? null,
      reachable: this.reachable,
      model: this.client?.model ?? null,
      lastLatencyMs: this.lastLatencyMs,
      errorRate: this.outcomes.length ? Math.round((this.outcomes.filter(Boolean).length / this.outcomes.length) * 1000) / 1000 : 0,
      calls: this.calls,
      failures: this.failures,
      lastError: this.lastError,
      breaker: this.breaker.snapshot(),
      queue: { pending: this.queue.size, running: this.queue.active, maxPending: this.queue.maxPending, concurrency: this.queue.concurrency },
      dropped: this.queue.dropped + this.stale,
      fallback: this.config.fallback,
      lexiconTerms: this.lexicon?.size ?? 0,
    };
  }
}
