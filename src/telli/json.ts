import { z } from 'zod';

/** A JSON value as telli sends it in free-form fields such as `contact_details`. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/*
 * `z.record` copies entries with plain assignment, so an own `__proto__` key (valid JSON) would
 * become the copy's prototype. Objects are therefore validated entry by entry and rebuilt with
 * `defineProperty`, which keeps every key — including `__proto__` — as data.
 */
const jsonObjectOf = (value: z.ZodType<JsonValue>) =>
  z
    .custom<JsonObject>((input) => input !== null && typeof input === 'object' && !Array.isArray(input), {
      error: 'expected a JSON object',
    })
    .transform((input, ctx): JsonObject => {
      const out: JsonObject = {};
      for (const [key, raw] of Object.entries(input)) {
        const parsed = value.safeParse(raw);
        if (!parsed.success) {
          for (const issue of parsed.error.issues) {
            ctx.addIssue({ code: 'custom', message: issue.message, path: [key, ...issue.path] });
          }
          return z.NEVER;
        }
        Object.defineProperty(out, key, { value: parsed.data, enumerable: true, writable: true, configurable: true });
      }
      return out;
    });

export const jsonValueSchema: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number().refine(Number.isFinite, 'expected a finite number'),
    z.boolean(),
    z.null(),
    z.array(jsonValueSchema),
    jsonObjectOf(jsonValueSchema),
  ]),
);

export const jsonObjectSchema: z.ZodType<JsonObject> = z.lazy(() => jsonObjectOf(jsonValueSchema));
