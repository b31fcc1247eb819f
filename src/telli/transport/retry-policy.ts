import type { CancelSignal } from './cancel.js';
import { TelliContractError, TelliError, TelliNetworkError, TelliTimeoutError } from './errors.js';

/**
 * Which failures a telli call may be sent again after. Every endpoint names its policy where it
 * calls the transport (`RETRY.read`, `RETRY.create`, …, or one of its own built from them), so
 * "retry this endpoint differently" is an edit at that one call. The transport applies a policy
 * the same way for every call: exponential backoff with full jitter, at least as long as telli's
 * `Retry-After`, never past the caller's deadline, and at most `maxAttempts` attempts.
 *
 * Two rules hold whatever the policy says, because telli cannot have acted in either case: a
 * request that certainly never left this process (see `CONNECT_CODES`) is sent again, and so is
 * one telli answered 429 (every policy lists it).
 */
export interface RetryPolicy {
  /**
   * What the call does to telli's data, which decides what a failure after an attempt that may
   * have reached telli means:
   * - `read`: nothing happened; the failure is the call's error;
   * - `idempotent-write` (PATCH, PUT, DELETE): sending it twice has the effect of sending it
   *   once; the failure is a `TelliOutcomeUnknownError` with `safeToRetry`;
   * - `write` (a POST that creates or dials: each arrival acts again): a
   *   `TelliOutcomeUnknownError` that is not safe to retry.
   * Writes also read telli's error body (its validation message) and learn whether an earlier
   * attempt may have acted (`JsonResponse.earlierAttemptMayHaveActed`).
   */
  readonly effect: 'read' | 'idempotent-write' | 'write';
  /** Statuses telli answered that are worth another attempt. */
  readonly statuses: ReadonlySet<number>;
  /**
   * Socket failures worth another attempt although the request may have reached telli. A timeout
   * after the request was sent never is: telli may still be working on it.
   */
  readonly networkCodes: ReadonlySet<string>;
  /** Attempts, the first included; the client's `maxAttempts` (TELLI_MAX_ATTEMPTS) when absent. */
  readonly maxAttempts?: number;
}

/** 429: telli refused to look at the request, so even a create is safe to send again. */
const THROTTLED = 429;

/** Gateway failures in front of telli's logic: worth another attempt of what can be repeated. */
const REPEATABLE_STATUSES: ReadonlySet<number> = new Set([THROTTLED, 502, 503, 504]);

/**
 * Socket failures worth another attempt of a read or an idempotent write: the request most likely
 * never reached telli's logic — but "most likely" is not enough for a create (see `CONNECT_CODES`).
 */
const RESET_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

const read: RetryPolicy = { effect: 'read', statuses: REPEATABLE_STATUSES, networkCodes: RESET_CODES };
/** A write is sent again only when telli certainly did not act: 429, or never sent. */
const onlyWhenNotActed = { statuses: new Set([THROTTLED]), networkCodes: new Set<string>() };

/** The policies the endpoints use. */
export const RETRY = {
  /** Reads by id and list pages, including the v1 batch read (a POST that only reads). */
  read,
  /**
   * Lookups by external id: reads, retried like any read. The lookup that settles a create whose
   * answer was lost relies on it: a lookup that fails leaves the create's outcome unknown.
   */
  lookup: read,
  /** PATCH and DELETE: the same retries as a read, since sending one twice changes nothing more. */
  idempotentWrite: { ...read, effect: 'idempotent-write' },
  /** Creates (`POST /v2/contacts`, the bulk create): a create sent twice may create twice. */
  create: { effect: 'write', ...onlyWhenNotActed },
  /** The auto dialer's calls: scheduling twice may call a person twice. */
  dialer: { effect: 'write', ...onlyWhenNotActed },
} as const satisfies Record<string, RetryPolicy>;

/**
 * Failures that can only happen while connecting, so before a byte of the request is written:
 * nothing listens (ECONNREFUSED), the name does not resolve (ENOTFOUND, EAI_AGAIN), there is no
 * route (EHOSTUNREACH, ENETUNREACH), or the TCP/TLS handshake did not finish in time
 * (UND_ERR_CONNECT_TIMEOUT). A request that failed like this is retried even when it is a create.
 * Deliberately absent: ECONNRESET, EPIPE and UND_ERR_SOCKET ("other side closed") — a peer may
 * reset or close the connection after reading (and acting on) the request, as the sandbox's
 * `reset-after` fault does; and UND_ERR_CLOSED / UND_ERR_DESTROYED, which mean we are shutting down.
 * A code alone is not trusted: the exchange must also have failed before undici started writing
 * the request (`RequestNotSentError`), so a code seen in an unexpected phase errs towards
 * "may have reached telli", never towards a duplicate.
 */
export const CONNECT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** How an attempt ended: telli's answer (any status), or the failure that stopped it. */
export type AttemptOutcome = { readonly status: number } | TelliError;

/** Why this outcome is worth another attempt under `policy`; `undefined` when it is not. */
export function retryReason(outcome: AttemptOutcome, policy: RetryPolicy, signal?: CancelSignal): string | undefined {
  if (outcome instanceof TelliNetworkError || outcome instanceof TelliTimeoutError) {
    // Never sent: telli cannot have acted, whatever the call does — unless the caller gave up.
    if (!outcome.mayHaveReachedTelli && !signal?.aborted) {
      return outcome instanceof TelliNetworkError ? `${outcome.code} (not sent)` : 'timeout (not sent)';
    }
    if (outcome instanceof TelliTimeoutError) return undefined;
    return policy.networkCodes.has(outcome.code) ? outcome.code : undefined;
  }
  if (outcome instanceof TelliError) return undefined;
  return policy.statuses.has(outcome.status) ? `HTTP ${outcome.status}` : undefined;
}

/** Whether telli may have acted on an attempt that ended like this. */
export function attemptMayHaveActed(outcome: AttemptOutcome): boolean {
  if (outcome instanceof TelliNetworkError || outcome instanceof TelliTimeoutError) return outcome.mayHaveReachedTelli;
  // A 2xx whose body is not JSON: telli did act, we just cannot read what it says.
  if (outcome instanceof TelliContractError) return true;
  if (outcome instanceof TelliError) return false;
  return outcome.status >= 500;
}
