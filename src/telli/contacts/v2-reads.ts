import type { z } from 'zod';
import { TelliContractError } from '../transport/errors.js';
import { describeIssues, v2ContactSchema, v2ListSchema, type TelliContactV2 } from './schemas.js';
import { httpError, type CallOptions, type Transport } from '../transport/transport.js';

/** telli's v2 contact reads: typed properties and `updatedAt`, no call state, no batch read. */
export const V2_ENDPOINTS = {
  contactV2: 'GET /v2/contacts/{id}',
  contactV2ByExternalId: 'GET /v2/external/contacts/{externalId}',
  contactsV2: 'GET /v2/contacts',
} as const;

/** One page of `GET /v2/contacts`, in telli's order. */
export interface ContactPageV2 {
  /** A record that breaks the contract is a `TelliContractError` in its slot; its neighbours are unaffected. */
  contacts: (TelliContactV2 | TelliContractError)[];
  hasNextPage: boolean;
  /** Pass back as `cursor` for the next page; `null` on the last page. */
  nextCursor: string | null;
}

export interface V2Reads {
  /** The v2 contact (typed properties, `updatedAt`), or `null` on 404. Throws a `TelliError` otherwise. */
  getContactV2(id: string, call: CallOptions): Promise<TelliContactV2 | null>;
  /** The v2 contact for an external id, or `null` on 404. Throws a `TelliError` otherwise. */
  getContactV2ByExternalId(externalId: string, call: CallOptions): Promise<TelliContactV2 | null>;
  /** One page of contacts. `limit` must be 1–100 (telli's range); `cursor` is telli's `nextCursor`. */
  listContactsV2(page: { limit: number; cursor: string | null }, call: CallOptions): Promise<ContactPageV2>;
}

export function createV2Reads(transport: Transport): V2Reads {
  return {
    getContactV2: (id, call) =>
      transport.readOne(V2_ENDPOINTS.contactV2, `/v2/contacts/${encodeURIComponent(id)}`, call, v2ContactSchema),

    getContactV2ByExternalId: (externalId, call) =>
      transport.readOne(
        V2_ENDPOINTS.contactV2ByExternalId,
        `/v2/external/contacts/${encodeURIComponent(externalId)}`,
        call,
        v2ContactSchema,
      ),

    async listContactsV2({ limit, cursor }, call) {
      const page = await readV2ListPage(transport, V2_ENDPOINTS.contactsV2, '/v2/contacts', v2ContactSchema, {
        limit,
        cursor,
        call,
      });
      return { contacts: page.items, hasNextPage: page.hasNextPage, nextCursor: page.nextCursor };
    },
  };
}

/**
 * One page of a v2 list endpoint (`/v2/contacts`, `/v2/agents`: the same envelope), each item
 * validated on its own — one broken record fails only itself, as a TelliContractError in its place,
 * never its page. `nextCursor` is `null` on the last page.
 */
export async function readV2ListPage<S extends z.ZodType>(
  transport: Transport,
  endpoint: string,
  path: string,
  schema: S,
  { limit, cursor, call }: { limit: number; cursor: string | null; call: CallOptions },
): Promise<{ items: (z.output<S> | TelliContractError)[]; hasNextPage: boolean; nextCursor: string | null }> {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor !== null) query.set('cursor', cursor);
  const response = await transport.send(endpoint, 'GET', `${path}?${query}`, call);
  if (response.status !== 200) throw httpError(endpoint, response);
  const page = v2ListSchema.safeParse(response.json);
  if (!page.success) throw new TelliContractError(endpoint, describeIssues(page.error));
  const { hasNextPage, nextCursor } = page.data.pageInfo;
  // Either would make a client that follows `endCursor` stop early or loop forever.
  if (hasNextPage && nextCursor === null) {
    throw new TelliContractError(endpoint, ['pageInfo.nextCursor: missing although hasNextPage is true']);
  }
  if (hasNextPage && nextCursor === cursor) {
    throw new TelliContractError(endpoint, ['pageInfo.nextCursor: did not advance']);
  }
  const items = page.data.data.map((raw, index) => {
    const parsed = schema.safeParse(raw);
    if (parsed.success) return parsed.data;
    return new TelliContractError(
      endpoint,
      describeIssues(parsed.error).map((issue) => `data[${index}].${issue}`),
    );
  });
  return { items, hasNextPage, nextCursor: hasNextPage ? nextCursor : null };
}
