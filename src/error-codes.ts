/**
 * Every stable `extensions.code` this layer answers with, in one table that the schema, the request
 * edge, the logs and the metrics all use. Clients may branch on these; anything else a client sees
 * is `INTERNAL_SERVER_ERROR` ("Unexpected error."), logged with the request id. This module is a
 * leaf: it imports nothing.
 */
export const ErrorCode = {
  /** The caller's arguments are invalid (malformed id, too many ids, empty external id). */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** No or wrong caller token; in forwarded-key mode, no telli key, or one telli rejected. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** telli is rate limiting us; `extensions.retryAfterSeconds` when telli said. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** telli did not answer in time, or the request ran out of time. */
  UPSTREAM_TIMEOUT: 'UPSTREAM_TIMEOUT',
  /** telli answered 5xx or the connection failed, after retries. */
  UPSTREAM_UNAVAILABLE: 'UPSTREAM_UNAVAILABLE',
  /** telli's payload broke the documented contract (for this contact or field only). */
  UPSTREAM_INVALID_RESPONSE: 'UPSTREAM_INVALID_RESPONSE',
  /**
   * A write's answer was lost (timeout, broken connection, telli 5xx) and could not be settled:
   * telli may or may not have carried it out. `extensions.safeToRetry` says whether sending the
   * same mutation again is harmless (an update, a delete, a create with an `externalId`) or may
   * repeat it (a create without one, a scheduled call).
   */
  UPSTREAM_OUTCOME_UNKNOWN: 'UPSTREAM_OUTCOME_UNKNOWN',
  /** telli's batch reported an error for this one contact (other than "not found"). */
  UPSTREAM_ITEM_ERROR: 'UPSTREAM_ITEM_ERROR',
  /** Depth, alias or token limit exceeded (HTTP 400, before any telli call). */
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  /** The operation's cost exceeds the limit (HTTP 400, before any telli call). */
  COST_LIMIT_EXCEEDED: 'COST_LIMIT_EXCEEDED',
  /** The request body is larger than `MAX_BODY_BYTES` (HTTP 413). */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** No such route: the path is not exactly one this server serves (HTTP 404). */
  NOT_FOUND: 'NOT_FOUND',
  /** The HTTP request itself is malformed (e.g. an invalid `Content-Length`). */
  BAD_REQUEST: 'BAD_REQUEST',
  /** What a client sees of an unexpected failure: masked as "Unexpected error.", logged in full. */
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
