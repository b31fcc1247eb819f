import type { GraphQLError } from 'graphql';
import type { Context } from '../../context.js';
import { TelliOutcomeUnknownError, type TelliRejection } from '../../telli/index.js';
import { builder } from './builder.js';
import { toGraphQLError } from './errors.js';

/*
 * The user-error model of every mutation (Shopify's `userErrors`): what the caller can fix comes
 * back as data in the payload — a `field` path into the mutation's arguments, a message and a
 * stable code — never as a top-level error. Top-level errors stay for what the caller cannot fix
 * (telli down or its answer lost, no or a rejected key, rate limits), on the payload fields that
 * would have carried the write's result.
 */

const USER_ERROR_CODES = {
  INVALID: {
    description:
      "The value is not acceptable: this API's validation (checked before telli is called), or telli refusing it (HTTP 400/422). `message` says why.",
  },
  NOT_FOUND: { description: 'The contact or agent the input names does not exist in telli for your key.' },
  EXTERNAL_ID_TAKEN: {
    description:
      'Another contact already has this `externalId` (telli keeps them unique per account): telli answered 409, or its bulk create "External ID already exists".',
  },
  NOT_IN_DIALER: {
    description: "removeFromDialer: the contact is not queued in telli's auto dialer, so there was nothing to remove.",
  },
  REJECTED: {
    description:
      "telli refused this input or item for a reason the codes above do not cover; `message` has telli's words.",
  },
} as const;

export type UserErrorCodeValue = keyof typeof USER_ERROR_CODES;

/*
 * `TelliUserError` and `TelliUserErrorCode`, not `UserError`: other subgraphs of a company graph
 * often have a `UserError { field message }`. A type of the same name would have to be `@shareable`
 * everywhere with the same fields, and ours has `code`, which theirs cannot resolve — composition
 * fails (INVALID_FIELD_SHARING, then SATISFIABILITY_ERROR once shareable).
 */
export const UserErrorCode = builder.enumType('TelliUserErrorCode', {
  description:
    'What is wrong with a mutation input, as a stable code to branch on. More codes may be added: treat one you do not know like REJECTED.',
  values: USER_ERROR_CODES,
});

export interface UserErrorValue {
  field: string[] | null;
  message: string;
  code: UserErrorCodeValue;
}

export function userError(code: UserErrorCodeValue, field: readonly string[] | null, message: string): UserErrorValue {
  return { code, field: field && [...field], message };
}

export const UserErrorRef = builder.objectRef<UserErrorValue>('TelliUserError').implement({
  description:
    'A problem with the input of a mutation that the caller can fix. Nothing was written for the input it points at.',
  fields: (t) => ({
    field: t.exposeStringList('field', {
      nullable: true,
      description:
        'The path to the input value at fault, from the mutation\'s arguments: `["input", "phoneNumber"]`, or `["input", "contacts", "3", "email"]` for the fourth item of a list. Null when the problem is not with one value.',
    }),
    message: t.exposeString('message', {
      nullable: false,
      description: "What is wrong, for people. May quote telli's own validation message (at most 200 characters).",
    }),
    code: t.field({
      type: UserErrorCode,
      nullable: false,
      description: 'What is wrong, for programs.',
      resolve: (error) => error.code,
    }),
  }),
});

/** A payload's `userErrors` field (Pothos field options), with its own description. */
export const userErrorsField = (description: string) => ({
  type: [UserErrorRef] as [typeof UserErrorRef],
  nullable: false as const,
  description,
  resolve: (item: { userErrors: UserErrorValue[] }) => item.userErrors,
});

/** telli's words for a refusal, or ours when it gave none. */
export function telliSays(rejection: TelliRejection, fallback: string): string {
  return rejection.message ? `telli refused it: ${rejection.message}` : fallback;
}

/**
 * Where a write's outcome lands in a payload: either a value, or the top-level error every field
 * carrying the outcome reports (a fresh error per field: graphql-js keeps the first path of an
 * error it is handed twice).
 */
export type Outcome<T> = { value: T } | { failure: () => GraphQLError | Error };

/** The failure of a write, as its outcome fields will report it. */
export function failed(error: unknown, ctx: Context): { failure: () => GraphQLError | Error } {
  return { failure: () => toGraphQLError(error, ctx.keySource) };
}

/**
 * Logs each distinct lost answer once (a bulk chunk's items share one): operators must be able
 * to find writes that may or may not have happened. TelliError messages carry no key or URL.
 */
export function logUnknownOutcomes(ctx: Context, errors: Iterable<unknown>): void {
  for (const error of new Set(errors)) {
    if (error instanceof TelliOutcomeUnknownError) {
      ctx.logger.warn(
        { endpoint: error.endpoint, lastFailure: error.lastFailure.message, safeToRetry: error.safeToRetry },
        'telli write outcome unknown',
      );
    }
  }
}

/** The outcome's value, or its top-level error thrown for this field. */
export function outcomeOf<T>(outcome: Outcome<T>): T {
  if ('failure' in outcome) throw outcome.failure();
  return outcome.value;
}
