// Redis connections for cluster mode (ioredis). Commands must never wait for a Redis that is away —
// a rate-limit check or a monitor event is not worth holding a live session for — so the command
// connection fails fast while disconnected (no offline queue) and the callers fall back to what this
// node knows alone; ioredis keeps reconnecting in the background and everything resumes by itself.
import { Redis, type RedisOptions } from 'ioredis';

export interface ClusterLogger {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
}

/** Reconnect delay: quick at first, then every 2 s for as long as it takes. */
function retryStrategy(attempt: number): number {
  return Math.min(100 * attempt, 2000);
}

/**
 * A connection for commands (fails fast while Redis is away) or for subscriptions (`subscriber`:
 * SUBSCRIBE waits for the connection and is renewed after every reconnect).
 */
export function connectRedis(url: string, opts: { name: string; log?: ClusterLogger; subscriber?: boolean }): Redis {
  const options: RedisOptions = {
    connectionName: opts.name,
    retryStrategy,
    enableOfflineQueue: Boolean(opts.subscriber),
    maxRetriesPerRequest: opts.subscriber ? null : 1,
    connectTimeout: 3000,
    autoResubscribe: true,
  };
  const redis = new Redis(url, options);
  // state changes are logged once each, not once per reconnect attempt
  let up: boolean | undefined;
  redis.on('ready', () => {
    if (up !== true) opts.log?.info({ redis: opts.name }, 'cluster: Redis connected');
    up = true;
  });
  redis.on('error', (err: Error) => {
    if (up !== false) opts.log?.warn({ redis: opts.name, err: err.message }, `cluster: Redis unavailable (${err.message}); reconnecting`);
    up = false;
  });
  return redis;
}

/** True when the connection can take commands now. */
export function redisReady(redis: Redis): boolean {
  return redis.status === 'ready';
}

/** PING with a deadline: resolves when Redis answers, rejects with the reason otherwise. */
export async function pingRedis(redis: Redis, timeoutMs = 1000): Promise<void> {
  if (!redisReady(redis)) throw new Error(`Redis is not connected (${redis.status})`);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not answer PING in ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
