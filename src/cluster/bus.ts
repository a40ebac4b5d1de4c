// Cluster-wide messages over Redis pub/sub: every node publishes what happens on it and hears what
// happens on the others. Fire and forget, like the monitor feed it carries: a message published while
// Redis is away is dropped (the live sessions themselves never wait for it).
import type { Redis } from 'ioredis';
import { connectRedis, redisReady, type ClusterLogger } from './redis.js';

/** One message as it travels: the node it comes from and its body. */
export interface BusMessage<T = unknown> {
  node: string;
  body: T;
}

export class ClusterBus {
  private readonly subscriber: Redis;
  private readonly handlers = new Map<string, Set<(msg: BusMessage) => void>>();

  constructor(
    private readonly publisher: Redis,
    url: string,
    readonly node: string,
    private readonly log?: ClusterLogger,
    private readonly prefix = 'earshot:bus:',
  ) {
    this.subscriber = connectRedis(url, { name: `${node}:subscriber`, log, subscriber: true });
    this.subscriber.on('message', (channel: string, text: string) => this.deliver(channel, text));
  }

  /** Sends `body` to every node subscribed to `channel` (this one included: filter on msg.node). */
  publish(channel: string, body: unknown): void {
    if (!redisReady(this.publisher)) return;
    const text = JSON.stringify({ node: this.node, body } satisfies BusMessage);
    this.publisher.publish(this.prefix + channel, text).catch(() => undefined);
  }

  /** Calls `handler` for each message on `channel`; returns the unsubscribe. */
  subscribe<T>(channel: string, handler: (msg: BusMessage<T>) => void): () => void {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      this.subscriber.subscribe(this.prefix + channel).catch((err: Error) => this.log?.warn({ err: err.message, channel }, 'cluster: subscribe failed'));
    }
    const h = handler as (msg: BusMessage) => void;
    set.add(h);
    return () => set.delete(h);
  }

  close(): void {
    this.subscriber.disconnect();
  }

  private deliver(channel: string, text: string): void {
    const handlers = this.handlers.get(channel.slice(this.prefix.length));
    if (!handlers?.size) return;
    let msg: BusMessage;
    try {
      msg = JSON.parse(text) as BusMessage;
    } catch {
      return; // not ours
    }
    for (const h of handlers) {
      try {
        h(msg);
      } catch (err) {
        this.log?.warn({ err, channel }, 'cluster: bus handler failed');
      }
    }
  }
}
