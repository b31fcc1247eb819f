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
  /**
   * telli rejects this server's own key (`TELLI_API_KEY`, 401/403): the operator's fault, not the
   * caller's, and every field that needs telli fails until the key is fixed. The server logs it at
   * start-up and, with `alert: "telli-server-key-rejected"`, at `fatal` for each operation it fails.
   */
  TELLI_SERVER_KEY_REJECTED: 'TELLI_SERVER_KEY_REJECTED',
  /** telli is rate limiting us; `extensions.retryAfterSeconds` when telli said. */
  RATE_LIMITED: 'RATE_LIMITED',
  /**
   * This deployment's telli budget (`TELLI_RATE_LIMIT_PER_SECOND`, shared by every instance) had
   * no slot for the call before the request's deadline: telli was not called (a write did not
   * happen). `extensions.retryAfterSeconds`: when a slot is likely free.
   */
  TELLI_BUDGET_EXHAUSTED: 'TELLI_BUDGET_EXHAUSTED',
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
  /** The server is at capacity (operations or cost in flight); retry after `Retry-After` (HTTP 503). */
  OVERLOADED: 'OVERLOADED',
  /** No such route: the path is not exactly one this server serves (HTTP 404). */
  NOT_FOUND: 'NOT_FOUND',
  /** The HTTP request itself is malformed: invalid JSON, an invalid `Content-Length`, no query (HTTP 400). */
  BAD_REQUEST: 'BAD_REQUEST',
  /** A GET or "simple" POST without the `x-graphql-yoga-csrf` header (HTTP 403, CSRF prevention). */
  CSRF_HEADER_REQUIRED: 'CSRF_HEADER_REQUIRED',
  /** A WebSocket upgrade from a web page of an origin `CORS_ORIGINS` does not list (HTTP 403). */
  ORIGIN_NOT_ALLOWED: 'ORIGIN_NOT_ALLOWED',
  /** Not GET or POST, or a mutation over GET (HTTP 405). */
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  /** `Accept` names no media type this server answers in (HTTP 406). */
  NOT_ACCEPTABLE: 'NOT_ACCEPTABLE',
  /** A body of a media type this server does not read (HTTP 415). */
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  /** The document is not valid GraphQL syntax (Yoga's code; HTTP 400, or 200 for `Accept: application/json`). */
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  /** The document does not validate against the schema (Yoga's code; HTTP 400, or 200 for `application/json`). */
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  /** `operationName` names no operation of the document, or several operations and no name (Yoga's code). */
  OPERATION_RESOLUTION_FAILURE: 'OPERATION_RESOLUTION_FAILURE',
  /**
   * Persisted documents: no document under this id. Apollo's APQ code and message
   * (`PersistedQueryNotFound`), so that Apollo clients and Hive Gateway's APQ transport retry with
   * the document: HTTP 200 in `allow` mode, where that retry registers it (as Apollo Server
   * answers); 404 in `only` mode, where nothing registers.
   */
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
  /**
   * `PERSISTED_OPERATIONS=off`: a request named a document by hash alone (HTTP 200, Apollo's code
   * and message `PersistedQueryNotSupported`), so that APQ clients stop hashing and send documents.
   */
  PERSISTED_QUERY_NOT_SUPPORTED: 'PERSISTED_QUERY_NOT_SUPPORTED',
  /** APQ (`allow`): the hash sent beside a document is not its sha256 (HTTP 400); nothing runs or registers. */
  PERSISTED_QUERY_MISMATCH: 'PERSISTED_QUERY_MISMATCH',
  /** Trusted documents, `PERSISTED_OPERATIONS=only`: a document was sent where only an id is accepted (HTTP 400). */
  PERSISTED_QUERY_ONLY: 'PERSISTED_QUERY_ONLY',
  /** Trusted documents: the id is not a sha256 (`<64 hex>` or `sha256:<64 hex>`), or two ids disagree (HTTP 400). */
  PERSISTED_QUERY_INVALID_ID: 'PERSISTED_QUERY_INVALID_ID',
  /** The caller, its peer address or this server has as many subscriptions open as allowed (`SUBSCRIPTIONS_MAX_PER_CALLER`, `_PER_PEER`, `SUBSCRIPTIONS_MAX`). */
  TOO_MANY_SUBSCRIPTIONS: 'TOO_MANY_SUBSCRIPTIONS',
  /** `/webhooks/telli`: no valid Svix signature for any configured secret, or a timestamp outside 5 minutes (HTTP 401). */
  WEBHOOK_SIGNATURE_INVALID: 'WEBHOOK_SIGNATURE_INVALID',
  /** `/webhooks/telli`: the event bus (Redis) is unreachable, so the delivery was not accepted; Svix redelivers (HTTP 503). */
  EVENT_BUS_UNAVAILABLE: 'EVENT_BUS_UNAVAILABLE',
  /** What a client sees of an unexpected failure: masked as "Unexpected error.", logged in full. */
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
