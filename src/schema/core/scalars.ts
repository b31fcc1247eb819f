import type { GraphQLScalarType } from 'graphql';
import {
  GraphQLDateTime,
  GraphQLEmailAddress,
  GraphQLJSON,
  GraphQLJSONObject,
  GraphQLLocalDate,
  GraphQLPhoneNumber,
  GraphQLTimeZone,
  GraphQLURL,
} from 'graphql-scalars';
import { builder } from './builder.js';
import { upstreamInvalid } from './errors.js';

builder.addScalarType('DateTime', GraphQLDateTime, {});
builder.addScalarType('URL', GraphQLURL, {});
builder.addScalarType('JSONObject', GraphQLJSONObject, {});
builder.addScalarType('JSON', GraphQLJSON, {});
builder.addScalarType('LocalDate', GraphQLLocalDate, {});
builder.addScalarType('PhoneNumber', GraphQLPhoneNumber, {});
builder.addScalarType('EmailAddress', GraphQLEmailAddress, {});
builder.addScalarType('TimeZone', GraphQLTimeZone, {});

const STRICT = {
  DateTime: GraphQLDateTime,
  LocalDate: GraphQLLocalDate,
  URL: GraphQLURL,
  PhoneNumber: GraphQLPhoneNumber,
  EmailAddress: GraphQLEmailAddress,
  TimeZone: GraphQLTimeZone,
} satisfies Record<string, GraphQLScalarType>;

/**
 * The rule for upstream values a strict output scalar would reject: the field alone becomes null
 * with an `UPSTREAM_INVALID_RESPONSE` error; the rest of the contact resolves. The check runs in
 * the resolver because errors thrown by `serialize` are re-wrapped by the executor as plain
 * errors (and then masked), losing their code. The message never echoes the raw value.
 */
export function checkedUpstreamValue<T>(scalar: keyof typeof STRICT, value: T | null): T | null {
  if (value === null) return null;
  try {
    STRICT[scalar].serialize(value);
  } catch {
    throw upstreamInvalid(`telli sent a value that is not a valid ${scalar}.`);
  }
  return value;
}
