import { GraphQLTimeZone } from 'graphql-scalars';
import { z } from 'zod';
import type { JsonValue } from '../../telli/index.js';
import { LONE_SURROGATE } from '../core/telli-ids.js';
import { MAX_EXTERNAL_ID_LENGTH } from './queries.js';

/*
 * The rules a contact's fields are checked against before any telli call (the shared ones, a
 * phone number and a telli id, are in `core/input-rules.ts`). Messages name the rule, never echo
 * the value.
 */

/** Code points, as JSON Schema's `maxLength` (telli's 1–50 for names) counts them. */
const length = (text: string) => [...text].length;

const PROPERTY_KEY = /^[a-zA-Z0-9][a-zA-Z0-9_-]*$/;

/** A first or last name: 1–50 characters, not only whitespace (telli: 1–50). */
export const personName = z
  .string()
  .refine((v) => v.trim() !== '', 'must not be blank')
  .refine((v) => length(v) <= 50, 'must be at most 50 characters');

export const email = z.email('must be an email address');

/**
 * A link to the contact elsewhere: an absolute http(s) URL. Other schemes (`javascript:`, `data:`)
 * would be stored by telli and then rendered as links by whoever reads the contact.
 */
export const httpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })
  .refine((v) => v.length <= 2048, 'must be at most 2048 characters');

/**
 * An IANA time zone, by the same rule as the `TimeZone` scalar `Contact.timezone` answers with
 * (graphql-scalars: one `Intl.DateTimeFormat` accepts), so whatever is written can be read back.
 */
export const timeZone = z.string().refine((v) => {
  try {
    GraphQLTimeZone.parseValue(v);
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone, e.g. Europe/Berlin');

/**
 * Your own id for the contact: 1–512 characters of well-formed Unicode, what `contactByExternalId`
 * accepts — a create whose answer is lost is settled by looking the contact up by this id.
 */
export const externalId = z
  .string()
  .min(1, 'must not be empty')
  .refine((v) => v.length <= MAX_EXTERNAL_ID_LENGTH, `must be at most ${MAX_EXTERNAL_ID_LENGTH} characters`)
  .refine((v) => !LONE_SURROGATE.test(v), 'must be well-formed Unicode (it contains a lone surrogate)');

/** A formal title or greeting; telli documents no bound, this keeps it sane. */
export const salutation = z.string().refine((v) => length(v) <= 50, 'must be at most 50 characters');

/** A contact property key, as telli defines them (§6): 1–64 characters of `^[a-zA-Z0-9][a-zA-Z0-9_-]*$`. */
export const propertyKey = z
  .string()
  .regex(PROPERTY_KEY, 'must start with a letter or digit and contain only letters, digits, `_` and `-`')
  .refine((v) => v.length <= 64, 'must be at most 64 characters');

/** Properties to write: each key at most once (the answer could not say which value won). */
export const propertyWrites = z
  // The JSON scalar has parsed the value already; telli checks it against the property's data type.
  .array(z.object({ key: propertyKey, value: z.custom<JsonValue>().optional() }))
  .superRefine((items, ctx) => {
    const seen = new Map<string, number>();
    items.forEach((item, index) => {
      const first = seen.get(item.key);
      if (first === undefined) seen.set(item.key, index);
      else ctx.addIssue({ code: 'custom', path: [index, 'key'], message: `is given twice (also at ${first})` });
    });
  });

/** One property of a write, as checked: `value` absent or `null` both mean "no value". */
export type PropertyWriteInput = z.output<typeof propertyWrites>[number];
