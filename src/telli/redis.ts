import { Redis } from 'ioredis';

/**
 * The Redis connection of the telli budget and the contact cache (`REDIS_URL`), apart from the
 * event bus's two. Loaded only with REDIS_URL (ioredis is most of its weight).
 *
 * Nothing here may wait for Redis: a command fails at once while the connection is down (no
 * offline queue, no retry of a command) and after `commandTimeoutMs` when Redis is slow, and the
 * budget and the cache go on without it. ioredis reconnects by itself, every ≤ 2 s, forever.
 */
export interface SharedRedisOptions {
  url: string;
  commandTimeoutMs: number;
  /** Told when the connection is lost and when it is back (for the log). */
  onState?: (state: 'ready' | 'lost') => void;
}

export function connectSharedRedis(options: SharedRedisOptions): Redis {
  const client = new Redis(options.url, {
    lazyConnect: false,
    connectTimeout: options.commandTimeoutMs,
    commandTimeout: options.commandTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    showFriendlyErrorStack: false,
  });
  let ready = false;
  client.on('ready', () => {
    ready = true;
    options.onState?.('ready');
  });
  // Every failed reconnect emits 'error'; the outage itself is reported once, on 'close'.
  client.on('error', () => undefined);
  client.on('close', () => {
    if (!ready) return;
    ready = false;
    options.onState?.('lost');
  });
  return client;
}

/** Closes the connection: waits for replies in flight, or drops it when Redis is down. */
export async function closeSharedRedis(client: Redis): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
  else client.disconnect();
}
