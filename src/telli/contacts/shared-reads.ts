import { SingleFlight, scoped } from '../shared/single-flight.js';
import { TtlCache } from '../shared/ttl-cache.js';
import type { TelliBudget } from '../transport/budget.js';
import type { TelliClientHooks } from '../transport/transport.js';
import { GroupCommit } from './group-commit.js';
import type { RedisContactCache } from './redis-cache.js';
import type { TelliContact } from './schemas.js';
import { V1_ENDPOINTS, type ContactResult, type V1Reads } from './v1-reads.js';

/** How contacts are shared across requests (see `createCoalescingClient` for the whole). */
export interface SharedContactOptions {
  /** How long a contact telli returned may be served again for the same key; 0: no cache. */
  ttlMs: number;
  /** Most contacts kept, across all keys; the least recently used go first. */
  maxEntries: number;
  now: () => number;
  hooks: Pick<TelliClientHooks, 'onSharedBatch'> | undefined;
  /** Partial batch calls per key in flight before ids collect (`PARTIAL_CALLS_IN_FLIGHT`; tests use 1). */
  partialCallsInFlight: number | undefined;
  /** The cache in Redis, shared by every instance; it replaces the cache in this process. */
  redisCache?: RedisContactCache | undefined;
  /** The telli budget: a batch keeps collecting ids until its slot comes (`group-commit.ts`). */
  budget?: TelliBudget | undefined;
}

/** Contact reads shared across requests, and how to drop what they hold about one contact. */
export interface SharedContactReads {
  reads: Pick<V1Reads, 'getContactsBatch' | 'getContactByExternalId'>;
  /** See `ContactInvalidation.forget`. */
  forget(apiKey: string, contactId: string, externalIds: readonly string[]): void;
  /** See `ContactInvalidation.forgetForEveryKey` (call lists are the calls' own: `calls.ts`). */
  forgetForEveryKey(contactId: string, externalIds: readonly string[]): void;
  /**
   * After a write to these contacts: their entries in the Redis cache stop counting for every
   * instance and key; resolves once Redis has it (at once without the Redis cache).
   */
  invalidateShared(contactIds: readonly string[]): Promise<void>;
}

/**
 * The contacts' share of the shared reads:
 *
 * - **Group commit with single-flight** of v1 batch reads (`group-commit.ts`): while an API key
 *   has a call in flight, ids asked for by other operations collect into that key's next call
 *   instead of starting calls of their own (up to 1000 per call); with nothing in flight a read
 *   goes out at once. An id already on its way is joined, not asked again.
 * - **Optional TTL cache** (off by default) of contacts, per API key, bounded, least recently
 *   used first out. Only contacts are cached: never an error, and never "not found" (docs/contacts.md, Shared reads).
 * - The external-id lookup is single-flight per (API key, external id).
 */
export function shareContactReads(inner: V1Reads, options: SharedContactOptions): SharedContactReads {
  const { ttlMs, now, redisCache } = options;
  const cache = ttlMs > 0 && !redisCache ? new TtlCache<TelliContact>(ttlMs, options.maxEntries) : undefined;
  // Errors and absences are not kept: both are likely to change soon (docs/contacts.md).
  const found = (result: ContactResult | undefined): result is TelliContact => !!result && !(result instanceof Error);
  const remember: ConstructorParameters<typeof GroupCommit>[2] = redisCache
    ? (apiKey, ids, results, sent) => {
        const { versions } = sent;
        if (!versions) return;
        const entries = [];
        for (const id of ids) {
          const contact = results.get(id);
          const version = versions.get(id);
          if (found(contact) && version !== undefined) entries.push({ id, contact, version });
        }
        redisCache.store(apiKey, entries, sent.sentAtEpoch);
      }
    : cache &&
      ((apiKey, ids, results) => {
        const at = now();
        for (const id of ids) {
          const result = results.get(id);
          if (found(result)) cache.set(scoped(apiKey, id), result, at);
        }
      });
  const budget = options.budget;
  const batches = new GroupCommit(
    inner,
    options.hooks,
    remember,
    options.partialCallsInFlight,
    budget && ((apiKey, call) => budget.acquire(apiKey, V1_ENDPOINTS.contactsBatch, call)),
  );
  const lookups = new SingleFlight();

  return {
    reads: {
      getContactsBatch(ids, call) {
        const { apiKey } = call;
        // No key: the inner client fails it before any I/O, with the usual error.
        if (!apiKey) return inner.getContactsBatch(ids, call);
        const out = new Map<string, ContactResult>();
        if (redisCache) {
          const wanted = ids.map(lowerCase);
          return redisCache.lookup(apiKey, [...new Set(wanted)]).then(({ hits, versions }) => {
            if (hits.size === 0) return batches.read(apiKey, wanted, out, call, versions);
            for (const [id, contact] of hits) out.set(id, contact);
            const missing = wanted.filter((id) => !hits.has(id));
            return missing.length === 0 ? out : batches.read(apiKey, missing, out, call, versions);
          });
        }
        if (!cache) return batches.read(apiKey, ids.map(lowerCase), out, call);
        const wanted: string[] = [];
        const at = now();
        for (const raw of ids) {
          const id = raw.toLowerCase();
          const cached = cache.get(scoped(apiKey, id), at);
          if (cached) out.set(id, cached);
          else wanted.push(id);
        }
        return wanted.length === 0 ? Promise.resolve(out) : batches.read(apiKey, wanted, out, call);
      },

      getContactByExternalId: (externalId, call) =>
        lookups.run(externalLookup(externalId), V1_ENDPOINTS.contactByExternalId, call, (c) =>
          inner.getContactByExternalId(externalId, c),
        ),
    },

    forget(apiKey, contactId, externalIds) {
      const id = contactId.toLowerCase();
      cache?.delete(scoped(apiKey, id));
      void redisCache?.invalidate([id]);
      batches.forget(apiKey, id);
      for (const externalId of externalIds) lookups.forget(apiKey, externalLookup(externalId));
    },

    forgetForEveryKey(contactId, externalIds) {
      // Keys are `apiKey\n…`: a scan, bounded by the cache's size plus the reads in flight —
      // about a millisecond at the default 10 000 entries, once per webhook event.
      const id = contactId.toLowerCase();
      const suffix = `\n${id}`;
      cache?.deleteWhere((key) => key.endsWith(suffix));
      // Every instance gets the event and calls this: the first bump is the one that counts.
      void redisCache?.invalidate([id]);
      batches.forgetForEveryKey(id);
      if (externalIds.length === 0) return;
      const suffixes = externalIds.map((externalId) => `\n${externalLookup(externalId)}`);
      lookups.forgetWhere((key) => suffixes.some((lookup) => key.endsWith(lookup)));
    },

    invalidateShared: (contactIds) => redisCache?.invalidate(contactIds.map(lowerCase)) ?? Promise.resolve(),
  };
}

/** What single-flight calls the lookup of an external id (`forget` drops it after a write). */
function externalLookup(externalId: string): string {
  return `external\n${externalId}`;
}

const lowerCase = (id: string) => id.toLowerCase();
