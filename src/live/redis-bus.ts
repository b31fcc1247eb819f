import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub } from 'graphql-yoga';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger.js';
import { BusUnavailableError, type LiveBus, type Topics } from './bus.js';
import { CLAIM_AND_PUBLISH_SCRIPT, dedupeKey } from './dedupe.js';

/** The event bus over Redis (see `bus.ts`): every instance subscribes to one channel. */
export interface RedisBusOptions {
  /** `redis://` or `rediss://` URL (it may carry a password: never logged). */
  url: string;
  /** Prefix of every key and channel, so that deployments can share one Redis. */
  prefix: string;
  /** How long a delivery id is remembered. */
  dedupeTtlSeconds: number;
  /** Longest wait for one Redis command; the webhook answers 503 after it. */
  commandTimeoutMs: number;
  logger: Logger;
}

/** The key readiness checks write: one per deployment (prefix), shared by its instances. */
export function readinessKey(prefix: string): string {
  return `${prefix}readiness`;
}
const READINESS_KEY_TTL_MS = 60_000;

/** The channel every instance subscribes to, and its name. */
export function busTopic(prefix: string): string {
  return `${prefix}events`;
}

interface ClaimingRedis extends Redis {
  claimAndPublish(key: string, ttlSeconds: number, channel: string, message: string): Promise<number>;
}

/**
 * Many instances: two connections per instance (a connection in subscriber mode cannot run other
 * commands). ioredis reconnects by itself, every ≤ 2 s, forever; the subscription is renewed
 * after each reconnect, and the bus reports healthy only once Redis has confirmed it — so
 * `/readiness` turns 200 only when this instance will receive what others publish.
 */
export function createRedisBus(options: RedisBusOptions): LiveBus {
  const { prefix, logger } = options;
  const log = logger.child({ component: 'redis' });
  const topic = busTopic(prefix);
  const common: RedisOptions = {
    // Redis down must not stop the layer from starting: it serves queries meanwhile.
    lazyConnect: false,
    connectTimeout: options.commandTimeoutMs,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    // ioredis would print unhandled 'error' events itself; they are logged below instead.
    showFriendlyErrorStack: false,
  };
  const publisher = new Redis(options.url, {
    ...common,
    // Fail at once while disconnected (→ 503, Svix redelivers) rather than queue a webhook
    // answer behind a reconnect.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs,
  }) as ClaimingRedis;
  publisher.defineCommand('claimAndPublish', { numberOfKeys: 1, lua: CLAIM_AND_PUBLISH_SCRIPT });
  const subscriber = new Redis(options.url, {
    ...common,
    // Renewed by `renew` below, which knows when Redis has confirmed it.
    autoResubscribe: false,
    // SUBSCRIBE waits for the connection; it must never fail for having waited.
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
  });

  let subscribed = false;
  let closing = false;
  let lastProblem = 'connecting';
  const watch = (client: Redis, name: 'publisher' | 'subscriber') => {
    let healthy = false;
    client.on('ready', () => {
      healthy = true;
      log.info({ connection: name }, 'redis connected');
    });
    // One warning per outage; the failed reconnect attempts (every ≤ 2 s) are debug lines.
    client.on('error', (error: Error & { code?: string }) => {
      lastProblem = `unreachable (${error.code ?? error.name})`;
      log.debug({ connection: name, code: error.code }, 'redis connection error');
    });
    client.on('close', () => {
      if (name === 'subscriber') subscribed = false;
      if (!healthy) return;
      healthy = false;
      lastProblem = 'connection lost';
      if (!closing) log.warn({ connection: name }, 'redis connection lost; reconnecting');
    });
  };
  watch(publisher, 'publisher');
  watch(subscriber, 'subscriber');
  const renew = () => {
    subscriber.subscribe(topic).then(
      () => (subscribed = true),
      (error: unknown) => {
        if (!closing)
          log.warn({ err: error instanceof Error ? error.message : String(error) }, 'redis subscribe failed');
      },
    );
  };
  subscriber.on('ready', renew);

  // The event target issues SUBSCRIBE/UNSUBSCRIBE without handling their promises; an
  // unhandled rejection (e.g. "Connection is closed" during shutdown) would end the process.
  // It gets the subscriber's message events and calls that report failures in the log instead.
  const guardedSubscriber = {
    on: (event: string, listener: (...args: unknown[]) => void) => subscriber.on(event, listener),
    subscribe: (...channels: string[]) =>
      subscriber.subscribe(...channels).catch((error: unknown) => {
        if (!closing)
          log.warn({ err: error instanceof Error ? error.message : String(error) }, 'redis subscribe failed');
      }),
    unsubscribe: (...channels: string[]) => subscriber.unsubscribe(...channels).catch(() => undefined),
  };
  const pubsub = createPubSub<Topics>({
    eventTarget: createRedisEventTarget({
      publishClient: publisher,
      // Only `on`, `subscribe` and `unsubscribe` are used of the subscribe client.
      subscribeClient: guardedSubscriber as unknown as Redis,
    }),
  });

  return {
    async publishOnce(event) {
      if (publisher.status !== 'ready') throw new BusUnavailableError(lastProblem);
      try {
        const claimed = await publisher.claimAndPublish(
          dedupeKey(prefix, event.deliveryId),
          options.dedupeTtlSeconds,
          topic,
          JSON.stringify(event),
        );
        if (claimed === -1) throw new BusUnavailableError('no instance is subscribed to the event channel');
        return claimed === 1 ? 'published' : 'duplicate';
      } catch (error) {
        if (error instanceof BusUnavailableError) throw error;
        throw new BusUnavailableError(error instanceof Error ? error.message : String(error));
      }
    },
    subscribe: () => pubsub.subscribe(topic),
    async health() {
      if (publisher.status !== 'ready' || subscriber.status !== 'ready' || !subscribed) return lastProblem;
      // A write as a webhook's claim makes one, on a key of its own that expires by itself.
      try {
        await publisher.set(readinessKey(prefix), String(Date.now()), 'PX', READINESS_KEY_TTL_MS);
        return 'ok';
      } catch (error) {
        // Redis's own words ("OOM command not allowed…", "Command timed out"): they carry no secret.
        const reason = error instanceof Error ? error.message : String(error);
        return `write failed (${reason.length > 120 ? `${reason.slice(0, 120)}…` : reason})`;
      }
    },
    async close() {
      closing = true;
      // quit() waits for replies in flight; disconnect() stops the reconnect loop when Redis is down.
      await Promise.all(
        [publisher, subscriber].map(async (client) =>
          client.status === 'ready' ? client.quit().catch(() => client.disconnect()) : client.disconnect(),
        ),
      );
    },
  };
}
