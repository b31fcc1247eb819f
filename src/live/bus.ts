import { createPubSub } from 'graphql-yoga';
import type { MemoryDedupe } from './dedupe.js';
import type { LiveEvent } from './events.js';

/**
 * The event bus: how a webhook received by one instance reaches the subscribers (and the caches)
 * of every instance, once. Yoga's `createPubSub` on either transport:
 *
 * - in process (no `REDIS_URL`): the default `EventTarget`; dedupe in memory;
 * - Redis (`REDIS_URL`): `@graphql-yoga/redis-event-target` over ioredis, so every instance
 *   subscribed to the channel receives every event (its own included); dedupe in Redis. That
 *   is `redis-bus.ts`, imported only when REDIS_URL is set (ioredis is most of its weight).
 *
 * Publishing is `publishOnce`: the delivery id is claimed and the event published together (one
 * Lua script in Redis, see `dedupe.ts`), and it resolves only when that has happened — the
 * webhook route answers 2xx only then, so an event Svix was told we have is on the bus. The Redis
 * event target's own `dispatchEvent` would fire the PUBLISH without reporting whether it arrived;
 * the script publishes the same wire format (the topic as channel, the JSON of the event), which
 * the event target reads on every instance.
 */
export interface LiveBus {
  /** Claims `event.deliveryId` and publishes the event, together; rejects with BusUnavailableError when it cannot. */
  publishOnce(event: LiveEvent): Promise<'published' | 'duplicate'>;
  /** Every message published on the bus, by any instance, from now on (unchecked: see `parseLiveEvent`). */
  subscribe(): AsyncIterableIterator<unknown> & { return(): Promise<IteratorResult<unknown>> };
  /**
   * 'ok', or why the bus cannot take or deliver events right now (readiness). With Redis this
   * exercises what a webhook needs — a write, within the command timeout — not just the
   * connections: a Redis that is up but cannot write (out of memory under `noeviction`, blocked)
   * refuses every webhook too.
   */
  health(): Promise<string>;
  close(): Promise<void>;
}

/** The bus cannot take an event now (Redis unreachable): the webhook is refused so that Svix redelivers. */
export class BusUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(`event bus unavailable: ${reason}`);
    this.name = 'BusUnavailableError';
  }
}

export type Topics = Record<string, [message: unknown]>;

/** One instance: events and dedupe in this process. */
export function createMemoryBus(options: { topic: string; dedupe: MemoryDedupe }): LiveBus {
  const { topic, dedupe } = options;
  const pubsub = createPubSub<Topics>();
  return {
    publishOnce(event) {
      if (!dedupe.claim(event.deliveryId)) return Promise.resolve('duplicate');
      pubsub.publish(topic, event);
      return Promise.resolve('published');
    },
    subscribe: () => pubsub.subscribe(topic),
    health: () => Promise.resolve('ok'),
    close: () => Promise.resolve(),
  };
}
