import type { z } from 'zod';

/**
 * Failures talking to telli. These carry what the layer needs to decide an outcome (status,
 * retry hint, which contact) and never the API key, the base URL or a response body: their
 * messages are written to be safe to log.
 */
export abstract class TelliError extends Error {
  abstract readonly kind:
    'http' | 'timeout' | 'network' | 'contract' | 'item' | 'credentials' | 'outcome-unknown' | 'budget';
}

/** Where a failed attempt stopped: whether telli may have received (and acted on) the request. */
export interface AttemptFailure {
  /**
   * `false` only when the request certainly never left this process: it failed before undici
   * started writing it to a socket (connection refused, DNS, connect timeout, still queued).
   * A write that failed like that cannot have happened, so even a create may be retried.
   */
  mayHaveReachedTelli?: boolean;
}

/** telli answered the whole request with a non-2xx status. */
export class TelliHttpError extends TelliError {
  readonly kind = 'http';
  constructor(
    readonly endpoint: string,
    readonly status: number,
    /** From `Retry-After`, in seconds, when telli sent one. */
    readonly retryAfterSeconds?: number,
  ) {
    super(`telli ${endpoint} answered HTTP ${status}`);
    this.name = 'TelliHttpError';
  }
}

/** An attempt or the caller's deadline ran out before telli answered. */
export class TelliTimeoutError extends TelliError {
  readonly kind = 'timeout';
  /** See `AttemptFailure`: true unless the transport knows the request was never sent. */
  readonly mayHaveReachedTelli: boolean;
  constructor(
    readonly endpoint: string,
    readonly afterMs: number,
    failure: AttemptFailure = {},
  ) {
    super(`telli ${endpoint} did not answer within ${afterMs} ms`);
    this.name = 'TelliTimeoutError';
    this.mayHaveReachedTelli = failure.mayHaveReachedTelli ?? true;
  }
}

/** The connection failed (refused, reset, DNS). `code` is the socket error code, e.g. ECONNRESET. */
export class TelliNetworkError extends TelliError {
  readonly kind = 'network';
  /** See `AttemptFailure`: true unless the transport knows the request was never sent. */
  readonly mayHaveReachedTelli: boolean;
  constructor(
    readonly endpoint: string,
    readonly code: string,
    failure: AttemptFailure = {},
  ) {
    super(`telli ${endpoint} connection failed (${code})`);
    this.name = 'TelliNetworkError';
    this.mayHaveReachedTelli = failure.mayHaveReachedTelli ?? true;
  }
}

/** A zod failure as a contract error's `issues`: paths and messages, never the values. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
}

/** telli's payload broke the documented contract (bad JSON, missing id, wrongly typed field). */
export class TelliContractError extends TelliError {
  readonly kind = 'contract';
  constructor(
    readonly endpoint: string,
    /** zod issue paths and messages only — never values from the payload. */
    readonly issues: readonly string[],
    /**
     * Set for an id a batch answer had no entry for while some entry could not be attributed to
     * any id: that entry may or may not have been this contact. Asked alone, the id may be fine.
     */
    readonly ambiguous = false,
  ) {
    super(`telli ${endpoint} sent a payload that breaks the contract: ${issues.slice(0, 5).join('; ')}`);
    this.name = 'TelliContractError';
  }
}

/** A batch answered `status: "error"` for one contact (other than "not found"). */
export class TelliItemError extends TelliError {
  readonly kind = 'item';
  constructor(readonly endpoint: string) {
    super(`telli ${endpoint} reported an error for this contact`);
    this.name = 'TelliItemError';
  }
}

/**
 * No API key to call telli with (forwarded-key mode): the caller sent none, or an `Authorization`
 * header that is not `Bearer <key>`. Raised before any I/O.
 */
export class TelliCredentialsMissingError extends TelliError {
  readonly kind = 'credentials';
  constructor(readonly reason: 'absent' | 'malformed' = 'absent') {
    super(reason === 'absent' ? 'no telli API key for this call' : 'the telli API key sent is malformed');
    this.name = 'TelliCredentialsMissingError';
  }
}

/**
 * A write whose outcome is unknown: an attempt may have reached telli (it timed out, the
 * connection broke after the request was sent, or telli answered 5xx) and no later attempt
 * settled it. telli may or may not have acted; `lastFailure` is the last attempt's failure.
 */
export class TelliOutcomeUnknownError extends TelliError {
  readonly kind = 'outcome-unknown';
  constructor(
    readonly endpoint: string,
    readonly lastFailure: TelliError,
    /** Whether sending the same write again is harmless (PATCH, DELETE) or may repeat it (a create, a scheduled call). */
    readonly safeToRetry: boolean,
  ) {
    super(`telli ${endpoint}: the write may or may not have happened (${lastFailure.message})`);
    this.name = 'TelliOutcomeUnknownError';
  }
}

/**
 * The call was never sent: the telli budget (`TELLI_RATE_LIMIT_PER_SECOND`, shared by every
 * instance through Redis) had no slot for it before the caller's deadline (`reason: 'budget'`),
 * or telli had asked, with a 429 and `Retry-After` to any instance, to be left alone for longer
 * than the caller can wait (`reason: 'paused'`). Either way telli saw nothing, so even a create
 * is safe to send again after `retryAfterSeconds`.
 */
export class TelliBudgetError extends TelliError {
  readonly kind = 'budget';
  constructor(
    readonly endpoint: string,
    readonly reason: 'budget' | 'paused',
    /** When a slot is likely free again (whole seconds, at least 1). */
    readonly retryAfterSeconds: number,
  ) {
    super(
      reason === 'budget'
        ? `telli ${endpoint} was not called: no slot in the telli budget before the deadline`
        : `telli ${endpoint} was not called: telli asked for a pause that outlasts the deadline`,
    );
    this.name = 'TelliBudgetError';
  }
}
