import SchemaBuilder from '@pothos/core';
import DirectivePlugin from '@pothos/plugin-directives';
import FederationPlugin from '@pothos/plugin-federation';
import type { Context } from '../../context.js';
import type { JsonObject, JsonValue } from '../../telli/index.js';

/** The one SchemaBuilder. Type files import it; only `index.ts` calls `toSubGraphSchema`. */
export const builder = new SchemaBuilder<{
  Context: Context;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    URL: { Input: URL; Output: URL | string };
    JSONObject: { Input: JsonObject; Output: JsonObject };
    JSON: { Input: JsonValue; Output: JsonValue };
    LocalDate: { Input: string; Output: string };
    PhoneNumber: { Input: string; Output: string };
    EmailAddress: { Input: string; Output: string };
    TimeZone: { Input: string; Output: string };
  };
}>({
  // The federation plugin emits @key/@link through the directives plugin; without it they vanish
  // from the SDL silently (and composition fails far away from the cause).
  plugins: [DirectivePlugin, FederationPlugin],
});
