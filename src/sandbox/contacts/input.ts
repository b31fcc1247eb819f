import type { JsonObject, JsonValue } from '../json.js';
import { isObject } from '../wire.js';
import type { SandboxPropertyDefinition } from './model.js';

/**
 * Validation of write bodies, as strict as telli documents it (§2.5, §3.5, §6, §10) and no
 * stricter: the layer is meant to catch these mistakes before it calls telli, and the sandbox
 * proves it by refusing them the way telli would. Every check answers one short message.
 */
export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const fail = (message: string): { ok: false; message: string } => ({ ok: false, message });

const PROPERTY_KEY = /^[a-zA-Z0-9][a-zA-Z0-9_-]*$/;
const E164 = /^\+[1-9]\d{1,14}$/;
// Deliberately loose: telli's exact email rule is not documented, only that it is an email.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

const isTimeZone = (zone: string) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};

const isUri = (text: string) => URL.canParse(text);

/** The v2 contact fields a write may set, as the sandbox stores them. */
export interface ContactFields {
  firstName: string;
  lastName: string;
  phoneNumber: string;
  externalId: string | null;
  externalUrl: string | null;
  salutation: string | null;
  timezone: string | null;
  email: string | null;
}

/** A property write: a value, or `null` to remove the key (PATCH only). */
export interface PropertyWrite {
  definition: SandboxPropertyDefinition;
  value: JsonValue;
}

export interface V2ContactInput {
  fields: Partial<ContactFields>;
  /** Absent when the body has no `properties` key. */
  properties?: PropertyWrite[];
}

type FieldRule = {
  name: string;
  target: keyof ContactFields;
  nullable: boolean;
  check: (value: string) => boolean;
  rule: string;
};

const V2_FIELDS: FieldRule[] = [
  {
    name: 'firstName',
    target: 'firstName',
    nullable: false,
    check: (v) => v.length >= 1 && v.length <= 50,
    rule: 'must be 1-50 characters',
  },
  {
    name: 'lastName',
    target: 'lastName',
    nullable: false,
    check: (v) => v.length >= 1 && v.length <= 50,
    rule: 'must be 1-50 characters',
  },
  {
    name: 'phoneNumber',
    target: 'phoneNumber',
    nullable: false,
    check: (v) => v.length >= 1 && v.length <= 20,
    rule: 'must be 1-20 characters',
  },
  { name: 'externalId', target: 'externalId', nullable: true, check: (v) => v.length >= 1, rule: 'must not be empty' },
  { name: 'externalUrl', target: 'externalUrl', nullable: true, check: isUri, rule: 'must be a URI' },
  { name: 'salutation', target: 'salutation', nullable: true, check: () => true, rule: '' },
  { name: 'timezoneIana', target: 'timezone', nullable: true, check: isTimeZone, rule: 'must be an IANA time zone' },
  { name: 'email', target: 'email', nullable: true, check: (v) => EMAIL.test(v), rule: 'must be an email address' },
];

/** Why `value` does not fit the definition's data type, or `undefined`. */
export function propertyValueProblem(definition: SandboxPropertyDefinition, value: JsonValue): string | undefined {
  const allowed = new Set((definition.options ?? []).map((o) => o.value));
  const fits = (() => {
    switch (definition.dataType) {
      case 'string':
        return typeof value === 'string';
      case 'number':
        return typeof value === 'number' && Number.isFinite(value);
      case 'boolean':
        return typeof value === 'boolean';
      case 'date':
        return typeof value === 'string' && DATE.test(value) && !Number.isNaN(Date.parse(value));
      case 'datetime':
        return typeof value === 'string' && value.includes('T') && !Number.isNaN(Date.parse(value));
      case 'select':
        return typeof value === 'string' && allowed.has(value);
      case 'multi_select':
        return Array.isArray(value) && value.every((v) => typeof v === 'string' && allowed.has(v));
      case 'phone_number':
        return typeof value === 'string' && E164.test(value);
      case 'email':
        return typeof value === 'string' && EMAIL.test(value);
    }
  })();
  return fits ? undefined : `Property "${definition.key}" expects a ${definition.dataType} value`;
}

function checkProperties(
  raw: unknown,
  definitions: ReadonlyMap<string, SandboxPropertyDefinition>,
  allowNull: boolean,
): Checked<PropertyWrite[]> {
  if (!Array.isArray(raw)) return fail('properties must be an array');
  const seen = new Set<string>();
  const writes: PropertyWrite[] = [];
  for (const [i, item] of raw.entries()) {
    if (!isObject(item) || typeof item['key'] !== 'string') return fail(`properties[${i}].key must be a string`);
    const key = item['key'];
    if (key.length < 1 || key.length > 64 || !PROPERTY_KEY.test(key))
      return fail(`properties[${i}].key "${key}" must match ^[a-zA-Z0-9][a-zA-Z0-9_-]*$ (1-64 characters)`);
    const definition = definitions.get(key);
    if (!definition) return fail(`Unknown property "${key}": no property definition with this key`);
    if (seen.has(key)) return fail(`Property "${key}" is given twice`);
    seen.add(key);
    if (!('value' in item) || item['value'] === undefined) return fail(`properties[${i}].value is required`);
    const value = item['value'] as JsonValue;
    if (value === null) {
      if (!allowNull) continue; // create / replace: a null value just leaves the property unset
      writes.push({ definition, value });
      continue;
    }
    const problem = propertyValueProblem(definition, value);
    if (problem) return fail(problem);
    writes.push({ definition, value });
  }
  return ok(writes);
}

/**
 * A v2 create / replace (`complete`: the required fields must be there, absent optional ones are
 * cleared) or PATCH body (only the keys present change; `null` clears a nullable field).
 */
export function checkV2Contact(
  body: unknown,
  mode: 'complete' | 'partial',
  definitions: ReadonlyMap<string, SandboxPropertyDefinition>,
): Checked<V2ContactInput> {
  if (!isObject(body)) return fail('Body must be a JSON object');
  const fields: Partial<ContactFields> = {};
  const set = fields as Record<keyof ContactFields, string | null>;
  for (const rule of V2_FIELDS) {
    const value = body[rule.name];
    if (value === undefined) {
      if (mode === 'partial') continue;
      if (!rule.nullable) return fail(`${rule.name} is required`);
      set[rule.target] = null;
      continue;
    }
    if (value === null) {
      if (!rule.nullable) return fail(`${rule.name} must not be null`);
      set[rule.target] = null;
      continue;
    }
    if (typeof value !== 'string') return fail(`${rule.name} must be a string`);
    if (!rule.check(value)) return fail(`${rule.name} ${rule.rule}`);
    set[rule.target] = value;
  }
  if (body['properties'] === undefined) return ok(mode === 'complete' ? { fields, properties: [] } : { fields });
  if (body['properties'] === null) {
    // Clearing all properties is what a replace without properties does; PATCH has no such verb.
    return mode === 'complete' ? ok({ fields, properties: [] }) : fail('properties must be an array');
  }
  const properties = checkProperties(body['properties'], definitions, mode === 'partial');
  return properties.ok ? ok({ fields, properties: properties.value }) : properties;
}

/** A v1 add-contact item (§2.5): snake_case, `external_contact_id` required. */
export interface V1ContactInput {
  fields: ContactFields & { externalId: string };
  contactDetails: JsonObject;
}

const required = (item: Record<string, unknown>, name: string, max: number): Checked<string> => {
  const value = item[name];
  if (value === undefined || value === null || value === '') return fail(`${name} is required`);
  if (typeof value !== 'string') return fail(`${name} must be a string`);
  if (value.length > max) return fail(`${name} must be at most ${max} characters`);
  return ok(value);
};

const optional = (item: Record<string, unknown>, name: string, check: (v: string) => boolean, rule: string) => {
  const value = item[name];
  if (value === undefined || value === null) return ok(null);
  if (typeof value !== 'string' || !check(value)) return fail(`${name} ${rule}`);
  return ok(value);
};

/**
 * Parses one v1 contact. `accountTimezone` is the fallback telli documents for a missing
 * `timezone`. The legacy `dynamic_variables` alias and flat `contact_details_<key>` fields are
 * accepted as §2.5 describes; the flat fields win over the object.
 */
export function checkV1Contact(item: unknown, accountTimezone: string): Checked<V1ContactInput> {
  if (!isObject(item)) return fail('contact must be an object');
  const externalId = required(item, 'external_contact_id', 255);
  if (!externalId.ok) return externalId;
  const firstName = required(item, 'first_name', 50);
  if (!firstName.ok) return firstName;
  const lastName = required(item, 'last_name', 50);
  if (!lastName.ok) return lastName;
  const phoneNumber = required(item, 'phone_number', 20);
  if (!phoneNumber.ok) return phoneNumber;
  if (!E164.test(phoneNumber.value)) return fail('phone_number must be in E.164 format, e.g. +4917642048466');
  const email = optional(item, 'email', (v) => EMAIL.test(v), 'must be an email address');
  if (!email.ok) return email;
  const salutation = optional(item, 'salutation', () => true, 'must be a string');
  if (!salutation.ok) return salutation;
  const timezone = optional(item, 'timezone', isTimeZone, 'must be an IANA time zone');
  if (!timezone.ok) return timezone;
  const externalUrl = optional(item, 'external_url', isUri, 'must be a URL');
  if (!externalUrl.ok) return externalUrl;

  const details = item['contact_details'] ?? item['dynamic_variables'] ?? {};
  if (!isObject(details)) return fail('contact_details must be an object');
  const contactDetails: JsonObject = { ...(details as JsonObject) };
  for (const [key, value] of Object.entries(item)) {
    if (!key.startsWith('contact_details_') || key.length === 'contact_details_'.length) continue;
    // Defined, not assigned: a flat `contact_details___proto__` must stay a key, not a prototype.
    Object.defineProperty(contactDetails, key.slice('contact_details_'.length), {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return ok({
    fields: {
      externalId: externalId.value,
      firstName: firstName.value,
      lastName: lastName.value,
      phoneNumber: phoneNumber.value,
      email: email.value,
      salutation: salutation.value || null,
      timezone: timezone.value ?? accountTimezone,
      externalUrl: externalUrl.value,
    },
    contactDetails,
  });
}
