import DataLoader from 'dataloader';
import { TELLI_BATCH_LIMIT, type CallOptions, type TelliClient, type TelliContact } from '../telli/index.js';

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
}

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
        refs.map((ref) => {
          if (ref === null || ref instanceof Error) return ref;
          return contactById.load(ref.id.toLowerCase()).catch((error: Error) => error);
        }),
      );
    },
    { maxBatchSize: 100, cacheMap: new CountingMap('contactByExternalId', hooks) },
  );

  return { contactById, contactByExternalId };
}
