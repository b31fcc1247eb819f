import { context, propagation, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { Pool, errors as undiciErrors } from 'undici';
import { delay, type CancelSignal } from './cancel.js';
import {
  TelliContractError,
  TelliCredentialsMissingError,
  TelliError,
  TelliHttpError,
  TelliItemError,
  TelliNetworkError,
  TelliTimeoutError,
} from './errors.js';
import { ExchangeTimeoutError, exchange, type RawResponse } from './http.js';
import { ConcurrencyLimiter } from './limiter.js';
import { batchItemSchema, batchResponseSchema, describeIssues, v1ContactSchema, type TelliContact } from './schemas.js';
import { createV2Reads, V2_ENDPOINTS, type V2Reads } from './v2.js';

/** telli's documented ceiling for `contact_ids` in one `get-contacts-batch` call. */
export const TELLI_BATCH_LIMIT = 1000;

export const ENDPOINTS = {
  contactsBatch: 'POST /v1/get-contacts-batch',
  contactByExternalId: 'GET /v1/get-contact-by-external-id',
  verifyApiKey: 'GET /v1/verify-api-key',
  ...V2_ENDPOINTS,
} as const;

/** Per-call inputs that vary by caller: whose key, which request, when to give up. */
export interface CallOptions {
  /** The telli key for this call; `undefined` fails the call before any I/O. */
  apiKey: string | undefined;
  /** Sent as `x-request-id` so telli-side logs can be correlated with ours. */
  requestId?: string;
  /** Aborts the call (and any queued or backing-off retry), e.g. at the GraphQL request's deadline. */
  signal?: CancelSignal;
  /** Epoch ms after which no retry is started (a `Retry-After` beyond it fails fast instead). */
  deadline?: number;
}

/** What one id resolves to: the contact, `null` when telli has none, or why it failed. */
export type ContactResult = TelliContact | null | TelliError;

export interface TelliClient extends V2Reads {
  /** Contacts by telli id, keyed by lower-cased id. Chunks above the vendor limit; never throws for a failed chunk — its ids map to the error. */
  getContactsBatch(ids: readonly string[], call: CallOptions): Promise<Map<string, ContactResult>>;
  /** The (reduced) contact for an external id, or `null` on 404. Throws a `TelliError` otherwise. */
  getContactByExternalId(externalId: string, call: CallOptions): Promise<TelliContact | null>;
  /**
   * One cheap, unretried call (`GET /v1/verify-api-key`) for readiness probes: 'ok' when telli is
   * reachable (and accepts `apiKey`, when one is given), a short reason otherwise.
   */
  probe(apiKey: string | undefined): Promise<'ok' | string>;
  /** Closes pooled connections; in-flight calls finish first. */
  close(): Promise<void>;
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

export interface TelliClientOptions {
  baseUrl: string;
  /** Upper bound for one attempt: connect, headers and body. */
  timeoutMs: number;
  /** Sockets kept open to telli (keep-alive pool). */
  maxConnections?: number;
  /** Attempts per read, first one included (429, 502–504, reset/refused are retried). */
  maxAttempts?: number;
  /** Backoff: full jitter over `min(retryMaxDelayMs, retryBaseDelayMs * 2^(attempt-1))`. */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Calls to telli in flight at once, across all callers; the rest queue. */
  maxConcurrency?: number;
  hooks?: TelliClientHooks;
  /** Injected for tests of the backoff; `Math.random` otherwise. */
  random?: () => number;
  /** OpenTelemetry tracer: a client span per attempt (off when omitted — no cost on the hot path). */
  tracer?: Tracer;
}

interface JsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed body for 2xx; `undefined` otherwise (non-2xx bodies are drained, never read). */
  json: unknown;
}

const NOT_FOUND = /not[\s_-]*found/i;
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
/** Socket failures worth another attempt: the request most likely never reached telli's logic. */
const RETRY_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

export function createTelliClient(options: TelliClientOptions): TelliClient {
  const base = new URL(options.baseUrl);
  // A base URL may carry a path prefix (a proxy in front of telli); the pool is per origin.
  const prefix = base.pathname.replace(/\/+$/, '');
  const maxAttempts = options.maxAttempts ?? 3;
  const retryBase = options.retryBaseDelayMs ?? 100;
  const retryMax = options.retryMaxDelayMs ?? 2000;
  const random = options.random ?? Math.random;
  const hooks = options.hooks ?? {};
  const limiter = new ConcurrencyLimiter(options.maxConcurrency ?? 32);
  /*
   * One keep-alive pool for the process. A plain `fetch` per call pays for WHATWG Request/Response
   * objects and a global dispatcher lookup each time; `Pool#request` reuses sockets directly and is
   * the cheapest HTTP client Node has.
   */
  const pool = new Pool(base.origin, {
    connections: options.maxConnections ?? 64,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    connect: { timeout: options.timeoutMs },
  });

  /** One HTTP exchange, bounded by the per-attempt timeout and the caller's signal. */
  function attemptOnce(
    endpoint: string,
    method: 'GET' | 'POST',
    path: string,
    call: CallOptions,
    body: string | undefined,
  ): Promise<JsonResponse> {
    const tracer = options.tracer;
    if (!tracer) return exchangeJson(endpoint, method, path, call, body);
    // A client span per attempt, child of the GraphQL operation's span; telli gets `traceparent`.
    return tracer.startActiveSpan(
      `telli ${endpoint}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { 'http.request.method': method, 'url.path': path, 'telli.endpoint': endpoint },
      },
      async (span) => {
        try {
          const response = await exchangeJson(endpoint, method, path, call, body, (headers) =>
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
    method: 'GET' | 'POST',
    path: string,
    call: CallOptions,
    body: string | undefined,
    decorate?: (headers: Record<string, string>) => void,
  ): Promise<JsonResponse> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (call.apiKey) headers['authorization'] = `Bearer ${call.apiKey}`;
    if (call.requestId) headers['x-request-id'] = call.requestId;
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
        signal: call.signal,
      });
    } catch (error) {
      const timedOut = error instanceof ExchangeTimeoutError;
      throw toTelliError(error, endpoint, timedOut ? options.timeoutMs : undefined, call.signal);
    }
    if (res.text === undefined) return { status: res.status, headers: res.headers, json: undefined };
    try {
      return { status: res.status, headers: res.headers, json: JSON.parse(res.text) };
    } catch {
      throw new TelliContractError(endpoint, ['body is not valid JSON']);
    }
  }

  /**
   * Reads only (GET, and the batch POST, which reads): retried on 429/502/503/504 and on reset or
   * refused connections, with exponential backoff and full jitter, at least as long as telli's
   * `Retry-After`, never past the caller's deadline. Timeouts and other 4xx are not retried.
   */
  async function send(
    endpoint: string,
    method: 'GET' | 'POST',
    path: string,
    call: CallOptions,
    body?: unknown,
  ): Promise<JsonResponse> {
    if (!call.apiKey) throw new TelliCredentialsMissingError();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      let outcome: JsonResponse | TelliError;
      try {
        outcome = await limiter.run(() => attemptOnce(endpoint, method, path, call, payload), call.signal);
      } catch (error) {
        outcome = toTelliError(error, endpoint, undefined, call.signal);
      }
      const durationMs = performance.now() - started;
      if (outcome instanceof TelliError) hooks.onAttempt?.({ endpoint, error: outcome, durationMs, attempt });
      else hooks.onAttempt?.({ endpoint, status: outcome.status, durationMs, attempt });

      const reason = retryReason(outcome);
      if (reason === undefined || attempt >= maxAttempts) return settle(outcome);
      const backoff = random() * Math.min(retryMax, retryBase * 2 ** (attempt - 1));
      const retryAfterMs =
        outcome instanceof TelliError ? 0 : (parseRetryAfter(outcome.headers['retry-after']) ?? 0) * 1000;
      const delayMs = Math.max(backoff, retryAfterMs);
      if (call.deadline !== undefined && Date.now() + delayMs >= call.deadline) return settle(outcome);
      hooks.onRetry?.({ endpoint, attempt, delayMs, reason });
      try {
        await delay(delayMs, call.signal);
      } catch {
        throw new TelliTimeoutError(endpoint, 0);
      }
    }
  }

  async function fetchChunk(ids: readonly string[], call: CallOptions, out: Map<string, ContactResult>): Promise<void> {
    const endpoint = ENDPOINTS.contactsBatch;
    let response: JsonResponse;
    try {
      response = await send(endpoint, 'POST', '/v1/get-contacts-batch', call, { contact_ids: ids });
      if (response.status !== 200) throw httpError(endpoint, response);
    } catch (error) {
      const failure = error instanceof TelliError ? error : new TelliNetworkError(endpoint, 'UNKNOWN');
      for (const id of ids) out.set(id, failure);
      return;
    }
    const items = batchResponseSchema.safeParse(response.json);
    if (!items.success) {
      const failure = new TelliContractError(endpoint, describeIssues(items.error));
      for (const id of ids) out.set(id, failure);
      return;
    }
    const chunkResults = new Map<string, ContactResult>();
    const unattributed: string[] = [];
    items.data.forEach((raw, index) => {
      const result = parseBatchItem(raw, index);
      if ('unattributed' in result) unattributed.push(result.unattributed);
      else chunkResults.set(result.id, result.value);
    });
    // telli's result order is undocumented: map by id, never by position.
    for (const id of ids) {
      const found = chunkResults.get(id);
      if (found !== undefined) out.set(id, found);
      // An id with no entry is "not found" — unless some entry could not be attributed to an id,
      // in which case it may have been this one, and claiming absence would be a lie.
      else out.set(id, unattributed.length ? new TelliContractError(endpoint, unattributed, true) : null);
    }
  }

  return {
    async getContactsBatch(ids, call) {
      const out = new Map<string, ContactResult>();
      const unique = [...new Set(ids.map((id) => id.toLowerCase()))];
      const chunks: string[][] = [];
      for (let i = 0; i < unique.length; i += TELLI_BATCH_LIMIT) chunks.push(unique.slice(i, i + TELLI_BATCH_LIMIT));
      for (const chunk of chunks) hooks.onBatch?.(chunk.length);
      await Promise.all(chunks.map((chunk) => fetchChunk(chunk, call, out)));
      return out;
    },

    async getContactByExternalId(externalId, call) {
      const endpoint = ENDPOINTS.contactByExternalId;
      const response = await send(
        endpoint,
        'GET',
        `/v1/get-contact-by-external-id/${encodeURIComponent(externalId)}`,
        call,
      );
      if (response.status === 404) return null;
      if (response.status !== 200) throw httpError(endpoint, response);
      const parsed = v1ContactSchema.safeParse(response.json);
      if (!parsed.success) throw new TelliContractError(endpoint, describeIssues(parsed.error));
      return parsed.data;
    },

    async probe(apiKey) {
      const endpoint = ENDPOINTS.verifyApiKey;
      try {
        const { status } = await attemptOnce(endpoint, 'GET', '/v1/verify-api-key', { apiKey }, undefined);
        if (status >= 200 && status < 300) return 'ok';
        if ((status === 401 || status === 403) && apiKey) return `telli rejected the API key (HTTP ${status})`;
        // Without a key (forwarded mode) any non-5xx answer proves telli is reachable.
        return status < 500 ? 'ok' : `telli answered HTTP ${status}`;
      } catch (error) {
        const failure = toTelliError(error, endpoint, undefined);
        return failure instanceof TelliNetworkError ? `unreachable (${failure.code})` : failure.kind;
      }
    },
    ...createV2Reads(
      send,
      (endpoint, response) =>
        new TelliHttpError(endpoint, response.status, parseRetryAfter(response.headers['retry-after'])),
    ),

    async close() {
      await pool.close();
    },
  };
}

function settle(outcome: JsonResponse | TelliError): JsonResponse {
  if (outcome instanceof TelliError) throw outcome;
  return outcome;
}

function retryReason(outcome: JsonResponse | TelliError): string | undefined {
  if (outcome instanceof TelliNetworkError) return RETRY_NETWORK_CODES.has(outcome.code) ? outcome.code : undefined;
  if (outcome instanceof TelliError) return undefined;
  return RETRY_STATUSES.has(outcome.status) ? `HTTP ${outcome.status}` : undefined;
}

function httpError(endpoint: string, response: JsonResponse): TelliHttpError {
  return new TelliHttpError(endpoint, response.status, parseRetryAfter(response.headers['retry-after']));
}

type ParsedItem = { id: string; value: ContactResult } | { unattributed: string };

function parseBatchItem(raw: unknown, index: number): ParsedItem {
  const endpoint = ENDPOINTS.contactsBatch;
  const item = batchItemSchema.safeParse(raw);
  if (!item.success) return { unattributed: `[${index}]: ${describeIssues(item.error).join(', ')}` };
  const { status, contact, error, contactId } = item.data;
  const id = (contactId ?? contactIdOf(contact))?.toLowerCase();
  if (status === 'error') {
    if (!id) return { unattributed: `[${index}]: error entry without contactId` };
    return { id, value: typeof error === 'string' && NOT_FOUND.test(error) ? null : new TelliItemError(endpoint) };
  }
  if (contact === undefined || contact === null) {
    if (!id) return { unattributed: `[${index}]: entry without contact` };
    return { id, value: null };
  }
  const parsed = v1ContactSchema.safeParse(contact);
  if (!parsed.success) {
    if (!id) return { unattributed: `[${index}].contact: ${describeIssues(parsed.error).join(', ')}` };
    return { id, value: new TelliContractError(endpoint, describeIssues(parsed.error)) };
  }
  return { id: parsed.data.id.toLowerCase(), value: parsed.data };
}

function contactIdOf(contact: unknown): string | undefined {
  if (contact && typeof contact === 'object' && 'contact_id' in contact) {
    const id = (contact as { contact_id: unknown }).contact_id;
    if (typeof id === 'string' && id.length > 0) return id;
  }
  return undefined;
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

function toTelliError(
  error: unknown,
  endpoint: string,
  timedOutAfterMs: number | undefined,
  callerSignal?: CancelSignal,
): TelliError {
  if (error instanceof TelliError) return error;
  if (timedOutAfterMs !== undefined) return new TelliTimeoutError(endpoint, timedOutAfterMs);
  if (
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError ||
    error instanceof undiciErrors.ConnectTimeoutError
  ) {
    return new TelliTimeoutError(endpoint, 0);
  }
  // The caller's deadline passed (or the client went away) while waiting or in flight.
  if (callerSignal?.aborted) return new TelliTimeoutError(endpoint, 0);
  return new TelliNetworkError(endpoint, errorCode(error) ?? 'UNKNOWN');
}
