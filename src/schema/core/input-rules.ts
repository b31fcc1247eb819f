import { GraphQLTimeZone } from 'graphql-scalars';
import { z } from 'zod';
import { MAX_EXTERNAL_ID_LENGTH } from '../contact/queries.js';
import { LONE_SURROGATE } from './telli-ids.js';
import { userError, type UserErrorValue } from './user-errors.js';

/*
 * The rules mutation inputs are checked against before any telli call, as zod schemas. Inputs are
 * plain `String`s in the GraphQL schema (not the strict scalars `Contact` answers with) so that a
 * bad value comes back as a `userErrors` entry with its path, not as a top-level error that fails
 * the whole operation. Messages name the rule, never echo the value.
 */

/** Code points, as JSON Schema's `maxLength` (telli's 1–50 for names) counts them. */
const length = (text: string) => [...text].length;

const E164 = /^\+[1-9]\d{1,14}$/;
const PROPERTY_KEY = /^[a-zA-Z0-9][a-zA-Z0-9_-]*$/;

/** A first or last name: 1–50 characters, not only whitespace (telli: 1–50). */
export const personName = z
  .string()
  .refine((v) => v.trim() !== '', 'must not be blank')
  .refine((v) => length(v) <= 50, 'must be at most 50 characters');

/** A phone number in E.164, e.g. `+4917642048466`. */
export const phoneNumber = z.string().regex(E164, 'must be an E.164 phone number, e.g. +4917642048466');

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

/** A telli id (contact, agent): a UUID. */
export const telliId = z.guid('must be a UUID');

/** A contact property key, as telli defines them (§6): 1–64 characters of `^[a-zA-Z0-9][a-zA-Z0-9_-]*$`. */
export const propertyKey = z
  .string()
  .regex(PROPERTY_KEY, 'must start with a letter or digit and contain only letters, digits, `_` and `-`')
  .refine((v) => v.length <= 64, 'must be at most 64 characters');

/** Properties to write: each key at most once (the answer could not say which value won). */
export const propertyWrites = z
  .array(z.object({ key: propertyKey, value: z.unknown().optional() }))
  .superRefine((items, ctx) => {
    const seen = new Map<string, number>();
    items.forEach((item, index) => {
      const first = seen.get(item.key);
      if (first === undefined) seen.set(item.key, index);
      else ctx.addIssue({ code: 'custom', path: [index, 'key'], message: `is given twice (also at ${first})` });
    });
  });

/** The value, or the user errors of every issue with its path below `base` (e.g. `['input']`). */
export function validate<T>(
  schema: z.ZodType<T>,
  value: unknown,
  base: readonly string[],
): { ok: true; value: T } | { ok: false; userErrors: UserErrorValue[] } {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, userErrors: userErrorsOf(parsed.error, base) };
}

/** One `INVALID` user error per zod issue: `field` is the issue's path below `base`, as strings. */
export function userErrorsOf(error: z.ZodError, base: readonly string[]): UserErrorValue[] {
  return error.issues.map((issue) => {
    const field = [...base, ...issue.path.map(String)];
    return userError('INVALID', field, `${nameOf(field)} ${issue.message}`);
  });
}

/** How a message names the field at `path`: its last name, with a list index (`contactIds[3]`). */
export function nameOf(path: readonly string[]): string {
  const last = path.at(-1) ?? 'input';
  if (!/^\d+$/.test(last)) return last;
  return `${path.at(-2) ?? 'input'}[${last}]`;
}
