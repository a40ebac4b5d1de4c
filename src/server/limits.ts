// Per-key limits, in one place for every interface: requests per minute (HTTP through
// @fastify/rate-limit, WebSocket upgrades and non-HTTP protocols through the same counter store) and
// concurrent live sessions. HTTP refusals are 429 + Retry-After in the route family's error shape;
// WebSocket refusals are an error message and close code 4429 with a reason.
import rateLimit, { type FastifyRateLimitStore } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { Metrics } from '../app/metrics.js';
import { RedisRateStore, RedisSessionSlots, type ClusterLogger, type ClusterRedis } from '../cluster/index.js';
import type { Identity } from './auth.js';
import { ApiError } from './errors.js';

export const RATE_WINDOW_MS = 60_000;

/** WebSocket close code for a refused session (private-use range; 4000 + the HTTP status). */
export const CLOSE_RATE_LIMITED = 4429;
/** WebSocket close code when the server shuts down (1001 "going away" is the standard one). */
export const CLOSE_GOING_AWAY = 1001;

/**
 * Counter store for requests per window, shared by every route and interface so a key's budget is one
 * budget. The shape is @fastify/rate-limit's store contract; in cluster mode it is the Redis store
 * (src/cluster/rate-store.ts), so the budget is the cluster's.
 */
export type RateStore = FastifyRateLimitStore;

/**
 * In-process fixed-window counters. Written here rather than reusing the plugin's LocalStore because
 * that class is not part of the plugin's public exports, and the WebSocket and Wyoming paths need to
 * call the very same instance. Entries are pruned as their window ends.
 */
export class MemoryRateStore implements RateStore {
  private readonly windows = new Map<string, { count: number; start: number }>();
  private lastPrune = Date.now();

  incr(key: string, cb: (err: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
    const now = Date.now();
    if (now - this.lastPrune > timeWindow) this.prune(now, timeWindow);
    let w = this.windows.get(key);
    if (!w || now - w.start >= timeWindow) {
      w = { count: 0, start: now };
      this.windows.set(key, w);
    }
    w.count++;
    cb(null, { current: w.count, ttl: timeWindow - (now - w.start) });
  }

  child(): RateStore {
    return this; // one budget per key across all routes
  }

  private prune(now: number, timeWindow: number): void {
    this.lastPrune = now;
    for (const [k, w] of this.windows) if (now - w.start >= timeWindow) this.windows.delete(k);
  }
}

/** Concurrent live sessions per identity. Pluggable like RateStore (cluster mode: src/cluster/session-slots.ts). */
export interface SessionCounter {
  /** takes a slot when fewer than `max` are held (max 0 = unlimited); returns its release, or undefined */
  acquire(id: string, max: number): Promise<(() => void) | undefined>;
  held(id: string): Promise<number>;
}

export class MemorySessionCounter implements SessionCounter {
  private readonly counts = new Map<string, number>();

  async acquire(id: string, max: number): Promise<(() => void) | undefined> {
    const n = this.counts.get(id) ?? 0;
    if (max > 0 && n >= max) return undefined;
    this.counts.set(id, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(id) ?? 1) - 1;
      if (left <= 0) this.counts.delete(id);
      else this.counts.set(id, left);
    };
  }

  async held(id: string): Promise<number> {
    return this.counts.get(id) ?? 0;
  }
}

export type Admission = { ok: true; release: () => void } | { ok: false; code: 'rate_limited' | 'too_many_sessions'; message: string; retryAfter: number };

export class Limits {
  /** the limits of a cluster node: counters and session slots in Redis, this node's own while Redis is away */
  static clustered(cluster: ClusterRedis, metrics?: Metrics, log?: ClusterLogger): { limits: Limits; close(): void } {
    const slots = new RedisSessionSlots(cluster.redis, new MemorySessionCounter(), cluster.node, log);
    return { limits: new Limits(new RedisRateStore(cluster.redis, new MemoryRateStore(), log), slots, metrics), close: () => slots.close() };
  }

  constructor(
    readonly rates: RateStore = new MemoryRateStore(),
    readonly sessions: SessionCounter = new MemorySessionCounter(),
    readonly metrics?: Metrics,
  ) {}

  /** Counts one request against the identity's per-minute budget. */
  async takeRequest(identity: Identity): Promise<{ ok: true } | { ok: false; retryAfter: number; max: number }> {
    const max = identity.rateLimitPerMinute;
    if (max === 0) return { ok: true };
    const result = await new Promise<{ current: number; ttl: number }>((resolve, reject) =>
      this.rates.incr(identity.id, (err, r) => (err || !r ? reject(err ?? new Error('rate store failed')) : resolve(r)), RATE_WINDOW_MS, max),
    );
    if (result.current <= max) return { ok: true };
    return { ok: false, retryAfter: Math.max(1, Math.ceil(result.ttl / 1000)), max };
  }

  /**
   * Admission of one live session (any interface): one request from the per-minute budget, then a slot
   * from the concurrent-session budget. Release the slot when the session ends.
   */
  async admitLive(identity: Identity): Promise<Admission> {
    const rate = await this.takeRequest(identity);
    if (!rate.ok) {
      this.metrics?.rateLimited.inc({ limit: 'requests' });
      return {
        ok: false,
        code: 'rate_limited',
        message: `rate limit of ${rate.max} requests per minute exceeded; retry in ${rate.retryAfter} s`,
        retryAfter: rate.retryAfter,
      };
    }
    const release = await this.sessions.acquire(identity.id, identity.maxLiveSessions);
    if (!release) {
      this.metrics?.rateLimited.inc({ limit: 'live_sessions' });
      const max = identity.maxLiveSessions;
      return {
        ok: false,
        code: 'too_many_sessions',
        message: `at most ${max} concurrent live session${max === 1 ? '' : 's'} per key; close one and retry`,
        retryAfter: 1,
      };
    }
    return { ok: true, release };
  }
}

/** Refuses a WebSocket session: an error message the client can read, then close 4429 with a reason. */
export function refuseSocket(socket: WebSocket, refusal: Extract<Admission, { ok: false }>): void {
  if (socket.readyState === socket.OPEN) {
    socket.send(JSON.stringify({ type: 'error', code: refusal.code, message: refusal.message, retry_after: refusal.retryAfter, fatal: true }));
  }
  // close reasons are limited to 123 bytes
  socket.close(CLOSE_RATE_LIMITED, `${refusal.code}: retry after ${refusal.retryAfter} s`.slice(0, 123));
}

/** Paths outside the per-key request budget: probes, metrics (its own key), the API description. */
const UNLIMITED_PATHS = new Set(['/health', '/health/live', '/health/ready', '/metrics', '/openapi.json']);

/**
 * @fastify/rate-limit over every HTTP route (register before the routes). The key is the caller's
 * identity, the budget the identity's own; WebSocket routes opt out with config.rateLimit=false and go
 * through Limits.admitLive on upgrade instead, so refusals reach them as a close frame.
 */
export async function registerRateLimit(app: FastifyInstance, limits: Limits, identityOf: (r: FastifyRequest) => Identity): Promise<void> {
  const store = limits.rates;
  await app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    timeWindow: RATE_WINDOW_MS,
    // the plugin constructs its store; hand it the shared instance (a constructor returning an object yields it)
    store: function SharedStore() {
      return store;
    } as unknown as new () => RateStore,
    keyGenerator: (request) => identityOf(request).id,
    max: (request) => identityOf(request).rateLimitPerMinute,
    allowList: (request) =>
      identityOf(request).rateLimitPerMinute === 0 || UNLIMITED_PATHS.has(request.routeOptions.url ?? '') || request.url.startsWith('/docs'),
    addHeadersOnExceeding: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true },
    addHeaders: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true, 'retry-after': true },
    onExceeded: () => limits.metrics?.rateLimited.inc({ limit: 'requests' }),
    errorResponseBuilder: (_request, context) =>
      Object.assign(
        new ApiError(
          429,
          'rate_limit_exceeded',
          `rate limit of ${context.max} requests per minute exceeded; retry in ${Math.max(1, Math.ceil(context.ttl / 1000))} s`,
        ),
        {
          statusCode: 429,
        },
      ),
  });
}
