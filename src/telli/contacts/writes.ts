import { z } from 'zod';
import { TelliOutcomeUnknownError } from '../transport/errors.js';
import { RETRY } from '../transport/retry-policy.js';
import { httpError, type CallOptions, type Transport } from '../transport/transport.js';
import { assertUnique, inChunks, sendChunk } from '../shared/bulk-writes.js';
import {
  contractError,
  INPUT_REFUSALS,
  itemRejection,
  rejectionOf,
  unknownOutcome,
  type ItemOutcome,
  type Written,
} from '../shared/write-outcomes.js';
import {
  V1_FIELD_NAMES,
  v1Item,
  V2_FIELD_NAMES,
  v2Body,
  type ContactPatch,
  type NewBulkContact,
  type NewContact,
} from './bodies.js';
import { settleLostCreate, type CreatedContact } from './lost-create.js';
import { v2ContactSchema, type TelliContactV2 } from './schemas.js';
import { createV2Reads } from './v2-reads.js';

/**
 * telli's contact writes: create, update and delete (v2) and the bulk create (v1). Creates are
 * retried only when telli certainly did not act (`RETRY.create`); a create whose answer was lost
 * is settled by its external id (`lost-create.ts`).
 */
export const CONTACT_WRITE_ENDPOINTS = {
  createContactV2: 'POST /v2/contacts',
  updateContactV2: 'PATCH /v2/contacts/{id}',
  deleteContactV2: 'DELETE /v2/contacts/{id}',
  addContactsBatch: 'POST /v1/add-contacts-batch',
} as const;

/** `POST /v1/add-contacts-batch` takes at most this many contacts (telli-api.md §2.6). */
export const ADD_CONTACTS_BATCH_LIMIT = 1000;

export interface ContactWrites {
  /**
   * `POST /v2/contacts`. A create is never sent twice blindly: when its outcome is unknown and it
   * has an external id, telli is asked once for that id — found (with the fields sent) is
   * success; absent means it did not land, and it is sent once more (a 409 then means the first
   * attempt landed after all). Without an external id an unknown outcome is a
   * `TelliOutcomeUnknownError`.
   */
  createContact: (contact: NewContact, call: CallOptions) => Promise<Written<CreatedContact>>;
  /** `PATCH /v2/contacts/{id}` with exactly the keys `patch` has. */
  updateContact: (id: string, patch: ContactPatch, call: CallOptions) => Promise<Written<TelliContactV2>>;
  /** `DELETE /v2/contacts/{id}`. */
  deleteContact: (id: string, call: CallOptions) => Promise<Written<true>>;
  /**
   * `POST /v1/add-contacts-batch`, chunked by 1000 and sent one chunk after the other. Results
   * in the order of `contacts`, matched by external id (which must be unique in `contacts`).
   */
  addContacts: (
    contacts: readonly NewBulkContact[],
    call: CallOptions,
  ) => Promise<ItemOutcome<{ contactId: string }>[]>;
}

const addBatchSchema = z.object({
  result: z.array(z.unknown()),
});
const addBatchItemSchema = z.object({
  external_contact_id: z.string(),
  status: z.string(),
  contact_id: z.string().min(1).nullish(),
  error: z.string().nullish(),
});

export function createContactWrites(transport: Transport): ContactWrites {
  const E = CONTACT_WRITE_ENDPOINTS;

  async function postContact(sent: NewContact, call: CallOptions): Promise<Written<CreatedContact>> {
    const response = await transport.send(E.createContactV2, 'POST', '/v2/contacts', call, RETRY.create, v2Body(sent));
    if (response.status >= 200 && response.status < 300) {
      const parsed = v2ContactSchema.safeParse(response.json);
      // telli created it, but the answer says not which contact: as good as a lost answer.
      if (!parsed.success) throw unknownOutcome(E.createContactV2, contractError(E.createContactV2, parsed.error));
      return { ok: true, value: { contact: parsed.data, via: 'answer' } };
    }
    if (INPUT_REFUSALS.has(response.status))
      return { ok: false, rejection: rejectionOf(response, call, V2_FIELD_NAMES) };
    throw httpError(E.createContactV2, response);
  }

  // Straight to telli, not through the shared reads: a lookup must not join a read from before the create.
  const { getContactV2ByExternalId: lookUp } = createV2Reads(transport);

  return {
    async createContact(contact, call) {
      try {
        return await postContact(contact, call);
      } catch (error) {
        const { externalId } = contact;
        if (!(error instanceof TelliOutcomeUnknownError) || externalId === undefined) throw error;
        return settleLostCreate({ ...contact, externalId }, error, call, { post: postContact, lookUp });
      }
    },

    async updateContact(id, patch, call) {
      const endpoint = E.updateContactV2;
      const response = await transport.send(
        endpoint,
        'PATCH',
        `/v2/contacts/${encodeURIComponent(id)}`,
        call,
        RETRY.idempotentWrite,
        v2Body(patch),
      );
      if (response.status >= 200 && response.status < 300) {
        const parsed = v2ContactSchema.safeParse(response.json);
        if (!parsed.success) throw unknownOutcome(endpoint, contractError(endpoint, parsed.error), true);
        return { ok: true, value: parsed.data };
      }
      if (INPUT_REFUSALS.has(response.status))
        return { ok: false, rejection: rejectionOf(response, call, V2_FIELD_NAMES) };
      throw httpError(endpoint, response);
    },

    async deleteContact(id, call) {
      const endpoint = E.deleteContactV2;
      const response = await transport.send(
        endpoint,
        'DELETE',
        `/v2/contacts/${encodeURIComponent(id)}`,
        call,
        RETRY.idempotentWrite,
      );
      if (response.status >= 200 && response.status < 300) return { ok: true, value: true };
      // Retried after an attempt that may have deleted it: gone either way, which is what was asked.
      if (response.status === 404 && response.earlierAttemptMayHaveActed) return { ok: true, value: true };
      if (INPUT_REFUSALS.has(response.status))
        return { ok: false, rejection: rejectionOf(response, call, V2_FIELD_NAMES) };
      throw httpError(endpoint, response);
    },

    async addContacts(contacts, call) {
      assertUnique(
        contacts.map((c) => c.externalId),
        'externalId',
      );
      const endpoint = E.addContactsBatch;
      return inChunks(contacts, ADD_CONTACTS_BATCH_LIMIT, (chunk) =>
        sendChunk(
          transport,
          {
            endpoint,
            path: '/v1/add-contacts-batch',
            body: { contacts: chunk.map(v1Item) },
            call,
            retry: RETRY.create,
            // Every item has an external id, unique per account: sending it again cannot duplicate it.
            safeToRetry: true,
            names: V1_FIELD_NAMES,
          },
          chunk,
          (c) => c.externalId,
          {
            entries: (json) => {
              const parsed = addBatchSchema.safeParse(json);
              return parsed.success ? parsed.data.result : null;
            },
            entry: (raw) => {
              const item = addBatchItemSchema.safeParse(raw);
              if (!item.success) return null;
              const { external_contact_id: key, status, contact_id: contactId, error } = item.data;
              if (status === 'success' && contactId) return [key, { status: 'done', value: { contactId } }];
              if (status === 'success') return null; // no id: the item stays unattributed (failed)
              return [key, { status: 'refused', rejection: itemRejection(error, null, call, V1_FIELD_NAMES) }];
            },
          },
        ),
      );
    },
  };
}
