import { randomUUID } from 'node:crypto';
import { createDemoAgents, type SandboxAgent } from './agents/demo.js';
import { createLiveCall, endLiveCall, type LiveCallOutcome } from './calls/live.js';
import type { SandboxCall } from './calls/model.js';
import { accountSeedOf, createDemoCalls, createDemoFromNumbers, pickCallQuirks, type CallQuirk } from './calls/demo.js';
import { createDemoContacts } from './contacts/demo.js';
import {
  PROPERTY_DEFINITIONS,
  propertyFromDefinition,
  type SandboxContact,
  type SandboxProperty,
  type SandboxPropertyDefinition,
} from './contacts/model.js';
import {
  checkV1Contact,
  checkV2Contact,
  isObject,
  UUID,
  type ContactFields,
  type PropertyWrite,
  type V1ContactInput,
} from './contacts/input.js';

/**
 * An emulator of telli's documented contact, dialer, call and agent endpoints over in-memory
 * accounts. Framework-free: `handle` takes a parsed request and returns status + JSON, so it can
 * sit behind `node:http` (see `server.ts`) or any other transport. It imports nothing from the
 * layer.
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

export const BATCH_LIMIT = 1000;
/** `POST /v1/add-contacts-batch` (§2.6). */
export const ADD_CONTACTS_BATCH_LIMIT = 1000;
/** `POST /v1/schedule-calls-batch` and `POST /v1/remove-from-auto-dialer-batch` (§10). */
export const DIALER_BATCH_LIMIT = 50;
/** The time zone of every sandbox account: v1 add-contact falls back to it (§2.5). */
export const ACCOUNT_TIMEZONE = 'Europe/Berlin';
/** How far ahead `schedule-call` puts `next_call_at`. */
export const SCHEDULE_DELAY_MS = 60_000;

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
  /** The live dialer; without it, scheduled calls stay queued (nothing is ever dialled). */
  dialer?: DialerOptions;
}

/** The webhooks telli sends (telli-api.md §9). */
export type SandboxWebhookType = 'contact_status_changed' | 'call_ended';

/**
 * The live dialer, as telli's works: a scheduled contact is called `callMs` after it was
 * scheduled (`next_call_at`), which puts it in progress, and the call ends `callMs` later,
 * reached or not. Each change is a webhook.
 */
export interface DialerOptions {
  /** A call starts this long after it is scheduled, and ends this long after it started. */
  callMs: number;
  /** Called with every webhook the dialer's telli account would send. */
  emit(type: SandboxWebhookType, payload: Record<string, unknown>): void;
  /** Whether a call reaches the contact; when omitted, every other call does (the first one does). */
  outcome?(contactId: string, attempt: number): LiveCallOutcome;
}

/** A contact queued in the auto dialer by `schedule-call` (seeded `nextCallAt`s have none). */
export interface DialerEntry {
  loopId: string;
  agentId: string;
  maxRetryDays: number | null;
  overrideFromNumber: string | null;
  scheduledAt: string;
}

export interface SandboxCore {
  handle(request: SandboxRequest & { requestId?: string }): SandboxResponse;
  readonly stats: SandboxStats;
  resetStats(): void;
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

const DEFINITIONS_CREATED_AT = new Date(Date.UTC(2025, 6, 1)).toISOString();

/** A property definition as `GET /v2/properties/contacts` serves it (§6). */
function toV2Definition(d: SandboxPropertyDefinition): V1 {
  return {
    type: 'contact_property',
    key: d.key,
    dataType: d.dataType,
    source: 'user',
    label: d.label,
    createdAt: DEFINITIONS_CREATED_AT,
    updatedAt: DEFINITIONS_CREATED_AT,
    ...(d.options && { options: d.options }),
  };
}

const json = (status: number, body: unknown): SandboxResponse => ({ status, body });
const notFound = (what = 'Contact not found') => json(404, { error: what });
const v1Error = (status: number, message: string) => json(status, { message });
const v2Error = (status: number, code: string, message: string) => json(status, { message, code });
const v2Invalid = (message: string) => v2Error(400, 'VALIDATION_ERROR', message);
const v2NotFound = (what = 'Contact not found') => v2Error(404, 'NOT_FOUND', what);
const EXTERNAL_ID_TAKEN = 'External ID already exists, must be unique';

/** Calls newest first by `triggered_at`; `call_id` breaks ties so every call has one place. */
const newestFirst = (a: SandboxCall, b: SandboxCall) =>
  b.triggered_at - a.triggered_at || (a.call_id < b.call_id ? -1 : a.call_id > b.call_id ? 1 : 0);

/**
 * One telli account: its contacts indexed the ways telli looks them up, its agents, the calls
 * generated so far, and its dialer queue. Contacts are replaced, never mutated, so objects a test
 * handed in (and may share between tenants) never change under it.
 */
interface Account {
  /** Lower-case ids in list order. A deleted id keeps its place (skipped), so list cursors stay valid. */
  order: string[];
  byId: Map<string, SandboxContact>;
  byExternalId: Map<string, SandboxContact>;
  agents: SandboxAgent[];
  agentById: Map<string, SandboxAgent>;
  fromNumbers: string[];
  quirks: Map<string, CallQuirk>;
  /** By lower-case contact id, newest first; kept after the contact is deleted. */
  callsByContact: Map<string, SandboxCall[]>;
  callById: Map<string, SandboxCall>;
  /** Every call of the account, newest first: built on the first account-wide listing or call-id miss. */
  timeline: SandboxCall[] | undefined;
  dialer: Map<string, DialerEntry>;
}

function createAccount(contacts: readonly SandboxContact[]): Account {
  const seed = accountSeedOf(contacts);
  const agents = createDemoAgents(seed);
  return {
    order: contacts.map((c) => c.id.toLowerCase()),
    byId: new Map(contacts.map((c) => [c.id.toLowerCase(), c])),
    byExternalId: new Map(contacts.filter((c) => c.externalId !== null).map((c) => [c.externalId as string, c])),
    agents,
    agentById: new Map(agents.map((a) => [a.id.toLowerCase(), a])),
    fromNumbers: createDemoFromNumbers(seed),
    quirks: pickCallQuirks(contacts),
    callsByContact: new Map(),
    callById: new Map(),
    timeline: undefined,
    dialer: new Map(),
  };
}

/** The contact's calls, generated from its current (for seeded contacts: still seeded) state once. */
function callsOf(account: Account, contact: SandboxContact): SandboxCall[] {
  const id = contact.id.toLowerCase();
  let calls = account.callsByContact.get(id);
  if (!calls) {
    const quirk = account.quirks.get(id);
    calls = createDemoCalls(contact, {
      agents: account.agents,
      fromNumbers: account.fromNumbers,
      ...(quirk && { quirk }),
    }).sort(newestFirst);
    account.callsByContact.set(id, calls);
    for (const call of calls) account.callById.set(call.call_id.toLowerCase(), call);
  }
  return calls;
}

/** All calls, newest first; the live dialer drops it when it adds a call. */
function timelineOf(account: Account): SandboxCall[] {
  if (!account.timeline) {
    for (const contact of account.byId.values()) callsOf(account, contact);
    account.timeline = [...account.callsByContact.values()].flat().sort(newestFirst);
  }
  return account.timeline;
}

/** Later than now and than `previous`: `updatedAt` must move even within one millisecond. */
function stamp(previous?: string): string {
  const floor = previous === undefined ? 0 : Date.parse(previous) + 1;
  return new Date(Math.max(Date.now(), floor)).toISOString();
}

/** A `limit` query parameter: 1–100, 50 when absent (§3.4, §7). */
function pageLimit(query: URLSearchParams): number | undefined {
  const raw = query.get('limit');
  const limit = raw === null ? 50 : Number(raw);
  return Number.isInteger(limit) && limit >= 1 && limit <= 100 ? limit : undefined;
}

const encodeOffset = (offset: number) => Buffer.from(String(offset)).toString('base64url');

/** The offset an opaque v2 cursor stands for, `0` without one, `undefined` when it is not ours. */
function decodeOffset(cursor: string | null, max: number): number | undefined {
  if (!cursor) return 0;
  const text = Buffer.from(cursor, 'base64url').toString();
  // `Number('')` is 0: without the digit check any garbage that decodes to nothing would pass.
  const decoded = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN;
  return decoded >= 0 && decoded <= max ? decoded : undefined;
}

const CALL_CURSOR = /^(\d{1,16}):([0-9a-f-]{36})$/;

/** A list-calls cursor names the last call served, so it survives calls vanishing from the list. */
const encodeCallCursor = (call: SandboxCall) =>
  Buffer.from(`${call.triggered_at}:${call.call_id}`).toString('base64url');

function decodeCallCursor(cursor: string): Pick<SandboxCall, 'triggered_at' | 'call_id'> | undefined {
  const match = CALL_CURSOR.exec(Buffer.from(cursor, 'base64url').toString());
  return match ? { triggered_at: Number(match[1]), call_id: match[2] as string } : undefined;
}

/** The index of the first call that comes after `last` in newest-first order (binary search). */
function indexAfter(calls: readonly SandboxCall[], last: Pick<SandboxCall, 'triggered_at' | 'call_id'>): number {
  let low = 0;
  let high = calls.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (newestFirst(calls[mid] as SandboxCall, last as SandboxCall) <= 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

type Body = { json: unknown } | { malformed: string };

function parseBody(text: string): Body {
  if (text === '') return { json: undefined };
  try {
    return { json: JSON.parse(text) as unknown };
  } catch {
    return { malformed: text };
  }
}

interface RouteContext {
  account: Account;
  /** Path parameters, percent-decoded; `undefined` when one does not decode. */
  params: (string | undefined)[];
  query: URLSearchParams;
  /** The raw body text. */
  text: string;
  /** The parsed body (non-GET routes that are not reads only). */
  body: Body;
}

interface Route {
  method: string;
  /** Path segments; `{name}` matches any one non-empty segment. */
  segments: string[];
  name: string;
  /** A POST that only reads: its body is neither parsed up front nor recorded in `stats.writes`. */
  read?: boolean;
  run: (context: RouteContext) => SandboxResponse;
}

export function createSandboxCore(options: SandboxOptions): SandboxCore {
  const defaultAccount = createAccount(options.contacts ?? createDemoContacts());
  const accounts = new Map<string, Account>();
  for (const key of options.apiKeys) accounts.set(`Bearer ${key}`, defaultAccount);
  for (const [key, contacts] of Object.entries(options.tenants ?? {}))
    accounts.set(`Bearer ${key}`, createAccount(contacts));
  const definitions = new Map(PROPERTY_DEFINITIONS.map((d) => [d.key, d]));
  const rawV1 = new Map<string, V1>();
  const itemErrors = new Map<string, string>();
  const rawV2 = new Map<string, V1 | null>();
  const rawCalls = new Map<string, V1>();
  const stats: SandboxStats = {
    calls: {},
    unauthorized: 0,
    batchSizes: [],
    requestIds: [],
    callsByKey: {},
    writes: [],
  };

  const v1Full = (c: SandboxContact): V1 => rawV1.get(c.id.toLowerCase()) ?? toV1Full(c);
  const v2Of = (c: SandboxContact): V1 | null => {
    const raw = rawV2.get(c.id.toLowerCase());
    return raw === undefined ? toV2(c) : raw;
  };
  const v2Answer = (c: SandboxContact | undefined): SandboxResponse => {
    const body = c && v2Of(c);
    return body ? json(200, body) : notFound();
  };
  const callOut = (call: SandboxCall): unknown => rawCalls.get(call.call_id.toLowerCase()) ?? call;
  const count = (endpoint: string) => {
    stats.calls[endpoint] = (stats.calls[endpoint] ?? 0) + 1;
  };
  const contactAt = (account: Account, id: string | undefined) => account.byId.get((id ?? '').toLowerCase());

  // --- contact writes -------------------------------------------------------------------------

  /** Stores `next` in place of `previous` (or as a new contact), keeping every index in step. */
  function put(account: Account, previous: SandboxContact | undefined, next: SandboxContact) {
    const id = next.id.toLowerCase();
    if (!previous) account.order.push(id);
    // A seeded contact's calls are derived from its seeded state: generate them before it changes.
    else callsOf(account, previous);
    if (previous?.externalId != null && account.byExternalId.get(previous.externalId) === previous)
      account.byExternalId.delete(previous.externalId);
    if (next.externalId !== null) account.byExternalId.set(next.externalId, next);
    account.byId.set(id, next);
  }

  function remove(account: Account, contact: SandboxContact) {
    callsOf(account, contact); // telli keeps call records: they stay readable by call id
    const id = contact.id.toLowerCase();
    account.byId.delete(id);
    if (contact.externalId !== null && account.byExternalId.get(contact.externalId) === contact)
      account.byExternalId.delete(contact.externalId);
    account.dialer.delete(id);
  }

  /** Whether another contact of the account already has this external id. */
  const externalIdTaken = (account: Account, externalId: string | null | undefined, self?: SandboxContact) => {
    if (externalId === null || externalId === undefined) return false;
    const owner = account.byExternalId.get(externalId);
    return owner !== undefined && owner.id !== self?.id;
  };

  const typed = (writes: readonly PropertyWrite[]): SandboxProperty[] =>
    writes.map((w) => propertyFromDefinition(w.definition, w.value));

  /** PATCH `properties`: the given keys are set (in place, or appended), a `null` value removes one. */
  function mergeProperties(current: readonly SandboxProperty[], writes: readonly PropertyWrite[]): SandboxProperty[] {
    const byKey = new Map(current.map((p) => [p.key, p]));
    for (const write of writes) {
      if (write.value === null) byKey.delete(write.definition.key);
      else byKey.set(write.definition.key, propertyFromDefinition(write.definition, write.value));
    }
    return [...byKey.values()];
  }

  function newContact(fields: ContactFields, extra: Pick<SandboxContact, 'contactDetails' | 'properties'>) {
    const now = stamp();
    const contact: SandboxContact = {
      id: randomUUID(),
      ...fields,
      createdAt: now,
      updatedAt: now,
      inCallSince: null,
      reachedAt: null,
      nextCallAt: null,
      callAttempts: 0,
      ...extra,
    };
    return contact;
  }

  /**
   * v1 `contact_details` and v2 `properties` are separate stores, as in the seed: a v1 write sets
   * only `contact_details` (a created contact has no properties) and a v2 write only
   * `properties` (a created contact has empty `contact_details`). telli's mapping between the two
   * is not documented (§5), and inventing one would let the layer depend on it.
   */
  function createV2({ account, body }: RouteContext): SandboxResponse {
    if (!('json' in body)) return v2Error(400, 'INVALID_JSON', 'Body must be JSON');
    const input = checkV2Contact(body.json, 'complete', definitions);
    if (!input.ok) return v2Invalid(input.message);
    const fields = input.value.fields as ContactFields;
    if (externalIdTaken(account, fields.externalId))
      return v2Error(409, 'EXTERNAL_ID_CONFLICT', `A contact with externalId "${fields.externalId}" already exists`);
    const contact = newContact(fields, { contactDetails: {}, properties: typed(input.value.properties ?? []) });
    put(account, undefined, contact);
    return json(201, toV2(contact));
  }

  function updateV2({ account, params, body }: RouteContext, mode: 'complete' | 'partial'): SandboxResponse {
    const contact = contactAt(account, params[0]);
    if (!contact) return v2NotFound();
    if (!('json' in body)) return v2Error(400, 'INVALID_JSON', 'Body must be JSON');
    const input = checkV2Contact(body.json, mode, definitions);
    if (!input.ok) return v2Invalid(input.message);
    const { fields, properties } = input.value;
    if (externalIdTaken(account, fields.externalId, contact))
      return v2Error(409, 'EXTERNAL_ID_CONFLICT', `Another contact has externalId "${fields.externalId}"`);
    const next: SandboxContact = {
      ...contact,
      ...fields,
      properties:
        mode === 'complete'
          ? typed(properties ?? [])
          : properties
            ? mergeProperties(contact.properties, properties)
            : contact.properties,
      updatedAt: stamp(contact.updatedAt),
    };
    put(account, contact, next);
    // Write answers are the stored truth; `setRawV2` overrides shape reads only.
    return json(200, toV2(next));
  }

  function deleteV2({ account, params }: RouteContext): SandboxResponse {
    const contact = contactAt(account, params[0]);
    if (!contact) return v2NotFound();
    remove(account, contact);
    return { status: 204 };
  }

  /** One v1 contact: the created contact's id, or the per-item error message. */
  function addV1(account: Account, item: unknown): { contactId: string } | { error: string } {
    const input = checkV1Contact(item, ACCOUNT_TIMEZONE);
    if (!input.ok) return { error: input.message };
    const { fields, contactDetails }: V1ContactInput = input.value;
    if (externalIdTaken(account, fields.externalId)) return { error: EXTERNAL_ID_TAKEN };
    const contact = newContact(fields, { contactDetails, properties: [] });
    put(account, undefined, contact);
    return { contactId: contact.id };
  }

  function addContact({ account, body }: RouteContext): SandboxResponse {
    if (!('json' in body)) return v1Error(400, 'Body must be JSON');
    const result = addV1(account, body.json);
    return 'error' in result ? v1Error(400, result.error) : json(200, { contact_id: result.contactId });
  }

  function addContactsBatch({ account, body }: RouteContext): SandboxResponse {
    if (!('json' in body)) return v1Error(400, 'Body must be JSON');
    const contacts = isObject(body.json) ? body.json['contacts'] : undefined;
    if (!Array.isArray(contacts)) return v1Error(400, 'contacts must be an array');
    if (contacts.length > ADD_CONTACTS_BATCH_LIMIT)
      return v1Error(400, `contacts must contain at most ${ADD_CONTACTS_BATCH_LIMIT} items`);
    // In order, so a repeated external id fails on its second occurrence, as against an existing one.
    const result = contacts.map((item: unknown) => {
      const externalId = isObject(item) ? (item['external_contact_id'] ?? null) : null;
      const outcome = addV1(account, item);
      return 'error' in outcome
        ? { external_contact_id: externalId, status: 'error', error: outcome.error }
        : { external_contact_id: externalId, status: 'success', contact_id: outcome.contactId };
    });
    const failed = result.filter((r) => r.status === 'error').length;
    return json(200, {
      total_processed: result.length,
      total_success: result.length - failed,
      total_failed: failed,
      // Not in input order (telli documents none): clients must map by external_contact_id.
      result: result.reverse(),
    });
  }

  // --- dialer ---------------------------------------------------------------------------------

  type Scheduled = { loopId: string } | { error: string };

  /**
   * Queues one contact. Scheduling a queued contact again replaces its entry (new loop id); the
   * docs say nothing about it, and a retried request should not fail. `next_call_at` moves, but
   * `updatedAt` does not: call state is not part of the v2 contact.
   */
  function schedule(account: Account, item: unknown, agentRequired: boolean): Scheduled {
    if (!isObject(item)) return { error: 'Body must be a JSON object' };
    const contactId = item['contact_id'];
    if (typeof contactId !== 'string' || !UUID.test(contactId)) return { error: 'Invalid contact_id' };
    const contact = contactAt(account, contactId);
    if (!contact) return { error: 'Contact not found' };
    const agentId = item['agent_id'];
    if (agentId === undefined || agentId === null) {
      if (agentRequired) return { error: 'agent_id is required' };
    } else if (typeof agentId !== 'string') return { error: 'Invalid agent_id' };
    else if (!account.agentById.has(agentId.toLowerCase())) return { error: 'Agent not found' };
    const maxRetryDays = item['max_retry_days'];
    if (maxRetryDays != null && (typeof maxRetryDays !== 'number' || !(maxRetryDays > 0)))
      return { error: 'max_retry_days must be a positive number' };
    const fromNumber = item['override_from_number'];
    if (fromNumber != null && (typeof fromNumber !== 'string' || !/^\+[1-9]\d{1,14}$/.test(fromNumber)))
      return { error: 'override_from_number must be an E.164 number' };
    const now = Date.now();
    const entry: DialerEntry = {
      loopId: randomUUID(),
      agentId: typeof agentId === 'string' ? agentId : (account.agents[0] as SandboxAgent).id,
      maxRetryDays: typeof maxRetryDays === 'number' ? maxRetryDays : null,
      overrideFromNumber: typeof fromNumber === 'string' ? fromNumber : null,
      scheduledAt: new Date(now).toISOString(),
    };
    const delay = options.dialer ? options.dialer.callMs : SCHEDULE_DELAY_MS;
    put(account, contact, { ...contact, nextCallAt: new Date(now + delay).toISOString() });
    account.dialer.set(contact.id.toLowerCase(), entry);
    if (options.dialer) later(delay, () => dial(account, contact.id.toLowerCase(), entry.loopId));
    return { loopId: entry.loopId };
  }

  // --- live dialer ----------------------------------------------------------------------------

  const dialerTimers = new Set<NodeJS.Timeout>();
  let dialerStopped = false;
  let dials = 0;

  function later(ms: number, fn: () => void) {
    if (dialerStopped) return;
    const timer = setTimeout(() => {
      dialerTimers.delete(timer);
      if (!dialerStopped) fn();
    }, ms);
    timer.unref();
    dialerTimers.add(timer);
  }

  const emit = (type: SandboxWebhookType, payload: Record<string, unknown>) => options.dialer?.emit(type, payload);

  /** The dialer reaches `next_call_at`: the contact is called (unless it left the queue meanwhile). */
  function dial(account: Account, id: string, loopId: string) {
    const dialer = options.dialer;
    const entry = account.dialer.get(id);
    const contact = account.byId.get(id);
    if (!dialer || !entry || entry.loopId !== loopId || !contact) return;
    // Already on the phone (a seeded call in progress, or a call placed meanwhile): try later.
    if (contact.inCallSince !== null) {
      later(dialer.callMs, () => dial(account, id, loopId));
      return;
    }
    account.dialer.delete(id);
    const now = Date.now();
    const attempt = contact.callAttempts + 1;
    const call = createLiveCall(contact, {
      agentId: entry.agentId,
      fromNumber: entry.overrideFromNumber ?? (account.fromNumbers[0] as string),
      attempt,
      callId: randomUUID(),
      now,
    });
    const next: SandboxContact = {
      ...contact,
      inCallSince: new Date(now).toISOString(),
      nextCallAt: null,
      callAttempts: attempt,
    };
    put(account, contact, next);
    addCall(account, call);
    emit('contact_status_changed', statusChanged(next, 'pending', now));
    const outcome = dialer.outcome?.(id, attempt) ?? (dials++ % 2 === 0 ? 'reached' : 'not_reached');
    later(dialer.callMs, () => hangUp(account, id, call.call_id, outcome));
  }

  /** The call ends; `reached_at` is the call's end, as for seeded calls. */
  function hangUp(account: Account, id: string, callId: string, outcome: LiveCallOutcome) {
    const contact = account.byId.get(id);
    const call = account.callById.get(callId.toLowerCase());
    if (!contact || !call) return;
    const now = Date.now();
    const agent = account.agentById.get(call.agent_id.toLowerCase());
    const ended = endLiveCall(call, contact, outcome, { language: agent?.language ?? 'en', now });
    replaceCall(account, ended);
    const next: SandboxContact = {
      ...contact,
      inCallSince: null,
      reachedAt: outcome === 'reached' ? new Date(now).toISOString() : contact.reachedAt,
    };
    put(account, contact, next);
    emit('contact_status_changed', statusChanged(next, outcome === 'reached' ? 'reached' : 'pending', now));
    emit('call_ended', { event: 'call_ended', call: callOut(ended), contact: v1Full(next) });
  }

  /**
   * telli documents no body for this event; the sandbox sends the contact in v1 shape and
   * telli's status word of that vocabulary (`pending` while being worked on, `reached`).
   */
  function statusChanged(contact: SandboxContact, status: string, now: number): Record<string, unknown> {
    return {
      event: 'contact_status_changed',
      contact_id: contact.id,
      status,
      timestamp: new Date(now).toISOString(),
      contact: v1Full(contact),
    };
  }

  function addCall(account: Account, call: SandboxCall) {
    const id = call.contact_id.toLowerCase();
    const calls = account.callsByContact.get(id) ?? [];
    calls.push(call);
    calls.sort(newestFirst);
    account.callsByContact.set(id, calls);
    account.callById.set(call.call_id.toLowerCase(), call);
    account.timeline = undefined;
  }

  function replaceCall(account: Account, call: SandboxCall) {
    const calls = account.callsByContact.get(call.contact_id.toLowerCase()) ?? [];
    const at = calls.findIndex((c) => c.call_id === call.call_id);
    if (at >= 0) calls[at] = call;
    account.callById.set(call.call_id.toLowerCase(), call);
    account.timeline = undefined;
  }

  function scheduleCall({ account, body }: RouteContext): SandboxResponse {
    if (!('json' in body)) return v1Error(400, 'Body must be JSON');
    const result = schedule(account, body.json, false);
    if ('error' in result) return v1Error(400, result.error);
    const { contact_id } = body.json as { contact_id: string };
    return json(200, { status: 'success', contact_id, loop_id: result.loopId });
  }

  function scheduleCallsBatch({ account, body }: RouteContext): SandboxResponse {
    if (!('json' in body)) return v1Error(400, 'Body must be JSON');
    const contacts = isObject(body.json) ? body.json['contacts'] : undefined;
    if (!Array.isArray(contacts)) return v1Error(400, 'contacts must be an array');
    if (contacts.length > DIALER_BATCH_LIMIT)
      return v1Error(400, `contacts must contain at most ${DIALER_BATCH_LIMIT} items`);
    const result = contacts.map((item: unknown) => {
      const contactId = isObject(item) ? (item['contact_id'] ?? null) : null;
      const outcome = schedule(account, item, true);
      return 'error' in outcome
        ? { contact_id: contactId, status: 'error', error_message: outcome.error, error_code: 400 }
        : { contact_id: contactId, status: 'success', loop_id: outcome.loopId };
    });
    return json(200, result.reverse());
  }

  /** Takes a contact out of the dialer; "queued" means `next_call_at` is set (seeded or scheduled). */
  function unqueue(account: Account, contactId: unknown): { error?: string } {
    if (typeof contactId !== 'string' || !UUID.test(contactId)) return { error: 'Invalid contact_id' };
    const contact = contactAt(account, contactId);
    if (!contact) return { error: 'Contact not found' };
    if (contact.nextCallAt === null) return { error: 'Contact is not in the auto dialer' };
    put(account, contact, { ...contact, nextCallAt: null });
    account.dialer.delete(contact.id.toLowerCase());
    return {};
  }

  function removeFromDialer({ account, body }: RouteContext): SandboxResponse {
    if (!('json' in body)) return v1Error(400, 'Body must be JSON');
    const contactId = isObject(body.json) ? body.json['contact_id'] : undefined;
    const { error } = unqueue(account, contactId);
    return error ? v1Error(400, error) : json(200, { status: 'success', contact_id: contactId });
  }

  function removeFromDialerBatch({ account, body }: RouteContext): SandboxResponse {
    if (!('json' in body)) return v1Error(400, 'Body must be JSON');
    const ids = isObject(body.json) ? body.json['contact_ids'] : undefined;
    if (!Array.isArray(ids)) return v1Error(400, 'contact_ids must be an array');
    if (ids.length > DIALER_BATCH_LIMIT)
      return v1Error(400, `contact_ids must contain at most ${DIALER_BATCH_LIMIT} items`);
    const result = ids.map((id: unknown) => {
      const { error } = unqueue(account, id);
      return error ? { contact_id: id, status: 'error', error } : { contact_id: id, status: 'success' };
    });
    return json(200, result.reverse());
  }

  // --- reads ----------------------------------------------------------------------------------

  function batch({ account: { byId }, text }: RouteContext): SandboxResponse {
    let ids: unknown;
    try {
      ids = (JSON.parse(text) as { contact_ids?: unknown }).contact_ids;
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

  /** The v2 list envelope (§3.4); `end` is the offset the next page starts at. */
  const v2Page = (data: unknown[], limit: number, hasNextPage: boolean, end: number) =>
    json(200, {
      type: 'list',
      data,
      pageInfo: { hasNextPage, nextCursor: hasNextPage ? encodeOffset(end) : null },
      meta: { limit, count: data.length },
    });

  function listV2({ account: { order, byId }, query }: RouteContext): SandboxResponse {
    const limit = pageLimit(query);
    if (limit === undefined) return json(400, { error: 'limit must be an integer between 1 and 100' });
    const start = decodeOffset(query.get('cursor'), order.length);
    if (start === undefined) return json(400, { error: 'invalid cursor' });
    // A deleted contact is skipped and does not count; one hidden from v2 (`setRawV2(id, null)`)
    // still takes its slot. Either way the cursor is an offset into `order`, so it stays valid.
    const data: V1[] = [];
    let end = start;
    for (let slots = 0; end < order.length && slots < limit; end++) {
      const contact = byId.get(order[end] as string);
      if (!contact) continue;
      slots++;
      const body = v2Of(contact);
      if (body) data.push(body);
    }
    let rest = end;
    while (rest < order.length && !byId.has(order[rest] as string)) rest++;
    return v2Page(data, limit, rest < order.length, end);
  }

  function listAgents({ account: { agents }, query }: RouteContext): SandboxResponse {
    const limit = pageLimit(query);
    if (limit === undefined) return v2Invalid('limit must be an integer between 1 and 100');
    const start = decodeOffset(query.get('cursor'), agents.length);
    if (start === undefined) return v2Invalid('invalid cursor');
    const data = agents.slice(start, start + limit);
    return v2Page(data, limit, start + data.length < agents.length, start + data.length);
  }

  function getAgent({ account, params }: RouteContext): SandboxResponse {
    const agent = account.agentById.get((params[0] ?? '').toLowerCase());
    return agent ? json(200, agent) : v2NotFound('Agent not found');
  }

  /**
   * `GET /v1/list-calls`. A deleted contact's calls are not listed (neither for its id nor for
   * the account) but stay readable through get-call, as telli keeps call records.
   */
  function listCalls({ account, query }: RouteContext): SandboxResponse {
    const limit = pageLimit(query);
    if (limit === undefined) return v1Error(400, 'limit must be an integer between 1 and 100');
    const contactId = query.get('contact_id');
    if (contactId !== null && !UUID.test(contactId)) return v1Error(400, 'Invalid contact_id');
    const cursor = query.get('cursor');
    const last = cursor ? decodeCallCursor(cursor) : undefined;
    if (cursor && !last) return v1Error(400, 'invalid cursor');
    let source: readonly SandboxCall[];
    if (contactId !== null) {
      const contact = contactAt(account, contactId);
      source = contact ? callsOf(account, contact) : [];
    } else source = timelineOf(account);
    const live = (call: SandboxCall) => account.byId.has(call.contact_id.toLowerCase());
    const page: SandboxCall[] = [];
    let i = last ? indexAfter(source, last) : 0;
    for (; i < source.length && page.length < limit; i++) {
      const call = source[i] as SandboxCall;
      if (live(call)) page.push(call);
    }
    while (i < source.length && !live(source[i] as SandboxCall)) i++;
    const more = i < source.length;
    return json(200, {
      calls: page.map(callOut),
      next_cursor: more ? encodeCallCursor(page.at(-1) as SandboxCall) : null,
    });
  }

  function getCall({ account, params }: RouteContext): SandboxResponse {
    const id = (params[0] ?? '').toLowerCase();
    // An id not generated yet may belong to any contact: generate the account's calls once.
    if (!account.callById.has(id) && UUID.test(id)) timelineOf(account);
    const call = account.callById.get(id);
    return call ? json(200, callOut(call)) : v1Error(404, 'Call not found');
  }

  const routes: Route[] = [
    {
      method: 'GET',
      segments: ['v1', 'verify-api-key'],
      name: 'GET /v1/verify-api-key',
      run: () => json(200, { valid: true }),
    },
    {
      method: 'POST',
      segments: ['v1', 'get-contacts-batch'],
      name: 'POST /v1/get-contacts-batch',
      read: true,
      run: batch,
    },
    {
      method: 'GET',
      segments: ['v1', 'get-contact', '{contactId}'],
      name: 'GET /v1/get-contact',
      run: ({ account, params }) => {
        const contact = contactAt(account, params[0]);
        return contact ? json(200, v1Full(contact)) : notFound();
      },
    },
    {
      method: 'GET',
      segments: ['v1', 'get-contact-by-external-id', '{externalId}'],
      name: 'GET /v1/get-contact-by-external-id',
      run: ({ account, params }) => {
        const contact = account.byExternalId.get(params[0] ?? '');
        return contact ? json(200, toV1Reduced(v1Full(contact))) : notFound();
      },
    },
    { method: 'POST', segments: ['v1', 'add-contact'], name: 'POST /v1/add-contact', run: addContact },
    {
      method: 'POST',
      segments: ['v1', 'add-contacts-batch'],
      name: 'POST /v1/add-contacts-batch',
      run: addContactsBatch,
    },
    { method: 'POST', segments: ['v1', 'schedule-call'], name: 'POST /v1/schedule-call', run: scheduleCall },
    {
      method: 'POST',
      segments: ['v1', 'schedule-calls-batch'],
      name: 'POST /v1/schedule-calls-batch',
      run: scheduleCallsBatch,
    },
    {
      method: 'POST',
      segments: ['v1', 'remove-from-auto-dialer'],
      name: 'POST /v1/remove-from-auto-dialer',
      run: removeFromDialer,
    },
    {
      method: 'POST',
      segments: ['v1', 'remove-from-auto-dialer-batch'],
      name: 'POST /v1/remove-from-auto-dialer-batch',
      run: removeFromDialerBatch,
    },
    { method: 'GET', segments: ['v1', 'list-calls'], name: 'GET /v1/list-calls', run: listCalls },
    { method: 'GET', segments: ['v1', 'get-call', '{callId}'], name: 'GET /v1/get-call/{callId}', run: getCall },
    { method: 'GET', segments: ['v2', 'contacts'], name: 'GET /v2/contacts', run: listV2 },
    { method: 'POST', segments: ['v2', 'contacts'], name: 'POST /v2/contacts', run: createV2 },
    {
      method: 'GET',
      segments: ['v2', 'contacts', '{id}'],
      name: 'GET /v2/contacts/{id}',
      run: ({ account, params }) => v2Answer(contactAt(account, params[0])),
    },
    {
      method: 'PATCH',
      segments: ['v2', 'contacts', '{id}'],
      name: 'PATCH /v2/contacts/{id}',
      run: (c) => updateV2(c, 'partial'),
    },
    {
      method: 'PUT',
      segments: ['v2', 'contacts', '{id}'],
      name: 'PUT /v2/contacts/{id}',
      run: (c) => updateV2(c, 'complete'),
    },
    { method: 'DELETE', segments: ['v2', 'contacts', '{id}'], name: 'DELETE /v2/contacts/{id}', run: deleteV2 },
    {
      method: 'GET',
      segments: ['v2', 'external', 'contacts', '{externalId}'],
      name: 'GET /v2/external/contacts/{externalId}',
      run: ({ account, params }) => v2Answer(account.byExternalId.get(params[0] ?? '')),
    },
    { method: 'GET', segments: ['v2', 'agents'], name: 'GET /v2/agents', run: listAgents },
    { method: 'GET', segments: ['v2', 'agents', '{id}'], name: 'GET /v2/agents/{id}', run: getAgent },
    {
      method: 'GET',
      segments: ['v2', 'properties', 'contacts'],
      name: 'GET /v2/properties/contacts',
      run: () => json(200, { type: 'list', data: PROPERTY_DEFINITIONS.map(toV2Definition) }),
    },
    {
      method: 'GET',
      segments: ['v2', 'properties', 'contacts', '{key}'],
      name: 'GET /v2/properties/contacts/{key}',
      run: ({ params }) => {
        const definition = definitions.get(params[0] ?? '');
        return definition ? json(200, toV2Definition(definition)) : v2NotFound('Property not found');
      },
    },
  ];

  const decode = (segment: string) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return undefined;
    }
  };

  function match(method: string, segments: string[]): { route: Route; params: (string | undefined)[] } | undefined {
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
      const found = match(request.method, url.pathname.split('/').slice(1));
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
    setRawCall(callId, raw) {
      if (raw === undefined) rawCalls.delete(callId.toLowerCase());
      else rawCalls.set(callId.toLowerCase(), raw);
    },
    scheduleCall(contactId) {
      const contact = defaultAccountContact(contactId);
      // Seeded `next_call_at`s have no dialer entry: scheduling replaces them, as schedule-call does.
      if (!contact || defaultAccount.dialer.has(contact.id.toLowerCase()) || contact.inCallSince !== null) return false;
      return 'loopId' in schedule(defaultAccount, { contact_id: contact.id }, false);
    },
    stopDialer() {
      dialerStopped = true;
      for (const timer of dialerTimers) clearTimeout(timer);
      dialerTimers.clear();
    },
  };
}
