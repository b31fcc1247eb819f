import { createAccount, callsOf, type Account, type DialerEntry } from './account.js';
import type { SandboxAgent } from './agents/demo.js';
import { createAgentRoutes } from './agents/routes.js';
import type { SandboxCall } from './calls/model.js';
import { createCallRoutes } from './calls/routes.js';
import { createDemoContacts } from './contacts/demo.js';
import { PROPERTY_DEFINITIONS, type SandboxContact, type SandboxPropertyDefinition } from './contacts/model.js';
import { createContactRoutes } from './contacts/routes.js';
import { createLiveDialer, type DialerOptions } from './dialer/live.js';
import { createDialerRoutes } from './dialer/routes.js';
import { createOverrides } from './overrides.js';
import {
  json,
  matchRoute,
  notFound,
  parseBody,
  type Body,
  type Route,
  type SandboxRequest,
  type SandboxResponse,
} from './wire.js';

/**
 * An emulator of telli's documented contact, dialer, call and agent endpoints over in-memory
 * accounts. Framework-free: `handle` takes a parsed request and returns status + JSON, so it can
 * sit behind `node:http` (see `server.ts`) or any other transport. It imports nothing from the
 * layer.
 *
 * This file is the front desk: which account a key opens, the route table the resource rooms
 * (`contacts/`, `calls/`, `agents/`, `dialer/`) contribute, the counters tests read, and the
 * hooks tests use to make the sandbox misbehave the way telli could.
 */

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
  /**
   * Every authorised non-GET request except the read-only `POST /v1/get-contacts-batch`, in
   * arrival order: the endpoint name (or `METHOD /path` when no route matched) and the parsed JSON
   * body — `undefined` when there was none, the raw text when it was not JSON. Tests assert exact
   * write bodies with it (a key absent vs `null`). Reads are left out: the bench sends millions.
   */
  writes: { endpoint: string; body: unknown }[];
}

export interface SandboxOptions {
  /** Bearer keys the sandbox accepts; they all see `contacts`. */
  apiKeys: readonly string[];
  contacts?: SandboxContact[];
  /** Further keys, each a separate telli account with its own contacts. */
  tenants?: Record<string, SandboxContact[]>;
  /** When the demo data is dated from (epoch ms): the demo contacts, agents and calls. Default: now. */
  now?: number;
  /** The live dialer; without it, scheduled calls stay queued (nothing is ever dialled). */
  dialer?: DialerOptions;
}

export interface SandboxCore {
  handle(request: SandboxRequest & { requestId?: string }): SandboxResponse;
  readonly stats: SandboxStats;
  /** A closure, declared so: the sandbox server keeps it to wrap (`server.ts`). */
  resetStats: () => void;
  /** Total calls across endpoints since the last reset. */
  totalCalls(): number;
  /** The default account's live contacts by lower-case id: writes show here, deletes vanish. */
  readonly contacts: ReadonlyMap<string, SandboxContact>;
  /** The default account's agents (3–4, seeded from its contacts). */
  readonly agents: readonly SandboxAgent[];
  /** The property definitions of every account (the keys v2 writes may set). */
  readonly propertyDefinitions: readonly SandboxPropertyDefinition[];
  /**
   * The default account's calls of a contact, newest first, as list-calls serves them (without
   * raw overrides). Generated on first access and kept; a deleted contact's calls are still
   * returned (telli keeps call records). Unknown id: empty.
   */
  calls(contactId: string): readonly SandboxCall[];
  /**
   * How many of the default account's contacts have their calls in memory, and how many calls
   * that is: tests prove with it that calls are generated on demand, not for every seeded contact.
   */
  generatedCalls(): { contacts: number; calls: number };
  /** The default account's dialer entry for a contact scheduled through `schedule-call`. */
  dialerEntry(contactId: string): DialerEntry | undefined;
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
  /**
   * Serve this raw object for the call on list-calls (in the call's place) and get-call, in every
   * account that has the call. `undefined` restores.
   */
  setRawCall(callId: string, raw: Record<string, unknown> | undefined): void;
  /**
   * Schedules a call of one of the default account's contacts, as `schedule-call` does (the
   * autopilot uses it); false when it is unknown, already queued or in a call.
   */
  scheduleCall(contactId: string): boolean;
  /** Stops the live dialer: no call starts or ends after this. */
  stopDialer(): void;
}

export function createSandboxCore(options: SandboxOptions): SandboxCore {
  const now = options.now ?? Date.now();
  const defaultAccount = createAccount(options.contacts ?? createDemoContacts(undefined, undefined, now), now);
  const accounts = new Map<string, Account>();
  for (const key of options.apiKeys) accounts.set(`Bearer ${key}`, defaultAccount);
  for (const [key, contacts] of Object.entries(options.tenants ?? {}))
    accounts.set(`Bearer ${key}`, createAccount(contacts, now));
  const overrides = createOverrides();
  const stats: SandboxStats = {
    calls: {},
    unauthorized: 0,
    batchSizes: [],
    requestIds: [],
    callsByKey: {},
    writes: [],
  };
  const count = (endpoint: string) => {
    stats.calls[endpoint] = (stats.calls[endpoint] ?? 0) + 1;
  };

  const live = createLiveDialer(options.dialer, overrides);
  for (const account of new Set([defaultAccount, ...accounts.values()])) live.watch(account);
  const dialer = createDialerRoutes(live);
  const routes: Route[] = [
    {
      method: 'GET',
      segments: ['v1', 'verify-api-key'],
      name: 'GET /v1/verify-api-key',
      run: () => json(200, { valid: true }),
    },
    ...createContactRoutes({ overrides, onBatch: (size) => stats.batchSizes.push(size) }),
    ...dialer.routes,
    ...createCallRoutes(overrides),
    ...createAgentRoutes(),
  ];

  const defaultAccountContact = (id: string) => defaultAccount.byId.get(id.toLowerCase());

  return {
    stats,
    contacts: defaultAccount.byId,
    agents: defaultAccount.agents,
    propertyDefinitions: PROPERTY_DEFINITIONS,
    handle(request) {
      const account = request.authorization ? accounts.get(request.authorization) : undefined;
      if (!account || !request.authorization) {
        stats.unauthorized++;
        return json(401, { error: 'Unauthorized' });
      }
      if (request.requestId) stats.requestIds.push(request.requestId);
      const key = request.authorization.slice('Bearer '.length);
      stats.callsByKey[key] = (stats.callsByKey[key] ?? 0) + 1;
      const url = new URL(request.url, 'http://sandbox.invalid');
      const found = matchRoute(routes, request.method, url.pathname.split('/').slice(1));
      const write = request.method !== 'GET' && !found?.route.read;
      const body: Body = write ? parseBody(request.body) : { json: undefined };
      if (write) {
        const endpoint = found?.route.name ?? `${request.method} ${url.pathname}`;
        stats.writes.push({ endpoint, body: 'json' in body ? body.json : body.malformed });
      }
      if (!found) return notFound('Not found');
      count(found.route.name);
      return found.route.run({ account, params: found.params, query: url.searchParams, text: request.body, body });
    },
    resetStats() {
      stats.calls = {};
      stats.unauthorized = 0;
      stats.batchSizes = [];
      stats.requestIds = [];
      stats.callsByKey = {};
      stats.writes = [];
    },
    totalCalls() {
      return Object.values(stats.calls).reduce((a, b) => a + b, 0);
    },
    calls(contactId) {
      const contact = defaultAccountContact(contactId);
      if (contact) return callsOf(defaultAccount, contact);
      return defaultAccount.callsByContact.get(contactId.toLowerCase()) ?? [];
    },
    generatedCalls() {
      return { contacts: defaultAccount.callsByContact.size, calls: defaultAccount.callById.size };
    },
    dialerEntry(contactId) {
      return defaultAccount.dialer.get(contactId.toLowerCase());
    },
    setRawV1: overrides.setRawV1,
    setItemError: overrides.setItemError,
    setRawV2: overrides.setRawV2,
    setRawCall: overrides.setRawCall,
    scheduleCall(contactId) {
      const contact = defaultAccountContact(contactId);
      // Seeded `next_call_at`s have no dialer entry: scheduling replaces them, as schedule-call does.
      if (!contact || defaultAccount.dialer.has(contact.id.toLowerCase()) || contact.inCallSince !== null) return false;
      return 'loopId' in dialer.schedule(defaultAccount, { contact_id: contact.id }, false);
    },
    stopDialer: () => live.stop(),
  };
}
