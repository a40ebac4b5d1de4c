// Concurrent live sessions per key, counted across the cluster in Redis. Each slot is a member of a
// sorted set per key, scored with the time it expires; the node holding it pushes that time forward
// every few seconds. A node that crashes stops doing so, and its slots lapse after SLOT_TTL_MS
// instead of blocking the key for ever. Taking a slot is one Lua script (drop lapsed members, count,
// add), atomic against the other nodes, on Redis's own clock so nodes' clocks need not agree.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { redisReady, type ClusterLogger } from './redis.js';

/** The shape of the Limits service's session counter. */
export interface SlotCounter {
  acquire(id: string, max: number): Promise<(() => void) | undefined>;
  held(id: string): Promise<number>;
}

/** a crashed node's sessions stop counting after this long */
export const SLOT_TTL_MS = 15_000;

const NOW_MS = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const ACQUIRE = `
${NOW_MS}
local ttl = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if max > 0 and redis.call('ZCARD', KEYS[1]) >= max then return 0 end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return 1
`;

/** ARGV[1] = ttl, ARGV[2..] = members of this node in KEYS[1]: their expiry moves forward (only if still present). */
const REFRESH = `
${NOW_MS}
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + ttl, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return 1
`;

const HELD = `
${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
`;

export class RedisSessionSlots implements SlotCounter {
  /** key → members this node holds there */
  private readonly mine = new Map<string, Set<string>>();
  private readonly timer: NodeJS.Timeout;
  private degraded = false;
  private readonly ttlMs: number;
  private readonly prefix: string;

  constructor(
    private readonly redis: Redis,
    /** this node's own counter, used while Redis cannot answer */
    private readonly fallback: SlotCounter,
    private readonly node: string,
    private readonly log?: ClusterLogger,
    /** ttlMs: how long a slot outlives its holder's last refresh (tests shorten it); prefix: the Redis key prefix */
    options: { ttlMs?: number; prefix?: string } = {},
  ) {
    this.ttlMs = options.ttlMs ?? SLOT_TTL_MS;
    this.prefix = options.prefix ?? 'earshot:live:';
    // refreshed three times per lifetime: one late or lost refresh does not drop a live session's slot
    this.timer = setInterval(() => void this.refresh(), this.ttlMs / 3);
    this.timer.unref();
  }

  async acquire(id: string, max: number): Promise<(() => void) | undefined> {
    if (max <= 0 || !redisReady(this.redis)) {
      if (max > 0) this.fallBack(new Error(`Redis ${this.redis.status}`));
      return this.fallback.acquire(id, max);
    }
    const key = this.prefix + id;
    const member = `${this.node}:${randomUUID()}`;
    let taken: unknown;
    try {
      taken = await this.redis.eval(ACQUIRE, 1, key, String(this.ttlMs), String(max), member);
    } catch (err) {
      this.fallBack(err as Error);
      return this.fallback.acquire(id, max);
    }
    this.degraded = false;
    if (taken !== 1) return undefined;
    const members = this.mine.get(key) ?? new Set<string>();
    members.add(member);
    this.mine.set(key, members);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      members.delete(member);
      if (members.size === 0) this.mine.delete(key);
      // a release that cannot reach Redis lapses by itself within SLOT_TTL_MS
      if (redisReady(this.redis)) this.redis.zrem(key, member).catch(() => undefined);
    };
  }

  async held(id: string): Promise<number> {
    if (!redisReady(this.redis)) return this.fallback.held(id);
    return Number(await this.redis.eval(HELD, 1, this.prefix + id));
  }

  /** Stops refreshing (the node is going away; slots still held lapse after the TTL). */
  close(): void {
    clearInterval(this.timer);
  }

  /** Keeps this node's slots alive. */
  private async refresh(): Promise<void> {
    if (this.mine.size === 0 || !redisReady(this.redis)) return;
    try {
      await Promise.all([...this.mine].map(([key, members]) => this.redis.eval(REFRESH, 1, key, String(this.ttlMs), ...members)));
    } catch (err) {
      this.log?.warn({ err: (err as Error).message }, 'cluster: could not refresh live-session slots');
    }
  }

  private fallBack(err: Error): void {
    if (!this.degraded) this.log?.warn({ err: err.message }, 'cluster: Redis unavailable: live-session caps count on this node only until it returns');
    this.degraded = true;
  }
}
