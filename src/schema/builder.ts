import SchemaBuilder from '@pothos/core';
import type { Context } from '../context.js';
import type { JsonObject } from '../telli/index.js';

/** The one SchemaBuilder. Type files import it; only `index.ts` calls `toSchema`. */
export const builder = new SchemaBuilder<{
  Context: Context;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    URL: { Input: URL; Output: URL | string };
    JSONObject: { Input: JsonObject; Output: JsonObject };
    PhoneNumber: { Input: string; Output: string };
    EmailAddress: { Input: string; Output: string };
    TimeZone: { Input: string; Output: string };
  };
}>({});
