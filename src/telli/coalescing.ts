import { shareAgentReads } from './agents.js';
import { shareCallReads } from './calls.js';
import type { TelliClient } from './client.js';
import type { RedisContactCache } from './contacts/redis-cache.js';
import { shareContactReads } from './contacts/shared-reads.js';
import type { TelliBudget } from './transport/budget.js';
import type { TelliClientHooks } from './transport/transport.js';

export interface ContactCacheOptions {
  /**
   * How long a contact telli returned may be served again to callers with the same API key,
   * without asking telli. 0 turns the cache off.
   */
  ttlMs: number;
  /** Most contacts kept, across all keys; the least recently used go first. Also bounds the agent cache. */
  maxEntries: number;
  /**
   * How long an agent telli returned (by id or listed) may be served again to callers with the
   * same API key. Agents rarely change; 0 (the default) turns this cache off.
   */
  agentTtlMs?: number;
  /** Injected for tests; `Date.now` otherwise. */
  now?: () => number;
  /** Metrics of the shared batch calls (ids and callers per call, time waited). */
  hooks?: Pick<TelliClientHooks, 'onSharedBatch'>;
  /** Partial batch calls per key in flight before ids collect (`PARTIAL_CALLS_IN_FLIGHT`; tests use 1). */
  partialCallsInFlight?: number;
  /**
   * The contact cache in Redis (`REDIS_URL` with `ttlMs` > 0), shared by every instance, instead
   * of the one in this process. `maxEntries` does not bound it: entries expire after `ttlMs`.
   */
  redisCache?: RedisContactCache;
  /**
   * The budget the inner client's calls draw from (`TELLI_RATE_LIMIT_PER_SECOND`): a shared batch
   * read takes its slot while it still collects ids, so waiting for the budget fills the call.
   */
  budget?: TelliBudget;
}

/**
 * Invalidation of what one process shares about a contact. Separate from the reads so that
 * whatever learns of a change — a write of this process now, a webhook or another process
 * later — can call it without knowing how the sharing works.
 */
export interface ContactInvalidation {
  /**
   * Drops the contact, for this API key only, from the TTL cache and from single-flight: a read
   * in flight may have been answered before the change, so later callers start their own, and
   * its answer is not cached. `externalIds` also drop lookups of those external ids in flight.
   */
  forget(apiKey: string, contactId: string, externalIds?: readonly string[]): void;
  /**
   * The same for every API key — what a telli webhook needs: it says which contact changed, not
   * for whose key it was read. Also drops that contact's call lists in flight (a `call_ended`
   * adds a call).
   */
  forgetForEveryKey(contactId: string, externalIds?: readonly string[]): void;
}

/** The telli client with reads shared across requests (see `createCoalescingClient`). */
export type SharedReadsClient = TelliClient & ContactInvalidation;

/**
 * Reads shared across the GraphQL requests of one app, below the per-request DataLoaders. Each
 * resource says how its reads are shared, beside its endpoints:
 *
 * - contacts (`contacts/shared-reads.ts`): group commit with single-flight of the v1 batch read
 *   (`contacts/group-commit.ts`), an optional TTL cache, single-flight of the external-id lookup;
 * - calls (`calls.ts`): single-flight of list-calls and get-call;
 * - agents (`agents.ts`): single-flight, and an optional TTL cache of their own.
 *
 * Everything is keyed by (API key, id): nothing is ever shared between keys. A caller that gives
 * up (deadline, client gone) leaves the shared call with UPSTREAM_TIMEOUT for itself; the call is
 * aborted only when every caller waiting on it has left. A shared call carries the request id of
 * the request that started it; a batch read's deadline is the latest of the callers it serves.
 * Writes and every other read pass through unshared.
 *
 * Created once per app (see `createLayer`); holds no module-level state.
 */
export function createCoalescingClient(
  inner: TelliClient,
  options: ContactCacheOptions = { ttlMs: 0, maxEntries: 0 },
): SharedReadsClient {
  const now = options.now ?? Date.now;
  const contacts = shareContactReads(inner, {
    ttlMs: options.ttlMs,
    maxEntries: options.maxEntries,
    now,
    hooks: options.hooks,
    partialCallsInFlight: options.partialCallsInFlight,
    redisCache: options.redisCache,
    budget: options.budget,
  });
  const calls = shareCallReads(inner);
  const agents = shareAgentReads(inner, { ttlMs: options.agentTtlMs ?? 0, maxEntries: options.maxEntries, now });
  /**
   * A write to existing contacts answers only once their entries in the Redis cache have stopped
   * counting, so that a read the caller sends next — to any instance — is fresh. Whatever the
   * write's outcome: one whose answer was lost may have happened.
   */
  const invalidating =
    <A extends unknown[], R>(write: (...args: A) => Promise<R>, idsOf: (...args: A) => readonly string[]) =>
    (...args: A): Promise<R> => {
      const done = () => contacts.invalidateShared(idsOf(...args));
      return write(...args).then(
        (result) => done().then(() => result),
        (error: unknown) => done().then(() => Promise.reject(error)),
      );
    };
  const writes = options.redisCache && {
    updateContact: invalidating(inner.updateContact, (id) => [id]),
    deleteContact: invalidating(inner.deleteContact, (id) => [id]),
    scheduleCall: invalidating(inner.scheduleCall, (request) => [request.contactId]),
    scheduleCalls: invalidating(inner.scheduleCalls, (requests) => requests.map((r) => r.contactId)),
    removeFromDialer: invalidating(inner.removeFromDialer, (ids) => ids),
  };

  return {
    ...inner,
    ...writes,
    ...contacts.reads,
    ...calls.reads,
    ...agents,

    forget(apiKey, contactId, externalIds = []) {
      contacts.forget(apiKey, contactId, externalIds);
    },

    forgetForEveryKey(contactId, externalIds = []) {
      contacts.forgetForEveryKey(contactId, externalIds);
      calls.forgetContact(contactId);
    },
  };
}
