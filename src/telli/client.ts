import { Pool, errors as undiciErrors } from 'undici';
import type { z } from 'zod';
import {
  TelliContractError,
  TelliError,
  TelliHttpError,
  TelliItemError,
  TelliNetworkError,
  TelliTimeoutError,
} from './errors.js';
import { batchItemSchema, batchResponseSchema, describeIssues, v1ContactSchema, type TelliContact } from './schemas.js';
import { createV2Reads, V2_ENDPOINTS, type V2Reads } from './v2.js';

/** telli's documented ceiling for `contact_ids` in one `get-contacts-batch` call. */
export const TELLI_BATCH_LIMIT = 1000;

export const ENDPOINTS = {
  contactsBatch: 'POST /v1/get-contacts-batch',
  contactByExternalId: 'GET /v1/get-contact-by-external-id',
  ...V2_ENDPOINTS,
} as const;

/** Per-call inputs that vary by caller: whose key, which request, when to give up. */
export interface CallOptions {
  apiKey: string;
  /** Sent as `x-request-id` so telli-side logs can be correlated with ours. */
  requestId?: string;
  /** Aborts the call, e.g. when the GraphQL request's deadline passes. */
  signal?: AbortSignal;
}

/** What one id resolves to: the contact, `null` when telli has none, or why it failed. */
export type ContactResult = TelliContact | null | TelliError;

export interface TelliClient extends V2Reads {
  /** Contacts by telli id, keyed by lower-cased id. Chunks above the vendor limit; never throws for a failed chunk — its ids map to the error. */
  getContactsBatch(ids: readonly string[], call: CallOptions): Promise<Map<string, ContactResult>>;
  /** The (reduced) contact for an external id, or `null` on 404. Throws a `TelliError` otherwise. */
  getContactByExternalId(externalId: string, call: CallOptions): Promise<TelliContact | null>;
  /** Closes pooled connections; in-flight calls finish first. */
  close(): Promise<void>;
}

export interface TelliClientOptions {
  baseUrl: string;
  /** Upper bound for one attempt: connect, headers and body. */
  timeoutMs: number;
  /** Sockets kept open to telli (keep-alive pool). */
  maxConnections?: number;
}

interface JsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed body for 2xx; `undefined` otherwise (non-2xx bodies are drained, never read). */
  json: unknown;
}

const NOT_FOUND = /not[\s_-]*found/i;

export function createTelliClient(options: TelliClientOptions): TelliClient {
  const base = new URL(options.baseUrl);
  // A base URL may carry a path prefix (a proxy in front of telli); the pool is per origin.
  const prefix = base.pathname.replace(/\/+$/, '');
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

  async function send(
    endpoint: string,
    method: 'GET' | 'POST',
    path: string,
    call: CallOptions,
    body?: unknown,
  ): Promise<JsonResponse> {
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = call.signal ? AbortSignal.any([timeout, call.signal]) : timeout;
    const headers: Record<string, string> = {
      authorization: `Bearer ${call.apiKey}`,
      accept: 'application/json',
    };
    if (call.requestId) headers['x-request-id'] = call.requestId;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await pool.request({
        method,
        path: prefix + path,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
      if (res.statusCode < 200 || res.statusCode >= 300) {
        await res.body.dump();
        return { status: res.statusCode, headers: res.headers, json: undefined };
      }
      const text = await res.body.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new TelliContractError(endpoint, ['body is not valid JSON']);
      }
      return { status: res.statusCode, headers: res.headers, json };
    } catch (error) {
      throw toTelliError(error, endpoint, timeout.aborted ? options.timeoutMs : undefined, call.signal);
    }
  }

  async function fetchChunk(ids: readonly string[], call: CallOptions, out: Map<string, ContactResult>): Promise<void> {
    const endpoint = ENDPOINTS.contactsBatch;
    let response: JsonResponse;
    try {
      response = await send(endpoint, 'POST', '/v1/get-contacts-batch', call, { contact_ids: ids });
      if (response.status !== 200) {
        throw new TelliHttpError(endpoint, response.status, parseRetryAfter(response.headers['retry-after']));
      }
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
      else out.set(id, unattributed.length ? new TelliContractError(endpoint, unattributed) : null);
    }
  }

  return {
    async getContactsBatch(ids, call) {
      const out = new Map<string, ContactResult>();
      const unique = [...new Set(ids.map((id) => id.toLowerCase()))];
      const chunks: string[][] = [];
      for (let i = 0; i < unique.length; i += TELLI_BATCH_LIMIT) chunks.push(unique.slice(i, i + TELLI_BATCH_LIMIT));
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
      if (response.status !== 200) {
        throw new TelliHttpError(endpoint, response.status, parseRetryAfter(response.headers['retry-after']));
      }
      const parsed = v1ContactSchema.safeParse(response.json);
      if (!parsed.success) throw new TelliContractError(endpoint, describeIssues(parsed.error));
      return parsed.data;
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

type ParsedItem = { id: string; value: ContactResult } | { unattributed: string };

function parseBatchItem(raw: unknown, index: number): ParsedItem {
  const endpoint = ENDPOINTS.contactsBatch;
  const item = batchItemSchema.safeParse(raw);
  if (!item.success) return { unattributed: `[${index}]: ${describeIssues(item.error).join(', ')}` };
  const { status, contact, error, contactId } = item.data;
  const rawContactId = contactIdOf(contact);
  const id = (contactId ?? rawContactId)?.toLowerCase();
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
    return { id, value: new TelliContractError(endpoint, describeIssues(parsed.error as z.ZodError)) };
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
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

function toTelliError(
  error: unknown,
  endpoint: string,
  timedOutAfterMs: number | undefined,
  callerSignal?: AbortSignal,
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
  if (callerSignal?.aborted) return new TelliTimeoutError(endpoint, 0);
  const code =
    error && typeof error === 'object' && 'code' in error && typeof error.code === 'string' ? error.code : 'UNKNOWN';
  return new TelliNetworkError(endpoint, code);
}
