import { z } from 'zod';
import { userError, type UserErrorValue } from './user-errors.js';

/*
 * Checking mutation inputs before any telli call: the rules every resource uses, and `validate`,
 * which turns a zod failure into `userErrors` with paths. Inputs are plain `String`s in the
 * GraphQL schema (not the strict scalars the types answer with) so that a bad value comes back as
 * a `userErrors` entry with its path, not as a top-level error that fails the whole operation.
 * Messages name the rule, never echo the value. A resource's own rules live in its folder
 * (`contact/input-rules.ts`).
 */

const E164 = /^\+[1-9]\d{1,14}$/;

/** A phone number in E.164, e.g. `+4917642048466`. */
export const phoneNumber = z.string().regex(E164, 'must be an E.164 phone number, e.g. +4917642048466');

/** A telli id (contact, agent): a UUID. */
export const telliId = z.guid('must be a UUID');

/**
 * `true` when every field of the GraphQL input type `Input` has a rule in the zod `schema`, as
 * `const _covered: RulesCover<typeof SomeInput.$inferInput, typeof schema> = true;` — a field
 * added to an input without a rule would be dropped by zod in silence; this makes it a type error.
 */
export type RulesCover<Input, Schema extends z.ZodType> =
  Exclude<keyof Input, keyof z.input<Schema>> extends never ? true : never;

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
