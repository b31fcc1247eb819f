import { createDemoContacts, type SandboxContact } from './data.js';

/**
 * An emulator of telli's documented contact endpoints over in-memory contacts. Framework-free:
 * `handle` takes a parsed request and returns status + JSON, so it can sit behind `node:http`
 * (see `server.ts`) or any other transport. It imports nothing from the layer.
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
  body?: unknown;
  headers?: Record<string, string>;
}

export const BATCH_LIMIT = 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface SandboxStats {
  /** Every request that reached a route (after auth), by endpoint name, e.g. `POST /v1/get-contacts-batch`. */
  calls: Record<string, number>;
  /** Requests refused with 401. */
  unauthorized: number;
  /** `contact_ids.length` of each batch call, in arrival order. */
  batchSizes: number[];
  /** Every `x-request-id` telli saw. */
  requestIds: string[];
  /** Routed calls per API key (tests check that forwarded keys are used, never mixed up). */
  callsByKey: Record<string, number>;
}

export interface SandboxOptions {
  /** Bearer keys the sandbox accepts; they all see `contacts`. */
  apiKeys: readonly string[];
  contacts?: SandboxContact[];
  /** Further keys, each a separate telli account with its own contacts. */
  tenants?: Record<string, SandboxContact[]>;
}

export interface SandboxCore {
  handle(request: SandboxRequest & { requestId?: string }): SandboxResponse;
  readonly stats: SandboxStats;
  resetStats(): void;
  /** Total calls across endpoints since the last reset. */
  totalCalls(): number;
  readonly contacts: ReadonlyMap<string, SandboxContact>;
  /**
   * Serve this raw v1 object for the contact instead of the generated one (v1 endpoints only), as
   * a real telli account could after a payload change. Pass `undefined` to restore.
   */
  setRawV1(id: string, raw: Record<string, unknown> | undefined): void;
  /** Make get-contacts-batch answer `status: "error"` with this message for the contact (`undefined` restores). */
  setItemError(id: string, message: string | undefined): void;
  /**
   * Serve this raw v2 object for the contact on every v2 endpoint (by id, by external id, list),
   * or answer 404 for it on v2 while v1 still knows it (`null`). `undefined` restores.
   */
  setRawV2(id: string, raw: Record<string, unknown> | null | undefined): void;
}

type V1 = Record<string, unknown>;

function v1Status(c: SandboxContact): string {
  return c.inCallSince ? 'in_progress' : c.reachedAt ? 'reached' : 'not_reached';
}

/** The get-contact shape (§2.1): everything, including `status` and `timezone`. */
function toV1Full(c: SandboxContact): V1 {
  return {
    contact_id: c.id,
    external_contact_id: c.externalId,
    external_url: c.externalUrl,
    created_at: c.createdAt,
    first_name: c.firstName,
    last_name: c.lastName,
    phone_number: c.phoneNumber,
    in_call_since: c.inCallSince,
    reached_at: c.reachedAt,
    contact_details: c.contactDetails,
    call_attempts: c.callAttempts,
    next_call_at: c.nextCallAt,
    email: c.email,
    timezone: c.timezone,
    salutation: c.salutation,
    status: v1Status(c),
  };
}

/** The get-contacts-batch `contact` (§2.4): as documented, without `status` and `timezone`. */
function toV1Batch(full: V1): V1 {
  const { status: _status, timezone: _timezone, ...rest } = full;
  return rest;
}

/** The get-contact-by-external-id shape (§2.3): ids and call state only. */
function toV1Reduced(full: V1): V1 {
  const pick = [
    'contact_id',
    'external_contact_id',
    'external_url',
    'created_at',
    'in_call_since',
    'reached_at',
    'call_attempts',
    'next_call_at',
  ];
  return Object.fromEntries(pick.filter((k) => k in full).map((k) => [k, full[k]]));
}

/** The v2 contact (§3.1): camelCase, typed properties, no call state. */
function toV2(c: SandboxContact): V1 {
  return {
    id: c.id,
    type: 'contact',
    externalId: c.externalId,
    externalUrl: c.externalUrl,
    salutation: c.salutation,
    firstName: c.firstName,
    lastName: c.lastName,
    phoneNumber: c.phoneNumber,
    timezoneIana: c.timezone,
    email: c.email,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    properties: c.properties.map((p) => ({ ...p, options: p.options ?? [] })),
  };
}

const json = (status: number, body: unknown): SandboxResponse => ({ status, body });

/** One telli account's contacts, indexed the ways telli looks them up. */
interface Store {
  list: SandboxContact[];
  byId: Map<string, SandboxContact>;
  byExternalId: Map<string, SandboxContact>;
}

function createStore(list: SandboxContact[]): Store {
  return {
    list,
    byId: new Map(list.map((c) => [c.id.toLowerCase(), c])),
    byExternalId: new Map(list.filter((c) => c.externalId !== null).map((c) => [c.externalId as string, c])),
  };
}
const notFound = (what = 'Contact not found') => json(404, { error: what });

export function createSandboxCore(options: SandboxOptions): SandboxCore {
  const defaultStore = createStore(options.contacts ?? createDemoContacts());
  const stores = new Map<string, Store>();
  for (const key of options.apiKeys) stores.set(`Bearer ${key}`, defaultStore);
  for (const [key, contacts] of Object.entries(options.tenants ?? {}))
    stores.set(`Bearer ${key}`, createStore(contacts));
  const { byId } = defaultStore;
  const rawV1 = new Map<string, V1>();
  const itemErrors = new Map<string, string>();
  const rawV2 = new Map<string, V1 | null>();
  const stats: SandboxStats = { calls: {}, unauthorized: 0, batchSizes: [], requestIds: [], callsByKey: {} };

  const v1Full = (c: SandboxContact): V1 => rawV1.get(c.id.toLowerCase()) ?? toV1Full(c);
  const v2Of = (c: SandboxContact): V1 | null => {
    const raw = rawV2.get(c.id.toLowerCase());
    return raw === undefined ? toV2(c) : raw;
  };
  const v2Answer = (c: SandboxContact | undefined): SandboxResponse => {
    const body = c && v2Of(c);
    return body ? json(200, body) : notFound();
  };
  const count = (endpoint: string) => {
    stats.calls[endpoint] = (stats.calls[endpoint] ?? 0) + 1;
  };

  function batch({ byId }: Store, body: string): SandboxResponse {
    let ids: unknown;
    try {
      ids = (JSON.parse(body) as { contact_ids?: unknown }).contact_ids;
    } catch {
      return json(400, { error: 'Body must be JSON' });
    }
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) {
      return json(400, { error: 'contact_ids must be an array of strings' });
    }
    stats.batchSizes.push(ids.length);
    if (ids.length > BATCH_LIMIT) return json(400, { error: `contact_ids must contain at most ${BATCH_LIMIT} items` });
    const items = (ids as string[]).map((id) => {
      if (!UUID.test(id)) return { status: 'error', contactId: id, error: 'Invalid contact_id' };
      const contact = byId.get(id.toLowerCase());
      if (!contact) return { status: 'error', contactId: id, error: 'Contact not found' };
      const itemError = itemErrors.get(id.toLowerCase());
      if (itemError !== undefined) return { status: 'error', contactId: id, error: itemError };
      // A raw override is served verbatim: it stands for a payload telli changed under us.
      const raw = rawV1.get(contact.id.toLowerCase());
      return { status: 'success', contact: raw ?? toV1Batch(toV1Full(contact)) };
    });
    // telli does not document result order; answer out of order so clients cannot rely on it.
    return json(200, items.reverse());
  }

  function listV2({ list }: Store, query: URLSearchParams): SandboxResponse {
    const limitRaw = query.get('limit');
    const limit = limitRaw === null ? 50 : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      return json(400, { error: 'limit must be an integer between 1 and 100' });
    const cursor = query.get('cursor');
    let start = 0;
    if (cursor) {
      const decoded = Number(Buffer.from(cursor, 'base64url').toString());
      if (!Number.isInteger(decoded) || decoded < 0 || decoded > list.length)
        return json(400, { error: 'invalid cursor' });
      start = decoded;
    }
    // A contact hidden from v2 (`setRawV2(id, null)`) still takes its slot, so cursors stay stable.
    const data = list
      .slice(start, start + limit)
      .map(v2Of)
      .filter((c) => c !== null);
    const end = start + data.length;
    const hasNextPage = end < list.length;
    return json(200, {
      type: 'list',
      data,
      pageInfo: { hasNextPage, nextCursor: hasNextPage ? Buffer.from(String(end)).toString('base64url') : null },
      meta: { limit, count: data.length },
    });
  }

  function route(store: Store, method: string, path: string, query: URLSearchParams, body: string): SandboxResponse {
    const { byId, byExternalId } = store;
    const segments = path.split('/').slice(1);
    const [version, resource, param, ...extra] = segments;
    const decoded = (value: string | undefined) => {
      try {
        return value === undefined ? undefined : decodeURIComponent(value);
      } catch {
        return undefined;
      }
    };
    if (version === 'v1') {
      if (method === 'GET' && resource === 'verify-api-key' && param === undefined) {
        count('GET /v1/verify-api-key');
        return json(200, { valid: true });
      }
      if (method === 'POST' && resource === 'get-contacts-batch' && param === undefined) {
        count('POST /v1/get-contacts-batch');
        return batch(store, body);
      }
      if (method === 'GET' && resource === 'get-contact' && param && !extra.length) {
        count('GET /v1/get-contact');
        const contact = byId.get((decoded(param) ?? '').toLowerCase());
        return contact ? json(200, v1Full(contact)) : notFound();
      }
      if (method === 'GET' && resource === 'get-contact-by-external-id' && param && !extra.length) {
        count('GET /v1/get-contact-by-external-id');
        const contact = byExternalId.get(decoded(param) ?? '');
        return contact ? json(200, toV1Reduced(v1Full(contact))) : notFound();
      }
    }
    if (version === 'v2' && method === 'GET') {
      if (resource === 'contacts' && param === undefined) {
        count('GET /v2/contacts');
        return listV2(store, query);
      }
      if (resource === 'contacts' && param && !extra.length) {
        count('GET /v2/contacts/{id}');
        return v2Answer(byId.get((decoded(param) ?? '').toLowerCase()));
      }
      if (resource === 'external' && param === 'contacts' && extra.length === 1) {
        count('GET /v2/external/contacts/{externalId}');
        return v2Answer(byExternalId.get(decoded(extra[0]) ?? ''));
      }
    }
    return notFound('Not found');
  }

  return {
    stats,
    contacts: byId,
    handle(request) {
      const store = request.authorization ? stores.get(request.authorization) : undefined;
      if (!store || !request.authorization) {
        stats.unauthorized++;
        return json(401, { error: 'Unauthorized' });
      }
      if (request.requestId) stats.requestIds.push(request.requestId);
      const key = request.authorization.slice('Bearer '.length);
      stats.callsByKey[key] = (stats.callsByKey[key] ?? 0) + 1;
      const url = new URL(request.url, 'http://sandbox.invalid');
      return route(store, request.method, url.pathname, url.searchParams, request.body);
    },
    resetStats() {
      stats.calls = {};
      stats.unauthorized = 0;
      stats.batchSizes = [];
      stats.requestIds = [];
      stats.callsByKey = {};
    },
    totalCalls() {
      return Object.values(stats.calls).reduce((a, b) => a + b, 0);
    },
    setRawV1(id, raw) {
      if (raw === undefined) rawV1.delete(id.toLowerCase());
      else rawV1.set(id.toLowerCase(), raw);
    },
    setItemError(id, message) {
      if (message === undefined) itemErrors.delete(id.toLowerCase());
      else itemErrors.set(id.toLowerCase(), message);
    },
    setRawV2(id, raw) {
      if (raw === undefined) rawV2.delete(id.toLowerCase());
      else rawV2.set(id.toLowerCase(), raw);
    },
  };
}
