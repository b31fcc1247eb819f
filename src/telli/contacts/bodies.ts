import type { JsonValue } from '../json.js';

/*
 * What a contact write sends: the layer's shapes of a new contact and of a change, and the bodies
 * telli's endpoints take for them. Our names are the GraphQL inputs' names; telli's v2 names
 * differ only in `timezoneIana`, its v1 names are snake_case.
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

/** v2 names, in the layer's key order; `timezone` is `timezoneIana`. */
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

/** Exactly the keys the object has, renamed to v2's: an absent key stays absent, `null` stays `null`. */
export function v2Body(fields: NewContact | ContactPatch): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [name, wire] of Object.entries(V2_NAMES) as [keyof ContactPatch, string][]) {
    if (!Object.hasOwn(fields, name)) continue;
    const value = (fields as ContactPatch)[name];
    if (value === undefined) continue;
    body[wire] =
      name === 'properties' ? (value as PropertyWrite[]).map(({ key, value: v }) => ({ key, value: v })) : value;
  }
  return body;
}

/** One contact of `POST /v1/add-contacts-batch`, in v1's names. */
export function v1Item(contact: NewBulkContact): Record<string, unknown> {
  const item: Record<string, unknown> = {
    external_contact_id: contact.externalId,
    first_name: contact.firstName,
    last_name: contact.lastName,
    phone_number: contact.phoneNumber,
  };
  if (contact.email !== undefined) item['email'] = contact.email;
  if (contact.salutation !== undefined) item['salutation'] = contact.salutation;
  if (contact.timezone !== undefined) item['timezone'] = contact.timezone;
  if (contact.externalUrl !== undefined) item['external_url'] = contact.externalUrl;
  return item;
}
