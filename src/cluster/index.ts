// Cluster mode's Redis side: one command connection and one subscriber per node, the shared rate
// counters, the live-session slots and the message bus. Built from config.cluster.redisUrl; absent
// on a single node.
import type { Redis } from 'ioredis';
import { ClusterBus } from './bus.js';
import { connectRedis, pingRedis, type ClusterLogger } from './redis.js';

export { ClusterBus, type BusMessage } from './bus.js';
export { RedisRateStore, type CounterStore } from './rate-store.js';
export { RedisSessionSlots, SLOT_TTL_MS, type SlotCounter } from './session-slots.js';
export { connectRedis, pingRedis, redisReady, type ClusterLogger } from './redis.js';

export interface ClusterRedis {
  node: string;
  /** the command connection (counters, slots, publishing) */
  redis: Redis;
  bus: ClusterBus;
  /** resolves when Redis answers now; rejects with the reason */
  check(): Promise<void>;
  close(): Promise<void>;
}

export function connectCluster(url: string, node: string, log?: ClusterLogger): ClusterRedis {
  const redis = connectRedis(url, { name: `${node}:commands`, log });
  const bus = new ClusterBus(redis, url, node, log);
  return {
    node,
    redis,
    bus,
    check: () => pingRedis(redis),
    close: async () => {
      bus.close();
      redis.disconnect();
    },
  };
}
