import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { ApqStore } from './apq-store.js';

/**
 * APQ's store shared by every instance through Redis, in front of which each instance keeps its
 * own LRU (`local`): a document registered through one instance is answered by all, and a document
 * an instance has seen costs no Redis round trip again. Keys are `<prefix>apq:<sha256>`, each with
 * a TTL so that Redis holds only documents still in use (a client whose hash expired sends the
 * document again, which registers it again).
 */
export interface RedisApqStoreOptions {
  /** `redis://` or `rediss://` URL (it may carry a password: never logged). */
  url: string;
  prefix: string;
  ttlSeconds: number;
  /** Longest wait for one Redis command; a slower answer is a miss. */
  commandTimeoutMs: number;
  local: ApqStore;
  logger: Logger;
}

export function createRedisApqStore(options: RedisApqStoreOptions): ApqStore {
  const { local, prefix, ttlSeconds } = options;
  const log = options.logger.child({ component: 'apq-redis' });
  const redis = new Redis(options.url, {
    connectTimeout: options.commandTimeoutMs,
    commandTimeout: options.commandTimeoutMs,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    // While disconnected a command fails at once (a miss) instead of waiting for a reconnect.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    showFriendlyErrorStack: false,
  });
  // One warning per outage; ioredis reconnects by itself.
  let failing = false;
  redis.on('error', (error: Error & { code?: string }) => log.debug({ code: error.code }, 'redis connection error'));
  const failed = (error: unknown, operation: 'get' | 'set') => {
    if (!failing) {
      failing = true;
      const code = (error as { code?: string }).code ?? (error as Error).name;
      log.warn({ operation, code }, 'APQ store unreachable: hashes are answered as not found until Redis is back');
    }
  };
  const succeeded = () => {
    if (failing) log.info('APQ store reachable again');
    failing = false;
  };
  const key = (hash: string) => `${prefix}apq:${hash}`;

  return {
    async get(hash) {
      const known = await local.get(hash);
      if (known !== null) return known;
      try {
        const document = await redis.get(key(hash));
        succeeded();
        if (document !== null) await local.set(hash, document);
        return document;
      } catch (error) {
        failed(error, 'get');
        return null;
      }
    },
    async set(hash, document) {
      await local.set(hash, document);
      try {
        await redis.set(key(hash), document, 'EX', ttlSeconds);
        succeeded();
      } catch (error) {
        failed(error, 'set');
      }
    },
    async close() {
      await local.close();
      redis.disconnect();
    },
  };
}
