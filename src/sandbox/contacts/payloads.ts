import type { TelliObject } from '../wire.js';
import type { SandboxContact, SandboxPropertyDefinition } from './model.js';

/**
 * A contact as telli's endpoints serve it: the v1 shapes (full, batch, reduced), the v2 contact
 * and the property definition. A field added to `SandboxContact` is put on the wire here.
 */

function v1Status(c: SandboxContact): string {
  return c.inCallSince ? 'in_progress' : c.reachedAt ? 'reached' : 'not_reached';
}

/** The get-contact shape (§2.1): everything, including `status` and `timezone`. */
export function toV1Full(c: SandboxContact): TelliObject {
  return {
    contact_id: c.id,
    external_contact_id: c.externalId,
    external_url: c.externalUrl,
    created_at: c.createdAt,
    first_name: c.firstName,
    last_name: c.lastName,
    phone_number: c.phoneNumber,
    in_call_since: c.inCallSince,
    reached_at: c.reachedAt,
    contact_details: c.contactDetails,
    call_attempts: c.callAttempts,
    next_call_at: c.nextCallAt,
    email: c.email,
    timezone: c.timezone,
    salutation: c.salutation,
    status: v1Status(c),
  };
}

/** The get-contacts-batch `contact` (§2.4): as documented, without `status` and `timezone`. */
export function toV1Batch(full: TelliObject): TelliObject {
  const { status: _status, timezone: _timezone, ...rest } = full;
  return rest;
}

/** The get-contact-by-external-id shape (§2.3): ids and call state only. */
export function toV1Reduced(full: TelliObject): TelliObject {
  const pick = [
    'contact_id',
    'external_contact_id',
    'external_url',
    'created_at',
    'in_call_since',
    'reached_at',
    'call_attempts',
    'next_call_at',
  ];
  return Object.fromEntries(pick.filter((k) => k in full).map((k) => [k, full[k]]));
}

/** The v2 contact (§3.1): camelCase, typed properties, no call state. */
export function toV2(c: SandboxContact): TelliObject {
  return {
    id: c.id,
    type: 'contact',
    externalId: c.externalId,
    externalUrl: c.externalUrl,
    salutation: c.salutation,
    firstName: c.firstName,
    lastName: c.lastName,
    phoneNumber: c.phoneNumber,
    timezoneIana: c.timezone,
    email: c.email,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    properties: c.properties.map((p) => ({ ...p, options: p.options ?? [] })),
  };
}

const DEFINITIONS_CREATED_AT = new Date(Date.UTC(2025, 6, 1)).toISOString();

/** A property definition as `GET /v2/properties/contacts` serves it (§6). */
export function toV2Definition(d: SandboxPropertyDefinition): TelliObject {
  return {
    type: 'contact_property',
    key: d.key,
    dataType: d.dataType,
    source: 'user',
    label: d.label,
    createdAt: DEFINITIONS_CREATED_AT,
    updatedAt: DEFINITIONS_CREATED_AT,
    ...(d.options && { options: d.options }),
  };
}
