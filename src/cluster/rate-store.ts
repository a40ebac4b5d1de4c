// Per-key request counters shared by every node (the budget of "N per minute" is the cluster's, not
// each node's): @fastify/rate-limit's store contract (incr + child) over Redis. One Lua script makes
// the count and its window atomic — INCR, and PEXPIRE when the key is new — so concurrent requests on
// different nodes never see a counter without its expiry. Written here rather than using the plugin's
// built-in Redis store because the WebSocket and Wyoming admissions call the same instance directly
// and because this one falls back to the node's own counters while Redis is away (limits per node for
// the length of the outage, rather than refusing every request or letting all of them through).
import type { Redis } from 'ioredis';
import { redisReady, type ClusterLogger } from './redis.js';

type IncrCallback = (err: Error | null, result?: { current: number; ttl: number }) => void;

/** What the plugin and the Limits service call: the shape of @fastify/rate-limit's store. */
export interface CounterStore {
  incr(key: string, cb: IncrCallback, timeWindow: number, max?: number): void;
  child(routeOptions?: unknown): CounterStore;
}

const INCR_WINDOW = `
local current = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {current, ttl}
`;

export class RedisRateStore implements CounterStore {
  private degraded = false;

  constructor(
    private readonly redis: Redis,
    /** the node's own counters, used while Redis cannot answer */
    private readonly fallback: CounterStore,
    private readonly log?: ClusterLogger,
    private readonly prefix = 'earshot:rate:',
  ) {}

  incr(key: string, cb: IncrCallback, timeWindow: number, max?: number): void {
    if (!redisReady(this.redis)) {
      this.fallBack(new Error(`Redis ${this.redis.status}`));
      this.fallback.incr(key, cb, timeWindow, max);
      return;
    }
    this.redis.eval(INCR_WINDOW, 1, this.prefix + key, String(timeWindow)).then(
      (reply) => {
        const [current, ttl] = reply as [number, number];
        if (this.degraded) this.log?.info({}, 'cluster: rate limits shared through Redis again');
        this.degraded = false;
        cb(null, { current, ttl });
      },
      (err: Error) => {
        this.fallBack(err);
        this.fallback.incr(key, cb, timeWindow, max);
      },
    );
  }

  child(): CounterStore {
    return this; // one budget per key across all routes
  }

  private fallBack(err: Error): void {
    if (!this.degraded) this.log?.warn({ err: err.message }, 'cluster: Redis unavailable: rate limits count on this node only until it returns');
    this.degraded = true;
  }
}
