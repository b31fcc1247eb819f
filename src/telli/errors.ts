/**
 * Failures talking to telli. These carry what the layer needs to decide an outcome (status,
 * retry hint, which contact) and never the API key, the base URL or a response body: their
 * messages are written to be safe to log.
 */
export abstract class TelliError extends Error {
  abstract readonly kind: 'http' | 'timeout' | 'network' | 'contract' | 'item' | 'credentials';
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
  constructor(
    readonly endpoint: string,
    readonly afterMs: number,
  ) {
    super(`telli ${endpoint} did not answer within ${afterMs} ms`);
    this.name = 'TelliTimeoutError';
  }
}

/** The connection failed (refused, reset, DNS). `code` is the socket error code, e.g. ECONNRESET. */
export class TelliNetworkError extends TelliError {
  readonly kind = 'network';
  constructor(
    readonly endpoint: string,
    readonly code: string,
  ) {
    super(`telli ${endpoint} connection failed (${code})`);
    this.name = 'TelliNetworkError';
  }
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

/** No API key to call telli with (forwarded-key mode, caller sent none). Raised before any I/O. */
export class TelliCredentialsMissingError extends TelliError {
  readonly kind = 'credentials';
  constructor() {
    super('no telli API key for this call');
    this.name = 'TelliCredentialsMissingError';
  }
}
