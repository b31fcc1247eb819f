import type { JsonValue } from '../json.js';
import type { WireFieldNames } from '../shared/write-outcomes.js';

/*
 * What a contact write sends: the layer's shapes of a new contact and of a change, the bodies
 * telli's endpoints take for them, and the names between the two both ways (a refusal names
 * telli's field; `V2_FIELD_NAMES` / `V1_FIELD_NAMES` say which of ours it is). Our names are the
 * GraphQL inputs' names; telli's v2 names differ only in `timezoneIana`, its v1 names are
 * snake_case. A writable field is added to the interfaces and to both name tables (the compiler
 * asks for each).
 */

/** A property to write: `value: null` removes it (update) or leaves it unset (create). */
export interface PropertyWrite {
  key: string;
  value: JsonValue;
}

/** A new contact, in the layer's names (`timezone` is telli v2's `timezoneIana`). */
export interface NewContact {
  firstName: string;
  lastName: string;
  phoneNumber: string;
  externalId?: string;
  externalUrl?: string;
  salutation?: string;
  email?: string;
  timezone?: string;
  properties?: PropertyWrite[];
}

/** A new contact for the v1 bulk create, which requires an external id and has no typed properties. */
export type NewBulkContact = Omit<NewContact, 'externalId' | 'properties'> & { externalId: string };

/**
 * A partial update. A key that is absent is left alone; `null` clears the field. The PATCH body
 * has exactly the keys this object has.
 */
export interface ContactPatch {
  firstName?: string;
  lastName?: string;
  phoneNumber?: string;
  externalId?: string | null;
  externalUrl?: string | null;
  salutation?: string | null;
  email?: string | null;
  timezone?: string | null;
  properties?: PropertyWrite[];
}

/** Our name → telli v2's, in the layer's key order; `timezone` is `timezoneIana`. */
const V2_NAMES = {
  firstName: 'firstName',
  lastName: 'lastName',
  phoneNumber: 'phoneNumber',
  externalId: 'externalId',
  externalUrl: 'externalUrl',
  salutation: 'salutation',
  email: 'email',
  timezone: 'timezoneIana',
  properties: 'properties',
} as const satisfies Record<keyof ContactPatch, string>;

/** Our name → telli v1's (`POST /v1/add-contacts-batch`), in the order the body lists them. */
const V1_NAMES = {
  externalId: 'external_contact_id',
  firstName: 'first_name',
  lastName: 'last_name',
  phoneNumber: 'phone_number',
  email: 'email',
  salutation: 'salutation',
  timezone: 'timezone',
  externalUrl: 'external_url',
} as const satisfies Record<keyof NewBulkContact, string>;

/** telli's name → ours, for a list of (ours, telli's) pairs. */
const fromWire = (names: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(names).map(([ours, wire]) => [wire, ours]));

/** The v2 writes' field names as telli's messages use them (they say `property`, too). */
export const V2_FIELD_NAMES: WireFieldNames = {
  ...fromWire(V2_NAMES),
  property: 'properties',
  Property: 'properties',
};

/** The v1 bulk create's field names as telli's messages use them. */
export const V1_FIELD_NAMES: WireFieldNames = fromWire(V1_NAMES);

/** Exactly the keys the object has, renamed to v2's: an absent key stays absent, `null` stays `null`. */
export function v2Body(fields: NewContact | ContactPatch): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [name, wire] of Object.entries(V2_NAMES) as [keyof ContactPatch, string][]) {
    if (!Object.hasOwn(fields, name)) continue;
    const value = fields[name];
    if (value === undefined) continue;
    body[wire] =
      name === 'properties' ? (value as PropertyWrite[]).map(({ key, value: v }) => ({ key, value: v })) : value;
  }
  return body;
}

/** One contact of `POST /v1/add-contacts-batch`, in v1's names: the keys it has, none invented. */
export function v1Item(contact: NewBulkContact): Record<string, unknown> {
  const item: Record<string, unknown> = {};
  for (const [name, wire] of Object.entries(V1_NAMES) as [keyof NewBulkContact, string][]) {
    const value = contact[name];
    if (value !== undefined) item[wire] = value;
  }
  return item;
}
