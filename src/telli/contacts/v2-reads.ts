import type { TelliContractError } from '../transport/errors.js';
import { RETRY } from '../transport/retry-policy.js';
import type { CallOptions, Transport } from '../transport/transport.js';
import { readV2ListPage } from '../shared/list-page.js';
import { v2ContactSchema, type TelliContactV2 } from './schemas.js';

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
  getContactV2: (id: string, call: CallOptions) => Promise<TelliContactV2 | null>;
  /** The v2 contact for an external id, or `null` on 404. Throws a `TelliError` otherwise. */
  getContactV2ByExternalId: (externalId: string, call: CallOptions) => Promise<TelliContactV2 | null>;
  /** One page of contacts. `limit` must be 1–100 (telli's range); `cursor` is telli's `nextCursor`. */
  listContactsV2: (page: { limit: number; cursor: string | null }, call: CallOptions) => Promise<ContactPageV2>;
}

export function createV2Reads(transport: Transport): V2Reads {
  return {
    getContactV2: (id, call) =>
      transport.readOne(
        V2_ENDPOINTS.contactV2,
        `/v2/contacts/${encodeURIComponent(id)}`,
        call,
        v2ContactSchema,
        RETRY.read,
      ),

    getContactV2ByExternalId: (externalId, call) =>
      transport.readOne(
        V2_ENDPOINTS.contactV2ByExternalId,
        `/v2/external/contacts/${encodeURIComponent(externalId)}`,
        call,
        v2ContactSchema,
        RETRY.lookup,
      ),

    async listContactsV2({ limit, cursor }, call) {
      const page = await readV2ListPage(
        transport,
        V2_ENDPOINTS.contactsV2,
        '/v2/contacts',
        v2ContactSchema,
        { limit, cursor, call },
        RETRY.read,
      );
      return { contacts: page.items, hasNextPage: page.hasNextPage, nextCursor: page.nextCursor };
    },
  };
}
