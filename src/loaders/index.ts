import DataLoader from 'dataloader';
import {
  TELLI_BATCH_LIMIT,
  type AgentPage,
  type CallOptions,
  type CallPage,
  type ContactPageV2,
  type TelliAgent,
  type TelliCall,
  type TelliClient,
  type TelliContact,
  type TelliContactV2,
  ConcurrencyLimiter,
  recordIdKey,
} from '../telli/index.js';

/**
 * Most unbatched reads (v2 contacts, call lists, calls, agents) one GraphQL request keeps in
 * flight. None of them has a batch read, so N contacts cost N calls; the bound keeps one request
 * from taking the whole connection pool (64 sockets by default) and from bursting into telli's
 * (undocumented) rate limit.
 */
export const V2_CONCURRENCY = 8;

/**
 * Per-request loaders. Created only by the context factory, once per GraphQL request: a loader's
 * cache is that request's memo, so it must never outlive the request or be shared between callers
 * with different credentials.
 */
export interface Loaders {
  /** Full v1 contact by telli id (lower-case UUID). `null` when telli has no such contact. */
  contactById: DataLoader<string, TelliContact | null>;
  /** Full contact by external id: resolves the id, then joins the batch of `contactById`. */
  contactByExternalId: DataLoader<string, TelliContact | null>;
  /** v2 contact (typed properties, `updatedAt`) by telli id (lower-case UUID); one call per distinct id. */
  contactV2ById: DataLoader<string, TelliContactV2 | null>;
  /** v2 contact by external id; shares `contactV2ById`'s cache and concurrency bound. */
  contactV2ByExternalId: DataLoader<string, TelliContactV2 | null>;
  /** One page of telli's v2 contact list; the same page asked twice in an operation costs one call. */
  contactsPageV2: DataLoader<ContactPageKey, ContactPageV2, string>;
  /** One page of a contact's calls (`list-calls`): one call per distinct (contact, limit, cursor). */
  callsPage: DataLoader<CallPageKey, CallPage, string>;
  /** A call by id (`get-call`): one call per distinct id. */
  callById: DataLoader<string, TelliCall | null>;
  /** An agent by id: one read per distinct agent per request, however many calls name it. */
  agentById: DataLoader<string, TelliAgent | null>;
  /** One page of telli's agent list; listed agents prime `agentById`. */
  agentsPage: DataLoader<AgentPageKey, AgentPage, string>;
}

/** Observability hooks for loaders (metrics); must not throw. */
export interface LoaderHooks {
  /** A `load` answered from this request's memo: no upstream work. */
  onCacheHit?(loader: keyof Loaders): void;
  /** A `load` that needed the upstream (joined a batch). */
  onCacheMiss?(loader: keyof Loaders): void;
}

/** A DataLoader cache map that reports hits and misses. */
class CountingMap<V> extends Map<string, V> {
  constructor(
    private readonly loader: keyof Loaders,
    private readonly hooks: LoaderHooks,
  ) {
    super();
  }
  override get(key: string): V | undefined {
    const value = super.get(key);
    if (value === undefined) this.hooks.onCacheMiss?.(this.loader);
    else this.hooks.onCacheHit?.(this.loader);
    return value;
  }
  /**
   * DataLoader's `prime`, minus its lookup: `loader.prime` asks `get` first, which would count
   * every primed entry as a miss though nobody asked for it.
   */
  prime(key: string, value: V): void {
    if (!this.has(key)) this.set(key, value);
  }
}

/** Which page of `GET /v2/contacts`: telli's `limit` (1–100) and `cursor` (`null` for the first page). */
export interface ContactPageKey {
  limit: number;
  cursor: string | null;
}

/** Which page of `GET /v2/agents`: the same paging as `GET /v2/contacts`. */
export type AgentPageKey = ContactPageKey;

/** Which page of a contact's calls: telli's `limit` (1–100) and `cursor` (`null` for the first page). */
export interface CallPageKey {
  /** The telli contact id (a UUID; case does not matter). */
  contactId: string;
  limit: number;
  cursor: string | null;
}

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

export function createLoaders(telli: TelliClient, call: CallOptions, hooks: LoaderHooks = {}): Loaders {
  const contactById = new DataLoader<string, TelliContact | null>(
    async (ids) => {
      const results = await telli.getContactsBatch(ids, call);
      // DataLoader contract: one entry per key, in key order; an Error fails only its key.
      return ids.map((id) => {
        const result = results.get(id);
        return result === undefined ? null : result;
      });
    },
    // DataLoader splits a tick's keys into calls of at most this many: one upstream call per
    // 1000 distinct ids, however many fields, aliases or entities asked for them.
    { maxBatchSize: TELLI_BATCH_LIMIT, cacheMap: new CountingMap('contactById', hooks) },
  );

  const contactByExternalId = new DataLoader<string, TelliContact | null>(
    async (externalIds) => {
      // telli has no batch lookup by external id: resolve each (in parallel), then fetch the full
      // records through `contactById` so they share one batch call. The external-id endpoint's
      // reduced object lacks names, details and status, so it is only used for its id.
      const refs = await Promise.all(
        externalIds.map((externalId) => telli.getContactByExternalId(externalId, call).catch((error: Error) => error)),
      );
      return Promise.all(
        refs.map(async (ref) => {
          if (ref === null || ref instanceof Error) return ref;
          return contactById.load(ref.id.toLowerCase()).catch((error: Error) => error);
        }),
      );
    },
    { maxBatchSize: 100, cacheMap: new CountingMap('contactByExternalId', hooks) },
  );

  // One bound for every unbatched read of this request, whichever loader asks.
  const v2Limiter = new ConcurrencyLimiter(V2_CONCURRENCY);
  const limit = <T>(task: () => Promise<T>) => v2Limiter.run(task);

  const contactV2ById = new DataLoader<string, TelliContactV2 | null>((ids) =>
    // The loader's cache is what dedupes: each distinct id reaches this function once per request.
    Promise.all(ids.map((id) => limit(() => telli.getContactV2(id, call)).catch(asError))),
  );

  const contactV2ByExternalId = new DataLoader<string, TelliContactV2 | null>((externalIds) =>
    Promise.all(
      externalIds.map(async (externalId) => {
        try {
          const contact = await limit(() => telli.getContactV2ByExternalId(externalId, call));
          if (contact === null) return null;
          const id = contact.id.toLowerCase();
          // telli's docs sample of this endpoint omits `dataType` on properties. When it is
          // missing, read the contact by id (which carries it) rather than serve untyped properties.
          if (contact.properties.some((property) => property.dataType === null)) return await contactV2ById.load(id);
          // Same record as a by-id read: later v2 fields of this contact cost nothing.
          contactV2ById.prime(id, contact);
          return contact;
        } catch (error) {
          return asError(error);
        }
      }),
    ),
  );

  const contactsPageV2 = new DataLoader<ContactPageKey, ContactPageV2, string>(
    (pages) => Promise.all(pages.map((page) => limit(() => telli.listContactsV2(page, call)).catch(asError))),
    { cacheKeyFn: ({ limit: size, cursor }) => JSON.stringify([size, cursor]) },
  );

  const callById = new DataLoader<string, TelliCall | null, string>(
    (ids) => Promise.all(ids.map((id) => limit(() => telli.getCall(id, call)).catch(asError))),
    { cacheKeyFn: recordIdKey },
  );

  const callsPage = new DataLoader<CallPageKey, CallPage, string>(
    (pages) => Promise.all(pages.map((page) => limit(() => telli.listCalls(page, call)).catch(asError))),
    { cacheKeyFn: ({ contactId, limit: size, cursor }) => JSON.stringify([contactId.toLowerCase(), size, cursor]) },
  );

  const agentCache = new CountingMap<Promise<TelliAgent | null>>('agentById', hooks);
  const agentById = new DataLoader<string, TelliAgent | null, string>(
    (ids) => Promise.all(ids.map((id) => limit(() => telli.getAgent(id, call)).catch(asError))),
    { cacheKeyFn: recordIdKey, cacheMap: agentCache },
  );

  const agentsPage = new DataLoader<AgentPageKey, AgentPage, string>(
    (pages) =>
      Promise.all(
        pages.map(async (page) => {
          try {
            const result = await limit(() => telli.listAgents(page, call));
            // Listed agents are whole records: a `Call.agent` resolved after this page costs nothing.
            for (const listed of result.agents) {
              if (!(listed instanceof Error)) agentCache.prime(recordIdKey(listed.id), Promise.resolve(listed));
            }
            return result;
          } catch (error) {
            return asError(error);
          }
        }),
      ),
    { cacheKeyFn: ({ limit: size, cursor }) => JSON.stringify([size, cursor]) },
  );

  return {
    contactById,
    contactByExternalId,
    contactV2ById,
    contactV2ByExternalId,
    contactsPageV2,
    callsPage,
    callById,
    agentById,
    agentsPage,
  };
}

/**
 * After a write to the contact: this request reads it afresh. Its by-id records go; lookups by
 * external id and list pages may hold it under other keys, so they go whole (a mutation reads
 * few of them).
 */
export function forgetContact(loaders: Loaders, id: string): void {
  const key = id.toLowerCase();
  loaders.contactById.clear(key);
  loaders.contactV2ById.clear(key);
  loaders.contactByExternalId.clearAll();
  loaders.contactV2ByExternalId.clearAll();
  loaders.contactsPageV2.clearAll();
}
