import { z } from 'zod';

/** A JSON value as telli sends it in free-form fields such as `contact_details`. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

interface Problem {
  path: (string | number)[];
  message: string;
}

const isPlainObject = (value: object): boolean => {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};

/**
 * The first reason `value` is not plain JSON, or `undefined`. A hand-written walk rather than a
 * recursive zod union: it runs for every contact telli returns, and allocates nothing unless it
 * finds a problem (the path is built on the way back up). An own `__proto__` key — valid JSON,
 * kept by `JSON.parse` as a data property — is checked like any other key, and the value is
 * returned as is, so it stays data (no copy through assignment could turn it into a prototype).
 */
function jsonProblem(value: unknown): Problem | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : { path: [], message: 'expected a finite number' };
    case 'object': {
      if (value === null) return undefined;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const problem = jsonProblem(value[i]);
          if (problem) return (problem.path.unshift(i), problem);
        }
        return undefined;
      }
      if (!isPlainObject(value)) return { path: [], message: 'expected a JSON value' };
      for (const key of Object.keys(value)) {
        const problem = jsonProblem((value as Record<string, unknown>)[key]);
        if (problem) return (problem.path.unshift(key), problem);
      }
      return undefined;
    }
    default:
      return { path: [], message: 'expected a JSON value' };
  }
}

export const jsonValueSchema: z.ZodType<JsonValue> = z.unknown().transform((input, ctx): JsonValue => {
  const problem = jsonProblem(input);
  if (!problem) return input as JsonValue;
  ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path });
  return z.NEVER;
});

/**
 * Why `input` is not a plain JSON object, as `path: message` (the form of `describeIssues`), or
 * `undefined` when it is one. For checks written by hand on the hot path (`parseV1Contact`).
 */
export function jsonObjectIssue(input: unknown, at: string): string | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input) || !isPlainObject(input)) {
    return `${at}: expected a JSON object`;
  }
  const problem = jsonProblem(input);
  return problem && `${[at, ...problem.path].join('.')}: ${problem.message}`;
}

export const jsonObjectSchema: z.ZodType<JsonObject> = z.unknown().transform((input, ctx): JsonObject => {
  if (input === null || typeof input !== 'object' || Array.isArray(input) || !isPlainObject(input)) {
    ctx.addIssue({ code: 'custom', message: 'expected a JSON object' });
    return z.NEVER;
  }
  const problem = jsonProblem(input);
  if (!problem) return input as JsonObject;
  ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path });
  return z.NEVER;
});
