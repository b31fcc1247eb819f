import { randomUUID } from 'node:crypto';
import { put, remove, type Account } from '../account.js';
import type { Overrides } from '../overrides.js';
import {
  contactAt,
  decodeOffset,
  isObject,
  json,
  notFound,
  pageLimit,
  v1Error,
  v2Error,
  v2Invalid,
  v2NotFound,
  v2Page,
  type Route,
  type RouteContext,
  type SandboxResponse,
  type TelliObject,
  UUID,
} from '../wire.js';
import {
  checkV1Contact,
  checkV2Contact,
  type ContactFields,
  type PropertyWrite,
  type V1ContactInput,
} from './input.js';
import { PROPERTY_DEFINITIONS, propertyFromDefinition, type SandboxContact, type SandboxProperty } from './model.js';
import { toV1Reduced, toV2, toV2Definition } from './payloads.js';

/**
 * telli's contact endpoints: the v1 reads (batch, by id, by external id) and creates, and the v2
 * contact and property-definition endpoints.
 */

/** `POST /v1/get-contacts-batch` (§2.4). */
export const BATCH_LIMIT = 1000;
/** `POST /v1/add-contacts-batch` (§2.6). */
export const ADD_CONTACTS_BATCH_LIMIT = 1000;
/** The time zone of every sandbox account: v1 add-contact falls back to it (§2.5). */
export const ACCOUNT_TIMEZONE = 'Europe/Berlin';
const EXTERNAL_ID_TAKEN = 'External ID already exists, must be unique';

const definitions = new Map(PROPERTY_DEFINITIONS.map((d) => [d.key, d]));

/** Later than now and than `previous`: `updatedAt` must move even within one millisecond. */
function stamp(previous?: string): string {
  const floor = previous === undefined ? 0 : Date.parse(previous) + 1;
  return new Date(Math.max(Date.now(), floor)).toISOString();
}

/** Whether another contact of the account already has this external id. */
const externalIdTaken = (account: Account, externalId: string | null | undefined, self?: SandboxContact) => {
  if (externalId === null || externalId === undefined) return false;
  const owner = account.byExternalId.get(externalId);
  return owner !== undefined && owner.id !== self?.id;
};

const typed = (writes: readonly PropertyWrite[]): SandboxProperty[] =>
  writes.map((w) => propertyFromDefinition(w.definition, w.value));

/** PATCH `properties`: the given keys are set (in place, or appended), a `null` value removes one. */
function mergeProperties(current: readonly SandboxProperty[], writes: readonly PropertyWrite[]): SandboxProperty[] {
  const byKey = new Map(current.map((p) => [p.key, p]));
  for (const write of writes) {
    if (write.value === null) byKey.delete(write.definition.key);
    else byKey.set(write.definition.key, propertyFromDefinition(write.definition, write.value));
  }
  return [...byKey.values()];
}

function newContact(fields: ContactFields, extra: Pick<SandboxContact, 'contactDetails' | 'properties'>) {
  const now = stamp();
  const contact: SandboxContact = {
    id: randomUUID(),
    ...fields,
    createdAt: now,
    updatedAt: now,
    inCallSince: null,
    reachedAt: null,
    nextCallAt: null,
    callAttempts: 0,
    ...extra,
  };
  return contact;
}

export interface ContactRoutesOptions {
  overrides: Overrides;
  /** Told the `contact_ids.length` of every batch read, in arrival order (`stats.batchSizes`). */
  onBatch: (size: number) => void;
}

export function createContactRoutes({ overrides, onBatch }: ContactRoutesOptions): Route[] {
  const { v1Full, v2Of } = overrides;
  const v2Answer = (c: SandboxContact | undefined): SandboxResponse => {
    const body = c && v2Of(c);
    return body ? json(200, body) : notFound();
  };

  // --- writes ---------------------------------------------------------------------------------

  /**
   * v1 `contact_details` and v2 `properties` are separate stores, as in the seed: a v1 write sets
   * only `contact_details` (a created contact has no properties) and a v2 write only
   * `properties` (a created contact has empty `contact_details`). telli's mapping between the two
   * is not documented (§5), and inventing one would let the layer depend on it.
   */
  function createV2({ account, body }: RouteContext): SandboxResponse {
    if (!('json' in body)) return v2Error(400, 'INVALID_JSON', 'Body must be JSON');
    const input = checkV2Contact(body.json, 'complete', definitions);
    if (!input.ok) return v2Invalid(input.message);
    const fields = input.value.fields as ContactFields;
    if (externalIdTaken(account, fields.externalId))
      return v2Error(409, 'EXTERNAL_ID_CONFLICT', `A contact with externalId "${fields.externalId}" already exists`);
    const contact = newContact(fields, { contactDetails: {}, properties: typed(input.value.properties ?? []) });
    put(account, undefined, contact);
    return json(201, toV2(contact));
  }

  function updateV2({ account, params, body }: RouteContext, mode: 'complete' | 'partial'): SandboxResponse {
    const contact = contactAt(account, params[0]);
    if (!contact) return v2NotFound();
    if (!('json' in body)) return v2Error(400, 'INVALID_JSON', 'Body must be JSON');
    const input = checkV2Contact(body.json, mode, definitions);
    if (!input.ok) return v2Invalid(input.message);
    const { fields, properties } = input.value;
    if (externalIdTaken(account, fields.externalId, contact))
      return v2Error(409, 'EXTERNAL_ID_CONFLICT', `Another contact has externalId "${fields.externalId}"`);
    const next: SandboxContact = {
      ...contact,
      ...fields,
      properties:
        mode === 'complete'
          ? typed(properties ?? [])
          : properties
            ? mergeProperties(contact.properties, properties)
            : contact.properties,
      updatedAt: stamp(contact.updatedAt),
    };
    put(account, contact, next);
    // Write answers are the stored truth; `setRawV2` overrides shape reads only.
    return json(200, toV2(next));
  }

  function deleteV2({ account, params }: RouteContext): SandboxResponse {
    const contact = contactAt(account, params[0]);
    if (!contact) return v2NotFound();
    remove(account, contact);
    return { status: 204 };
  }

  /** One v1 contact: the created contact's id, or the per-item error message. */
  function addV1(account: Account, item: unknown): { contactId: string } | { error: string } {
    const input = checkV1Contact(item, ACCOUNT_TIMEZONE);
    if (!input.ok) return { error: input.message };
    const { fields, contactDetails }: V1ContactInput = input.value;
    if (externalIdTaken(account, fields.externalId)) return { error: EXTERNAL_ID_TAKEN };
    const contact = newContact(fields, { contactDetails, properties: [] });
    put(account, undefined, contact);
    return { contactId: contact.id };
  }

  function addContact({ account, body }: RouteContext): SandboxResponse {
    if (!('json' in body)) return v1Error(400, 'Body must be JSON');
    const result = addV1(account, body.json);
    return 'error' in result ? v1Error(400, result.error) : json(200, { contact_id: result.contactId });
  }

  function addContactsBatch({ account, body }: RouteContext): SandboxResponse {
    if (!('json' in body)) return v1Error(400, 'Body must be JSON');
    const contacts = isObject(body.json) ? body.json['contacts'] : undefined;
    if (!Array.isArray(contacts)) return v1Error(400, 'contacts must be an array');
    if (contacts.length > ADD_CONTACTS_BATCH_LIMIT)
      return v1Error(400, `contacts must contain at most ${ADD_CONTACTS_BATCH_LIMIT} items`);
    // In order, so a repeated external id fails on its second occurrence, as against an existing one.
    const result = contacts.map((item: unknown) => {
      const externalId = isObject(item) ? (item['external_contact_id'] ?? null) : null;
      const outcome = addV1(account, item);
      return 'error' in outcome
        ? { external_contact_id: externalId, status: 'error', error: outcome.error }
        : { external_contact_id: externalId, status: 'success', contact_id: outcome.contactId };
    });
    const failed = result.filter((r) => r.status === 'error').length;
    return json(200, {
      total_processed: result.length,
      total_success: result.length - failed,
      total_failed: failed,
      // Not in input order (telli documents none): clients must map by external_contact_id.
      result: result.reverse(),
    });
  }

  // --- reads ----------------------------------------------------------------------------------

  function batch({ account: { byId }, text }: RouteContext): SandboxResponse {
    let ids: unknown;
    try {
      ids = (JSON.parse(text) as { contact_ids?: unknown }).contact_ids;
    } catch {
      return json(400, { error: 'Body must be JSON' });
    }
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) {
      return json(400, { error: 'contact_ids must be an array of strings' });
    }
    onBatch(ids.length);
    if (ids.length > BATCH_LIMIT) return json(400, { error: `contact_ids must contain at most ${BATCH_LIMIT} items` });
    const items = (ids as string[]).map((id) => {
      if (!UUID.test(id)) return { status: 'error', contactId: id, error: 'Invalid contact_id' };
      const contact = byId.get(id.toLowerCase());
      if (!contact) return { status: 'error', contactId: id, error: 'Contact not found' };
      const itemError = overrides.itemError(id);
      if (itemError !== undefined) return { status: 'error', contactId: id, error: itemError };
      return { status: 'success', contact: overrides.v1Batch(contact) };
    });
    // telli does not document result order; answer out of order so clients cannot rely on it.
    return json(200, items.reverse());
  }

  function listV2({ account: { order, byId }, query }: RouteContext): SandboxResponse {
    const limit = pageLimit(query);
    if (limit === undefined) return json(400, { error: 'limit must be an integer between 1 and 100' });
    const start = decodeOffset(query.get('cursor'), order.length);
    if (start === undefined) return json(400, { error: 'invalid cursor' });
    // A deleted contact is skipped and does not count; one hidden from v2 (`setRawV2(id, null)`)
    // still takes its slot. Either way the cursor is an offset into `order`, so it stays valid.
    const data: TelliObject[] = [];
    let end = start;
    for (let slots = 0; end < order.length && slots < limit; end++) {
      const contact = byId.get(order[end] as string);
      if (!contact) continue;
      slots++;
      const body = v2Of(contact);
      if (body) data.push(body);
    }
    let rest = end;
    while (rest < order.length && !byId.has(order[rest] as string)) rest++;
    return v2Page(data, limit, rest < order.length, end);
  }

  return [
    {
      method: 'POST',
      segments: ['v1', 'get-contacts-batch'],
      name: 'POST /v1/get-contacts-batch',
      read: true,
      run: batch,
    },
    {
      method: 'GET',
      segments: ['v1', 'get-contact', '{contactId}'],
      name: 'GET /v1/get-contact',
      run: ({ account, params }) => {
        const contact = contactAt(account, params[0]);
        return contact ? json(200, v1Full(contact)) : notFound();
      },
    },
    {
      method: 'GET',
      segments: ['v1', 'get-contact-by-external-id', '{externalId}'],
      name: 'GET /v1/get-contact-by-external-id',
      run: ({ account, params }) => {
        const contact = account.byExternalId.get(params[0] ?? '');
        return contact ? json(200, toV1Reduced(v1Full(contact))) : notFound();
      },
    },
    { method: 'POST', segments: ['v1', 'add-contact'], name: 'POST /v1/add-contact', run: addContact },
    {
      method: 'POST',
      segments: ['v1', 'add-contacts-batch'],
      name: 'POST /v1/add-contacts-batch',
      run: addContactsBatch,
    },
    { method: 'GET', segments: ['v2', 'contacts'], name: 'GET /v2/contacts', run: listV2 },
    { method: 'POST', segments: ['v2', 'contacts'], name: 'POST /v2/contacts', run: createV2 },
    {
      method: 'GET',
      segments: ['v2', 'contacts', '{id}'],
      name: 'GET /v2/contacts/{id}',
      run: ({ account, params }) => v2Answer(contactAt(account, params[0])),
    },
    {
      method: 'PATCH',
      segments: ['v2', 'contacts', '{id}'],
      name: 'PATCH /v2/contacts/{id}',
      run: (c) => updateV2(c, 'partial'),
    },
    {
      method: 'PUT',
      segments: ['v2', 'contacts', '{id}'],
      name: 'PUT /v2/contacts/{id}',
      run: (c) => updateV2(c, 'complete'),
    },
    { method: 'DELETE', segments: ['v2', 'contacts', '{id}'], name: 'DELETE /v2/contacts/{id}', run: deleteV2 },
    {
      method: 'GET',
      segments: ['v2', 'external', 'contacts', '{externalId}'],
      name: 'GET /v2/external/contacts/{externalId}',
      run: ({ account, params }) => v2Answer(account.byExternalId.get(params[0] ?? '')),
    },
    {
      method: 'GET',
      segments: ['v2', 'properties', 'contacts'],
      name: 'GET /v2/properties/contacts',
      run: () => json(200, { type: 'list', data: PROPERTY_DEFINITIONS.map(toV2Definition) }),
    },
    {
      method: 'GET',
      segments: ['v2', 'properties', 'contacts', '{key}'],
      name: 'GET /v2/properties/contacts/{key}',
      run: ({ params }) => {
        const definition = definitions.get(params[0] ?? '');
        return definition ? json(200, toV2Definition(definition)) : v2NotFound('Property not found');
      },
    },
  ];
}
