import { GraphQLError } from 'graphql';
import type { KeySource } from '../../context.js';
import { ErrorCode } from '../../error-codes.js';
import {
  TelliBudgetError,
  TelliCredentialsMissingError,
  TelliError,
  TelliHttpError,
  TelliOutcomeUnknownError,
} from '../../telli/index.js';

/*
 * How failures become what a client sees: expected ones are GraphQLErrors with a code from
 * `src/error-codes.ts`; anything else is returned as is, so that Yoga masks it.
 */

export function badUserInput(message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.BAD_USER_INPUT, ...extensions } });
}

export function upstreamInvalid(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.UPSTREAM_INVALID_RESPONSE } });
}

/**
 * Maps a failure from the telli client to what the client of this API sees. Messages are our own,
 * written for the caller: no key, no telli URL, no upstream body. Returns the input unchanged when
 * it is not an expected failure, so that Yoga masks it. `what` names the record in messages.
 */
export function toGraphQLError(error: unknown, keySource: KeySource, what = 'contact'): GraphQLError | Error {
  if (error instanceof GraphQLError) return error;
  if (error instanceof TelliHttpError) return fromHttpError(error, keySource);
  if (error instanceof TelliOutcomeUnknownError) return outcomeUnknown(error.safeToRetry);
  if (error instanceof TelliBudgetError) return fromBudgetError(error);
  if (!(error instanceof TelliError)) return error instanceof Error ? error : new Error(String(error));
  switch (error.kind) {
    case 'timeout':
      return new GraphQLError('telli did not answer in time.', { extensions: { code: ErrorCode.UPSTREAM_TIMEOUT } });
    case 'network':
      return new GraphQLError('telli is unreachable.', { extensions: { code: ErrorCode.UPSTREAM_UNAVAILABLE } });
    case 'contract':
      return upstreamInvalid(`telli sent a response for this ${what} that breaks its documented contract.`);
    case 'credentials':
      return unauthenticated(
        error instanceof TelliCredentialsMissingError && error.reason === 'malformed'
          ? 'The Authorization header must be `Bearer <telli API key>`, the key 1–512 printable ASCII characters.'
          : 'Send your telli API key as `Authorization: Bearer <key>`.',
      );
    case 'item':
      return new GraphQLError('telli reported an error for this contact.', {
        extensions: { code: ErrorCode.UPSTREAM_ITEM_ERROR },
      });
    default:
      return error;
  }
}

/** A write telli may or may not have carried out: the client must know before it sends it again. */
export function outcomeUnknown(safeToRetry: boolean): GraphQLError {
  const advice = safeToRetry
    ? 'Sending the same mutation again is safe.'
    : 'Check before sending it again: a retry may repeat it.';
  return new GraphQLError(
    `telli's answer to this write was lost (timeout, broken connection or telli error), so it may or may not have been carried out. ${advice}`,
    { extensions: { code: ErrorCode.UPSTREAM_OUTCOME_UNKNOWN, safeToRetry } },
  );
}

function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.UNAUTHENTICATED } });
}

/** telli refused a key: the caller's own is the caller's problem; the server's is the operator's. */
export function isRejectedKey(error: unknown): error is TelliHttpError {
  return error instanceof TelliHttpError && (error.status === 401 || error.status === 403);
}

function fromHttpError(error: TelliHttpError, keySource: KeySource): GraphQLError | Error {
  if (error.status === 401 || error.status === 403) {
    return keySource === 'caller'
      ? unauthenticated('telli rejected the API key you sent.')
      : // Not masked: the caller cannot fix it, but must be able to tell it from a bug of ours.
        new GraphQLError("telli rejected this server's API key; the operator must fix its configuration.", {
          extensions: { code: ErrorCode.TELLI_SERVER_KEY_REJECTED },
        });
  }
  if (error.status === 429) {
    return new GraphQLError('telli is rate limiting requests; retry later.', {
      extensions: {
        code: ErrorCode.RATE_LIMITED,
        ...(error.retryAfterSeconds !== undefined && { retryAfterSeconds: error.retryAfterSeconds }),
      },
    });
  }
  if (error.status >= 500) {
    return new GraphQLError('telli is unavailable.', { extensions: { code: ErrorCode.UPSTREAM_UNAVAILABLE } });
  }
  // A 4xx for a request we built: our fault, not the caller's.
  return error;
}

/**
 * A call the telli budget never sent. A pause is telli's own 429, seen by some instance: the same
 * code as a 429 this request got itself. No slot before the deadline is this deployment's budget.
 */
function fromBudgetError(error: TelliBudgetError): GraphQLError {
  const extensions = { retryAfterSeconds: error.retryAfterSeconds };
  if (error.reason === 'paused') {
    return new GraphQLError('telli is rate limiting requests; retry later.', {
      extensions: { code: ErrorCode.RATE_LIMITED, ...extensions },
    });
  }
  return new GraphQLError(
    "This deployment's telli budget (TELLI_RATE_LIMIT_PER_SECOND) had no slot for this call before the request's deadline, so telli was not called; retry later.",
    { extensions: { code: ErrorCode.TELLI_BUDGET_EXHAUSTED, ...extensions } },
  );
}
