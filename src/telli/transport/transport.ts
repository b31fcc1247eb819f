import { context, propagation, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { Pool, errors as undiciErrors } from 'undici';
import type { z } from 'zod';
import { delay, type CancelSignal } from './cancel.js';
import {
  TelliBudgetError,
  TelliContractError,
  TelliCredentialsMissingError,
  TelliError,
  TelliHttpError,
  TelliNetworkError,
  TelliOutcomeUnknownError,
  TelliTimeoutError,
  describeIssues,
  type AttemptFailure,
} from './errors.js';
import {
  ExchangeTimeoutError,
  RequestNotSentError,
  ResponseTooLargeError,
  exchange,
  type HttpMethod,
  type RawResponse,
} from './http.js';
import type { Permit, TelliBudget } from './budget.js';
import { ConcurrencyLimiter } from './limiter.js';
import { attemptMayHaveActed, CONNECT_CODES, retryReason, type RetryPolicy } from './retry-policy.js';

/**
 * How every telli call travels: the keep-alive pool, the auth header, the per-attempt timeout, the
 * concurrency limit, retries with backoff, tracing and the observability hooks. The endpoint
 * modules (`contacts/`, `calls.ts`, `agents.ts`, `dialer.ts`) know paths and payloads; they reach
 * telli only through `send` and `readOne`, each call naming the `RetryPolicy` it may be retried by.
 */

/** Per-call inputs that vary by caller: whose key, which request, when to give up. */
export interface CallOptions {
  /** The telli key for this call; `undefined` fails the call before any I/O. */
  apiKey: string | undefined;
  /** Why there is no key, for the error (a caller's `Authorization` header that is not a bearer key). */
  missingKey?: 'absent' | 'malformed';
  /** Sent as `x-request-id` so telli-side logs can be correlated with ours. */
  requestId?: string;
  /** Aborts the call (and any queued or backing-off retry), e.g. at the GraphQL request's deadline. */
  signal?: CancelSignal;
  /** Epoch ms after which no retry is started (a `Retry-After` beyond it fails fast instead). */
  deadline?: number;
  /**
   * A slot in the budget taken for this call ahead of it (group commit collects ids until its
   * slot comes): the first attempt uses it instead of taking one. Used once (`Permit.claim`).
   */
  permit?: Permit | undefined;
}

/** Observability hooks (metrics, logs); called synchronously, must not throw. */
export interface TelliClientHooks {
  /** After every HTTP attempt that got a status (`status`) or failed at the socket (`error`). */
  onAttempt?(event: {
    endpoint: string;
    status?: number;
    error?: TelliError;
    durationMs: number;
    attempt: number;
  }): void;
  /** Before sleeping for a retry. */
  onRetry?(event: { endpoint: string; attempt: number; delayMs: number; reason: string }): void;
  /** For every batch chunk sent: how many ids it carries. */
  onBatch?(size: number): void;
  /**
   * For every get-contacts-batch call the shared reads make (`createCoalescingClient`): how many
   * ids and callers (per-request loader batches) it carries, and how long its first id waited for
   * the calls ahead of it (0 when it went out at once).
   */
  onSharedBatch?(event: { ids: number; callers: number; waitedMs: number }): void;
}

/** Every setting is required: their defaults are `src/config.ts`'s, and only there. */
export interface TelliClientOptions {
  baseUrl: string;
  /** Upper bound for one attempt: connect, headers and body. */
  timeoutMs: number;
  /** Sockets kept open to telli (keep-alive pool). */
  maxConnections: number;
  /** Largest response body read; a larger one is a contract error (UPSTREAM_INVALID_RESPONSE). */
  maxResponseBytes: number;
  /** Attempts per call, first one included, unless the call's `RetryPolicy` says otherwise. */
  maxAttempts: number;
  /** Backoff: full jitter over `min(retryMaxDelayMs, retryBaseDelayMs * 2^(attempt-1))`. */
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  /** Calls to telli in flight at once, across all callers; the rest queue. */
  maxConcurrency: number;
  hooks?: TelliClientHooks;
  /** Injected for tests of the backoff; `Math.random` otherwise. */
  random?: () => number;
  /** OpenTelemetry tracer: a client span per attempt (off when omitted — no cost on the hot path). */
  tracer?: Tracer;
  /**
   * Calls per second per key and telli's pauses (`budget.ts`): every attempt, retries included,
   * waits for its slot before it takes a place at the concurrency limit, and a 429 with
   * `Retry-After` pauses the key. None: no limit, and a 429 delays only the call that got it.
   */
  budget?: TelliBudget;
}

export interface JsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed body for 2xx; `undefined` otherwise. */
  json: unknown;
  /**
   * Writes only: the parsed body of a non-2xx answer (telli's `{ message, code }`), `undefined`
   * when there was none, it was not JSON or it was too long. Reads drain error bodies unread.
   */
  errorBody: unknown;
  /**
   * Writes only: an earlier attempt of this call may have reached telli before this answer (it
   * was retried after a reset or a 5xx). A DELETE answered 404 then most likely deleted.
   */
  earlierAttemptMayHaveActed: boolean;
}

export type Method = HttpMethod;

/** What an attempt whose budget slot passed while it queued answers: it takes a new slot. */
const LATE = Symbol('late');

/** The longest error body a write reads: a validation message, never a page of HTML. */
const ERROR_BODY_LIMIT = 8 * 1024;

export interface Transport {
  /**
   * A call with the retries `retry` allows (see `retry-policy.ts`). Throws a `TelliError` when no
   * answer was had — for writes a `TelliOutcomeUnknownError` when telli may have acted.
   */
  send(
    endpoint: string,
    method: Method,
    path: string,
    call: CallOptions,
    retry: RetryPolicy,
    body?: unknown,
  ): Promise<JsonResponse>;
  /** One unretried, unlimited attempt (readiness probes). */
  attemptOnce(endpoint: string, method: Method, path: string, call: CallOptions): Promise<JsonResponse>;
  /**
   * `GET path` of one record: parsed by `schema`, `null` on 404, a `TelliHttpError` for any other
   * non-200 and a `TelliContractError` when the payload breaks the schema.
   */
  readOne<T>(
    endpoint: string,
    path: string,
    call: CallOptions,
    schema: z.ZodType<T>,
    retry: RetryPolicy,
  ): Promise<T | null>;
  /** Closes pooled connections; in-flight calls finish first. */
  close(): Promise<void>;
}

export function createTransport(options: TelliClientOptions): Transport {
  const base = new URL(options.baseUrl);
  // A base URL may carry a path prefix (a proxy in front of telli); the pool is per origin.
  const prefix = base.pathname.replace(/\/+$/, '');
  const { maxAttempts, retryBaseDelayMs: retryBase, retryMaxDelayMs: retryMax } = options;
  const random = options.random ?? Math.random;
  const hooks = options.hooks ?? {};
  const limiter = new ConcurrencyLimiter(options.maxConcurrency);
  const budget = options.budget;
  /*
   * One keep-alive pool for the process. A plain `fetch` per call pays for WHATWG Request/Response
   * objects and a global dispatcher lookup each time; a pool's dispatcher reuses sockets directly
   * and is the cheapest HTTP client Node has.
   */
  const pool = new Pool(base.origin, {
    connections: options.maxConnections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    connect: { timeout: options.timeoutMs },
  });

  /** One HTTP exchange, bounded by the per-attempt timeout and the caller's signal. */
  function attemptOnce(
    endpoint: string,
    method: Method,
    path: string,
    call: CallOptions,
    body?: string,
    readErrorBody = false,
  ): Promise<JsonResponse> {
    const tracer = options.tracer;
    if (!tracer) return exchangeJson(endpoint, method, path, call, body, readErrorBody);
    // A client span per attempt, child of the GraphQL operation's span; telli gets `traceparent`.
    return tracer.startActiveSpan(
      `telli ${endpoint}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { 'http.request.method': method, 'url.path': path, 'telli.endpoint': endpoint },
      },
      async (span) => {
        try {
          const response = await exchangeJson(endpoint, method, path, call, body, readErrorBody, (headers) =>
            propagation.inject(context.active(), headers),
          );
          span.setAttribute('http.response.status_code', response.status);
          if (response.status >= 400)
            span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${response.status}` });
          return response;
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof TelliError ? error.kind : 'error' });
          throw error;
        } finally {
          span.end();
        }
      },
    );
  }

  async function exchangeJson(
    endpoint: string,
    method: Method,
    path: string,
    call: CallOptions,
    body: string | undefined,
    readErrorBody: boolean,
    decorate?: (headers: Record<string, string>) => void,
  ): Promise<JsonResponse> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (call.apiKey) headers['authorization'] = `Bearer ${call.apiKey}`;
    if (call.requestId) headers['x-request-id'] = call.requestId;
    // Only a request with a body declares one: a DELETE carries none (telli-api.md §3.8).
    if (body !== undefined) headers['content-type'] = 'application/json';
    decorate?.(headers);
    let res: RawResponse;
    try {
      res = await exchange(pool, {
        method,
        path: prefix + path,
        headers,
        body,
        timeoutMs: options.timeoutMs,
        maxBodyBytes: options.maxResponseBytes,
        signal: call.signal,
        ...(readErrorBody && { errorBodyLimit: ERROR_BODY_LIMIT }),
      });
    } catch (error) {
      if (error instanceof ResponseTooLargeError) throw new TelliContractError(endpoint, [error.message]);
      const notSent = error instanceof RequestNotSentError;
      const cause = notSent ? error.reason : error;
      const timedOut = cause instanceof ExchangeTimeoutError;
      // Not sent, and failed in a way that only happens before sending (see CONNECT_CODES).
      const certainlyUnsent =
        notSent && (timedOut || call.signal?.aborted === true || CONNECT_CODES.has(errorCode(cause) ?? ''));
      throw toTelliError(cause, endpoint, timedOut ? options.timeoutMs : undefined, call.signal, {
        mayHaveReachedTelli: !certainlyUnsent,
      });
    }
    const answer = { status: res.status, headers: res.headers, earlierAttemptMayHaveActed: false };
    if (res.status < 200 || res.status >= 300) {
      return { ...answer, json: undefined, errorBody: res.text === undefined ? undefined : parseLeniently(res.text) };
    }
    // A 204 (DELETE) has no body at all.
    if (res.text === undefined || res.text === '') return { ...answer, json: undefined, errorBody: undefined };
    try {
      return { ...answer, json: JSON.parse(res.text), errorBody: undefined };
    } catch {
      throw new TelliContractError(endpoint, ['body is not valid JSON']);
    }
  }

  /**
   * One call with the retries its policy allows (`RetryPolicy`): exponential backoff with full
   * jitter, at least as long as telli's `Retry-After`, never past the caller's deadline. 4xx other
   * than 429, and timeouts once the request was sent, are never retried; a failure before it was
   * sent always is (telli cannot have seen it).
   */
  async function send(
    endpoint: string,
    method: Method,
    path: string,
    call: CallOptions,
    retry: RetryPolicy,
    body?: unknown,
  ): Promise<JsonResponse> {
    if (!call.apiKey) throw new TelliCredentialsMissingError(call.missingKey);
    const { effect } = retry;
    const attempts = retry.maxAttempts ?? maxAttempts;
    const isWrite = effect !== 'read';
    const payload = body === undefined ? undefined : JSON.stringify(body);
    /** Whether an attempt before the current one may have reached telli (writes only). */
    let earlierMayHaveActed = false;
    /**
     * The call's end. A write that got no definitive answer (2xx, or a 4xx other than 429) after
     * an attempt that may have reached telli has an unknown outcome; anything else is as it was.
     */
    const conclude = (outcome: JsonResponse | TelliError, mayHaveActed: boolean): JsonResponse => {
      const definitive = !(outcome instanceof TelliError) && outcome.status < 500 && outcome.status !== 429;
      if (definitive) return isWrite ? { ...outcome, earlierAttemptMayHaveActed: earlierMayHaveActed } : outcome;
      if (isWrite && mayHaveActed) {
        const last = outcome instanceof TelliError ? outcome : httpError(endpoint, outcome);
        throw new TelliOutcomeUnknownError(endpoint, last, effect === 'idempotent-write');
      }
      if (outcome instanceof TelliError) throw outcome;
      return outcome;
    };
    const apiKey = call.apiKey;
    let given = budget && call.permit?.claim() ? call.permit : undefined;
    /** One attempt: its slot in the budget, then its place at the concurrency limit, then telli. */
    const attemptInTurn = async (): Promise<JsonResponse | typeof LATE> => {
      const permit: Permit | undefined = given ?? (budget && (await budget.acquire(apiKey, endpoint, call)));
      given = undefined;
      return limiter.run<JsonResponse | typeof LATE>(
        // A call that queued past its slot here would crowd the next slots: it takes a new one.
        () =>
          permit && !permit.usable()
            ? Promise.resolve(LATE)
            : attemptOnce(endpoint, method, path, call, payload, isWrite),
        call.signal,
      );
    };
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      let outcome: JsonResponse | TelliError;
      try {
        let answer = await attemptInTurn();
        while (answer === LATE) answer = await attemptInTurn();
        outcome = answer;
      } catch (error) {
        // Everything the exchange throws is a TelliError already; anything else is the limiter or
        // the budget giving up on a waiting call (deadline, client gone) — it never left the process.
        outcome = toTelliError(error, endpoint, undefined, call.signal, { mayHaveReachedTelli: false });
      }
      // Refused by the budget: never sent, so not an attempt (and not retried: no slot would come).
      if (outcome instanceof TelliBudgetError) return conclude(outcome, earlierMayHaveActed);
      const durationMs = performance.now() - started;
      if (outcome instanceof TelliError) hooks.onAttempt?.({ endpoint, error: outcome, durationMs, attempt });
      else hooks.onAttempt?.({ endpoint, status: outcome.status, durationMs, attempt });
      if (!(outcome instanceof TelliError) && outcome.status === 429) {
        const seconds = parseRetryAfter(outcome.headers['retry-after']);
        // telli asked every caller with this key to wait: the pause holds on every instance.
        if (seconds !== undefined && seconds > 0) budget?.pause(apiKey, seconds * 1000);
      }

      const mayHaveActed: boolean = earlierMayHaveActed || (isWrite && attemptMayHaveActed(outcome));
      const reason = retryReason(outcome, retry, call.signal);
      if (reason === undefined || attempt >= attempts) return conclude(outcome, mayHaveActed);
      const backoff = random() * Math.min(retryMax, retryBase * 2 ** (attempt - 1));
      const retryAfterMs =
        outcome instanceof TelliError ? 0 : (parseRetryAfter(outcome.headers['retry-after']) ?? 0) * 1000;
      const delayMs = Math.max(backoff, retryAfterMs);
      if (call.deadline !== undefined && Date.now() + delayMs >= call.deadline) return conclude(outcome, mayHaveActed);
      hooks.onRetry?.({ endpoint, attempt, delayMs, reason });
      try {
        await delay(delayMs, call.signal);
      } catch {
        return conclude(new TelliTimeoutError(endpoint, 0, { mayHaveReachedTelli: false }), mayHaveActed);
      }
      earlierMayHaveActed = mayHaveActed;
    }
  }

  return {
    send,
    attemptOnce: (endpoint, method, path, call) => attemptOnce(endpoint, method, path, call),
    async readOne(endpoint, path, call, schema, retry) {
      const response = await send(endpoint, 'GET', path, call, retry);
      if (response.status === 404) return null;
      if (response.status !== 200) throw httpError(endpoint, response);
      const parsed = schema.safeParse(response.json);
      if (!parsed.success) throw new TelliContractError(endpoint, describeIssues(parsed.error));
      return parsed.data;
    },
    async close() {
      await pool.close();
    },
  };
}

function parseLeniently(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A non-2xx answer as the error the rest of the layer maps: status and `Retry-After`. */
export function httpError(endpoint: string, response: JsonResponse): TelliHttpError {
  return new TelliHttpError(endpoint, response.status, parseRetryAfter(response.headers['retry-after']));
}

/** `Retry-After` as seconds (it may be delta-seconds or an HTTP-date). */
export function parseRetryAfter(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

function errorCode(error: unknown): string | undefined {
  if (!error || typeof error !== 'object') return undefined;
  if ('code' in error && typeof error.code === 'string') return error.code;
  if ('cause' in error) return errorCode(error.cause);
  return undefined;
}

export function toTelliError(
  error: unknown,
  endpoint: string,
  timedOutAfterMs: number | undefined,
  callerSignal?: CancelSignal,
  failure: AttemptFailure = {},
): TelliError {
  if (error instanceof TelliError) return error;
  if (timedOutAfterMs !== undefined) return new TelliTimeoutError(endpoint, timedOutAfterMs, failure);
  if (
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError ||
    error instanceof undiciErrors.ConnectTimeoutError
  ) {
    return new TelliTimeoutError(endpoint, 0, failure);
  }
  // The caller's deadline passed (or the client went away) while waiting or in flight.
  if (callerSignal?.aborted) return new TelliTimeoutError(endpoint, 0, failure);
  return new TelliNetworkError(endpoint, errorCode(error) ?? 'UNKNOWN', failure);
}
