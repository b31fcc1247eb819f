import type { Account } from './account.js';

/**
 * What every sandbox endpoint shares: the request and response the core handles, telli's error
 * bodies, the paging parameters, and the route table's shape and matching. The resource rooms
 * (`contacts/`, `calls/`, `agents/`, `dialer/`) each export their routes built from these.
 *
 * Error bodies: the read endpoints that predate the writes answer `{ error }` (kept as they were);
 * every newer v1 endpoint answers `{ message }` (what telli's n8n node reads) and every newer v2
 * endpoint `{ message, code }` (the shape telli's 409 on create is seen with, §12).
 */
export interface SandboxRequest {
  method: string;
  /** Path and query, as sent on the wire (still percent-encoded). */
  url: string;
  authorization: string | undefined;
  body: string;
}

export interface SandboxResponse {
  status: number;
  /** `undefined`: no body at all (204). */
  body?: unknown;
  headers?: Record<string, string>;
}

/** A telli id (contacts, calls, loops): telli hands out UUIDs. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A telli payload as the sandbox builds it: JSON-shaped, keyed by telli's own field names. */
export type TelliObject = Record<string, unknown>;

export const json = (status: number, body: unknown): SandboxResponse => ({ status, body });
export const notFound = (what = 'Contact not found') => json(404, { error: what });
export const v1Error = (status: number, message: string) => json(status, { message });
export const v2Error = (status: number, code: string, message: string) => json(status, { message, code });
export const v2Invalid = (message: string) => v2Error(400, 'VALIDATION_ERROR', message);
export const v2NotFound = (what = 'Contact not found') => v2Error(404, 'NOT_FOUND', what);

export type Body = { json: unknown } | { malformed: string };

export function parseBody(text: string): Body {
  if (text === '') return { json: undefined };
  try {
    return { json: JSON.parse(text) as unknown };
  } catch {
    return { malformed: text };
  }
}

export interface RouteContext {
  account: Account;
  /** Path parameters, percent-decoded; `undefined` when one does not decode. */
  params: (string | undefined)[];
  query: URLSearchParams;
  /** The raw body text. */
  text: string;
  /** The parsed body (non-GET routes that are not reads only). */
  body: Body;
}

export interface Route {
  method: string;
  /** Path segments; `{name}` matches any one non-empty segment. */
  segments: string[];
  name: string;
  /** A POST that only reads: its body is neither parsed up front nor recorded in `stats.writes`. */
  read?: boolean;
  run: (context: RouteContext) => SandboxResponse;
}

const decode = (segment: string) => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
};

/** The first route of the table the request names, with its path parameters. */
export function matchRoute(
  routes: readonly Route[],
  method: string,
  segments: string[],
): { route: Route; params: (string | undefined)[] } | undefined {
  for (const route of routes) {
    if (route.method !== method || route.segments.length !== segments.length) continue;
    const params: (string | undefined)[] = [];
    const fits = route.segments.every((expected, i) => {
      const actual = segments[i] as string;
      if (!expected.startsWith('{')) return expected === actual;
      params.push(decode(actual));
      return actual !== '';
    });
    if (fits) return { route, params };
  }
  return undefined;
}

/** The contact a path parameter names in the account (ids are case-insensitive). */
export const contactAt = (account: Account, id: string | undefined) => account.byId.get((id ?? '').toLowerCase());

/** A `limit` query parameter: 1–100, 50 when absent (§3.4, §7). */
export function pageLimit(query: URLSearchParams): number | undefined {
  const raw = query.get('limit');
  const limit = raw === null ? 50 : Number(raw);
  return Number.isInteger(limit) && limit >= 1 && limit <= 100 ? limit : undefined;
}

const encodeOffset = (offset: number) => Buffer.from(String(offset)).toString('base64url');

/** The offset an opaque v2 cursor stands for, `0` without one, `undefined` when it is not ours. */
export function decodeOffset(cursor: string | null, max: number): number | undefined {
  if (!cursor) return 0;
  const text = Buffer.from(cursor, 'base64url').toString();
  // `Number('')` is 0: without the digit check any garbage that decodes to nothing would pass.
  const decoded = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN;
  return decoded >= 0 && decoded <= max ? decoded : undefined;
}

/** The v2 list envelope (§3.4); `end` is the offset the next page starts at. */
export const v2Page = (data: unknown[], limit: number, hasNextPage: boolean, end: number) =>
  json(200, {
    type: 'list',
    data,
    pageInfo: { hasNextPage, nextCursor: hasNextPage ? encodeOffset(end) : null },
    meta: { limit, count: data.length },
  });
