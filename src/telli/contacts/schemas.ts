import { z } from 'zod';
import { jsonObjectIssue, jsonObjectSchema, jsonValueSchema, type JsonObject, type JsonValue } from '../json.js';

/**
 * zod schemas of telli's payloads. The docs mark no v1 response field as required, so every field
 * but the id is optional: unknown fields are dropped, absent or null fields become `null`. A field
 * that is present with the wrong JSON type breaks the contract for that contact only.
 */
const optionalString = z.string().nullish();
/** For nested v2 objects: small and few, so a transform per field is fine there. */
const nullableString = optionalString.transform((v) => v ?? null);

/** What v1 and v2 both say about a contact, under the same names (v2 `timezoneIana` → `timezone`). */
export interface TelliContactCommon {
  id: string;
  externalId: string | null;
  externalUrl: string | null;
  createdAt: string | null;
  firstName: string | null;
  lastName: string | null;
  phoneNumber: string | null;
  email: string | null;
  timezone: string | null;
  salutation: string | null;
}

/** The v1 contact as the rest of the layer sees it: camelCase, every optional field explicit. */
export interface TelliContact extends TelliContactCommon {
  /** Raw telli value; the batch and external-id endpoints omit it. */
  status: string | null;
  inCallSince: string | null;
  reachedAt: string | null;
  nextCallAt: string | null;
  callAttempts: number | null;
  contactDetails: JsonObject;
}

export const v1ContactSchema = z
  .object({
    contact_id: z.string().min(1),
    external_contact_id: optionalString,
    external_url: optionalString,
    created_at: optionalString,
    first_name: optionalString,
    last_name: optionalString,
    phone_number: optionalString,
    email: optionalString,
    timezone: optionalString,
    salutation: optionalString,
    status: optionalString,
    in_call_since: optionalString,
    reached_at: optionalString,
    next_call_at: optionalString,
    call_attempts: z.number().int().nullish(),
    contact_details: jsonObjectSchema.nullish(),
  })
  // One transform for the whole object (not one per optional field): this runs for every contact
  // telli returns, and each zod transform is a pipe of its own.
  .transform((c): TelliContact => ({
    id: c.contact_id,
    externalId: c.external_contact_id ?? null,
    externalUrl: c.external_url ?? null,
    createdAt: c.created_at ?? null,
    firstName: c.first_name ?? null,
    lastName: c.last_name ?? null,
    phoneNumber: c.phone_number ?? null,
    email: c.email ?? null,
    timezone: c.timezone ?? null,
    salutation: c.salutation ?? null,
    status: c.status ?? null,
    inCallSince: c.in_call_since ?? null,
    reachedAt: c.reached_at ?? null,
    nextCallAt: c.next_call_at ?? null,
    callAttempts: c.call_attempts ?? null,
    contactDetails: c.contact_details ?? {},
  }));

/** The result of `parseV1Contact`: the contact, or what broke the contract (`path: message` each). */
export type V1ContactCheck = { ok: true; contact: TelliContact } | { ok: false; issues: string[] };

/**
 * `v1ContactSchema`, written out by hand for the batch read, where it runs for every contact telli
 * returns: the same rules (only `contact_id` required, optional fields string or null, an integer
 * `call_attempts`, a plain JSON object `contact_details`, unknown fields dropped) and the same
 * result, without zod's per-field pipes and issue objects. A test holds the two to the same answers
 * on good and broken contacts (test/telli/v1-contact.test.ts).
 */
export function parseV1Contact(input: unknown): V1ContactCheck {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return { ok: false, issues: ['(root): expected an object'] };
  }
  const c = input as Record<string, unknown>;
  let issues: string[] | undefined;
  const text = (key: string): string | null => {
    const value = c[key];
    if (value === undefined || value === null) return null;
    if (typeof value === 'string') return value;
    (issues ??= []).push(`${key}: expected string, received ${kindOf(value)}`);
    return null;
  };
  const id = c['contact_id'];
  if (typeof id !== 'string') (issues ??= []).push(`contact_id: expected string, received ${kindOf(id)}`);
  else if (id.length === 0) (issues ??= []).push('contact_id: too small: expected a non-empty string');
  const contact: TelliContact = {
    id: id as string,
    externalId: text('external_contact_id'),
    externalUrl: text('external_url'),
    createdAt: text('created_at'),
    firstName: text('first_name'),
    lastName: text('last_name'),
    phoneNumber: text('phone_number'),
    email: text('email'),
    timezone: text('timezone'),
    salutation: text('salutation'),
    status: text('status'),
    inCallSince: text('in_call_since'),
    reachedAt: text('reached_at'),
    nextCallAt: text('next_call_at'),
    callAttempts: null,
    contactDetails: {},
  };
  const attempts = c['call_attempts'];
  if (typeof attempts === 'number' && Number.isSafeInteger(attempts)) contact.callAttempts = attempts;
  else if (attempts !== undefined && attempts !== null) {
    (issues ??= []).push(`call_attempts: expected an integer, received ${kindOf(attempts)}`);
  }
  const details = c['contact_details'];
  if (details !== undefined && details !== null) {
    const issue = jsonObjectIssue(details, 'contact_details');
    if (issue) (issues ??= []).push(issue);
    else contact.contactDetails = details as JsonObject;
  }
  return issues ? { ok: false, issues } : { ok: true, contact };
}

/** A JSON value's kind, for an issue message (never the value itself: it may be personal data). */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isInteger(value)) return 'number (not an integer)';
  return typeof value;
}

/** telli's documented property data types (§6). The layer keeps any other value verbatim. */
export const PROPERTY_DATA_TYPES = [
  'string',
  'number',
  'boolean',
  'date',
  'datetime',
  'select',
  'multi_select',
  'phone_number',
  'email',
] as const;
export type PropertyDataType = (typeof PROPERTY_DATA_TYPES)[number];

/** One choice of a `select` / `multi_select` property. */
export interface TelliPropertyOption {
  value: string;
  label: string | null;
  description: string | null;
}

/** One typed custom field of a v2 contact (`ContactPropertyValue`). */
export interface TelliContactProperty {
  key: string;
  label: string | null;
  /**
   * telli's `dataType` verbatim. Open-ended on purpose: a type telli adds later must not fail the
   * contact, and the get-by-external-id sample omits the field altogether (then `null`).
   */
  dataType: string | null;
  /** Encoding per data type is undocumented, so any JSON is accepted; `null` when absent. */
  value: JsonValue;
  /** Choices of a select type; `[]` when telli sends none. */
  options: TelliPropertyOption[];
}

/** The v2 contact (§3.1) as the layer sees it. It carries no call state; v1 has no typed properties. */
export interface TelliContactV2 extends TelliContactCommon {
  updatedAt: string | null;
  properties: TelliContactProperty[];
}

const v2OptionSchema = z.object({ value: z.string(), label: nullableString, description: nullableString });

const v2PropertySchema = z.object({
  key: z.string().min(1),
  label: nullableString,
  dataType: nullableString,
  value: jsonValueSchema.optional().transform((v) => v ?? null),
  options: z
    .array(v2OptionSchema)
    .nullish()
    .transform((v) => v ?? []),
});

/*
 * The v2 pages mark every key as required, but the same "a missing field is not worth failing a
 * contact" rule as for v1 applies: only `id` is required; `type` is undocumented and ignored.
 */
export const v2ContactSchema = z
  .object({
    id: z.string().min(1),
    externalId: optionalString,
    externalUrl: optionalString,
    salutation: optionalString,
    firstName: optionalString,
    lastName: optionalString,
    phoneNumber: optionalString,
    timezoneIana: optionalString,
    email: optionalString,
    createdAt: optionalString,
    updatedAt: optionalString,
    properties: z
      .array(v2PropertySchema)
      .nullish()
      .transform((v) => v ?? []),
  })
  .transform(({ timezoneIana, ...c }): TelliContactV2 => ({
    id: c.id,
    externalId: c.externalId ?? null,
    externalUrl: c.externalUrl ?? null,
    createdAt: c.createdAt ?? null,
    updatedAt: c.updatedAt ?? null,
    firstName: c.firstName ?? null,
    lastName: c.lastName ?? null,
    phoneNumber: c.phoneNumber ?? null,
    email: c.email ?? null,
    timezone: timezoneIana ?? null,
    salutation: c.salutation ?? null,
    properties: c.properties,
  }));
