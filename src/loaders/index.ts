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

export function createLoaders(telli: TelliClient, call: CallOptions): Loaders {
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
    { maxBatchSize: TELLI_BATCH_LIMIT },
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
    { maxBatchSize: 100 },
  );

  return { contactById, contactByExternalId };
}
