import { z } from 'zod';
import {
  describeIssues,
  TelliContractError,
  TelliError,
  TelliNetworkError,
  TelliOutcomeUnknownError,
} from '../transport/errors.js';
import type { JsonValue } from '../json.js';
import { v2ContactSchema, type TelliContactV2 } from './schemas.js';
import { RETRY, type RetryPolicy } from '../transport/retry-policy.js';
import { httpError, type CallOptions, type JsonResponse, type Transport } from '../transport/transport.js';
import { createV2Reads } from './v2-reads.js';

/**
 * telli's writes: contact create / update / delete (v2), bulk create (v1) and the dialer (v1).
 * This module knows their wire shapes, how telli refuses them, and how to settle a create whose
 * answer was lost. Each write names the failures it may be retried after (`RETRY`): creates and
 * dialer calls only when telli certainly did not act.
 */
export const WRITE_ENDPOINTS = {
  createContactV2: 'POST /v2/contacts',
  updateContactV2: 'PATCH /v2/contacts/{id}',
  deleteContactV2: 'DELETE /v2/contacts/{id}',
  addContactsBatch: 'POST /v1/add-contacts-batch',
  scheduleCall: 'POST /v1/schedule-call',
  scheduleCallsBatch: 'POST /v1/schedule-calls-batch',
  removeFromDialerBatch: 'POST /v1/remove-from-auto-dialer-batch',
} as const;

/** `POST /v1/add-contacts-batch` takes at most this many contacts (telli-api.md §2.6). */
export const ADD_CONTACTS_BATCH_LIMIT = 1000;
/** `schedule-calls-batch` and `remove-from-auto-dialer-batch` take at most this many (§10). */
export const DIALER_BATCH_LIMIT = 50;
/** The longest piece of a telli message that may reach a client. */
export const MAX_TELLI_MESSAGE_LENGTH = 200;

/** A property to write: `value: null` removes it (update) or leaves it unset (create). */
export interface PropertyWrite {
  key: string;
  value: JsonValue;
}

/** A new contact, in the layer's names (`timezone` is telli v2's `timezoneIana`). */
export interface NewContact {
  firstName: string;
  lastName: string;
  phoneNumber: string;
  externalId?: string;
  externalUrl?: string;
  salutation?: string;
  email?: string;
  timezone?: string;
  properties?: PropertyWrite[];
}

/** A new contact for the v1 bulk create, which requires an external id and has no typed properties. */
export type NewBulkContact = Omit<NewContact, 'externalId' | 'properties'> & { externalId: string };

/**
 * A partial update. A key that is absent is left alone; `null` clears the field. The PATCH body
 * has exactly the keys this object has.
 */
export interface ContactPatch {
  firstName?: string;
  lastName?: string;
  phoneNumber?: string;
  externalId?: string | null;
  externalUrl?: string | null;
  salutation?: string | null;
  email?: string | null;
  timezone?: string | null;
  properties?: PropertyWrite[];
}

export interface ScheduleCallRequest {
  contactId: string;
  /** telli's default agent when absent. */
  agentId?: string;
  maxRetryDays?: number;
  overrideFromNumber?: string;
}

/** Why telli refused a write, as far as its status and its (undocumented) messages tell. */
export type RejectionReason =
  'invalid' | 'contact-not-found' | 'agent-not-found' | 'external-id-taken' | 'not-in-dialer' | 'other';

/** telli refused a write (or one item of a batch) because of its input. */
export interface TelliRejection {
  reason: RejectionReason;
  /** The HTTP status, or a batch item's `error_code`; `null` when there is none. */
  status: number | null;
  /**
   * telli's message, made safe to show: at most `MAX_TELLI_MESSAGE_LENGTH` characters, with
   * URLs and the API key removed; `null` when telli gave none. Only ever a message field of a
   * JSON error body, never the raw body.
   */
  message: string | null;
}

/** A write that telli answered: done, or refused for its input. Other failures are thrown `TelliError`s. */
export type Written<T> = { ok: true; value: T } | { ok: false; rejection: TelliRejection };

/** One item of a bulk write: done, refused, or failed with the rest of its chunk (or on its own). */
export type ItemOutcome<T> =
  | { status: 'done'; value: T }
  | { status: 'refused'; rejection: TelliRejection }
  | { status: 'failed'; error: TelliError };

export interface CreatedContact {
  contact: TelliContactV2;
  /**
   * `answer`: telli's 201. `lookup`: the answer was lost, and the contact was found by its
   * external id afterwards, with the fields this create sent.
   */
  via: 'answer' | 'lookup';
}

export interface Writes {
  /**
   * `POST /v2/contacts`. A create is never sent twice blindly: when its outcome is unknown and it
   * has an external id, telli is asked once for that id — found (with the fields sent) is
   * success; absent means it did not land, and it is sent once more (a 409 then means the first
   * attempt landed after all). Without an external id an unknown outcome is a
   * `TelliOutcomeUnknownError`.
   */
  createContact(contact: NewContact, call: CallOptions): Promise<Written<CreatedContact>>;
  /** `PATCH /v2/contacts/{id}` with exactly the keys `patch` has. */
  updateContact(id: string, patch: ContactPatch, call: CallOptions): Promise<Written<TelliContactV2>>;
  /** `DELETE /v2/contacts/{id}`. */
  deleteContact(id: string, call: CallOptions): Promise<Written<true>>;
  /**
   * `POST /v1/add-contacts-batch`, chunked by 1000 and sent one chunk after the other. Results
   * in the order of `contacts`, matched by external id (which must be unique in `contacts`).
   */
  addContacts(contacts: readonly NewBulkContact[], call: CallOptions): Promise<ItemOutcome<{ contactId: string }>[]>;
  /** `POST /v1/schedule-call`: queues the contact in telli's auto dialer. */
  scheduleCall(request: ScheduleCallRequest, call: CallOptions): Promise<Written<{ loopId: string }>>;
  /** `POST /v1/schedule-calls-batch`, chunked by 50. Results in input order, matched by contact id (unique). */
  scheduleCalls(
    requests: readonly (ScheduleCallRequest & { agentId: string })[],
    call: CallOptions,
  ): Promise<ItemOutcome<{ loopId: string }>[]>;
  /** `POST /v1/remove-from-auto-dialer-batch`, chunked by 50. Results in input order, matched by contact id (unique). */
  removeFromDialer(contactIds: readonly string[], call: CallOptions): Promise<ItemOutcome<true>[]>;
}

// --- telli's answers ------------------------------------------------------------------------

/** Error bodies: v2 answers `{ message, code }`, v1 `{ message }`, older endpoints `{ error }`. */
const errorBodySchema = z.object({
  message: z.string().optional().catch(undefined),
  error: z.string().optional().catch(undefined),
  code: z.string().optional().catch(undefined),
});

const addBatchSchema = z.object({
  result: z.array(z.unknown()),
});
const addBatchItemSchema = z.object({
  external_contact_id: z.string(),
  status: z.string(),
  contact_id: z.string().min(1).nullish(),
  error: z.string().nullish(),
});

const scheduleCallSchema = z.object({ loop_id: z.string().min(1) });
const scheduleBatchItemSchema = z.object({
  contact_id: z.string(),
  status: z.string(),
  loop_id: z.string().min(1).nullish(),
  error_message: z.string().nullish(),
  error: z.string().nullish(),
  error_code: z.number().nullish(),
});
const removeBatchItemSchema = z.object({
  contact_id: z.string(),
  status: z.string(),
  error: z.string().nullish(),
  error_message: z.string().nullish(),
});

// --- messages -------------------------------------------------------------------------------

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/\S+/gi;
const BEARER_IN_TEXT = /\bbearer\s+\S+/gi;
// eslint-disable-next-line no-control-regex -- stripping control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]+/g;

/**
 * telli's message as a client may see it: one line, no URL (telli's or any other), no API key,
 * at most `MAX_TELLI_MESSAGE_LENGTH` characters.
 */
export function safeTelliMessage(raw: unknown, apiKey: string | undefined): string | null {
  if (typeof raw !== 'string') return null;
  let text = raw.replace(CONTROL, ' ');
  if (apiKey) text = text.split(apiKey).join('[redacted]');
  text = text.replace(URL_IN_TEXT, '[url]').replace(BEARER_IN_TEXT, 'Bearer [redacted]').replace(/\s+/g, ' ').trim();
  if (text === '') return null;
  const chars = [...text];
  return chars.length <= MAX_TELLI_MESSAGE_LENGTH ? text : `${chars.slice(0, MAX_TELLI_MESSAGE_LENGTH - 1).join('')}…`;
}

/**
 * What telli's words say about a refusal. Its v1 messages are undocumented beyond samples
 * (`Contact not found`, `External ID already exists, must be unique`): anything unrecognised is
 * `invalid` for a 400/422 and `other` otherwise.
 */
function reasonOf(message: string | null, status: number | null): RejectionReason {
  const text = message ?? '';
  if (/already exists|must be unique/i.test(text) || status === 409) return 'external-id-taken';
  if (/\bagent\b.*\bnot[\s_-]*found/i.test(text)) return 'agent-not-found';
  if (/\bcontact\b.*\bnot[\s_-]*found/i.test(text) || status === 404) return 'contact-not-found';
  if (/not in (the )?(auto[\s-]?)?dialer/i.test(text)) return 'not-in-dialer';
  if (status === 400 || status === 422 || /invalid|must|required/i.test(text)) return 'invalid';
  return 'other';
}

/** Statuses that refuse the input itself; every other non-2xx is thrown as a `TelliHttpError`. */
const INPUT_REFUSALS = new Set([400, 404, 409, 422]);

function rejectionOf(response: JsonResponse, call: CallOptions): TelliRejection {
  const body = errorBodySchema.safeParse(response.errorBody);
  const message = body.success ? safeTelliMessage(body.data.message ?? body.data.error, call.apiKey) : null;
  return { reason: reasonOf(message, response.status), status: response.status, message };
}

function itemRejection(message: string | null | undefined, status: number | null, call: CallOptions): TelliRejection {
  const safe = safeTelliMessage(message, call.apiKey);
  // A per-item error code is not an HTTP status of the request: only the words tell the reason.
  return { reason: reasonOf(safe, status === 404 || status === 409 ? status : null), status, message: safe };
}

// --- wire bodies ----------------------------------------------------------------------------

/** v2 names, in the layer's key order; `timezone` is `timezoneIana`. */
const V2_NAMES = {
  firstName: 'firstName',
  lastName: 'lastName',
  phoneNumber: 'phoneNumber',
  externalId: 'externalId',
  externalUrl: 'externalUrl',
  salutation: 'salutation',
  email: 'email',
  timezone: 'timezoneIana',
  properties: 'properties',
} as const satisfies Record<keyof ContactPatch, string>;

/** Exactly the keys the object has, renamed to v2's: an absent key stays absent, `null` stays `null`. */
function v2Body(fields: NewContact | ContactPatch): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [name, wire] of Object.entries(V2_NAMES) as [keyof ContactPatch, string][]) {
    if (!Object.hasOwn(fields, name)) continue;
    const value = (fields as ContactPatch)[name];
    if (value === undefined) continue;
    body[wire] =
      name === 'properties' ? (value as PropertyWrite[]).map(({ key, value: v }) => ({ key, value: v })) : value;
  }
  return body;
}

function v1Item(contact: NewBulkContact): Record<string, unknown> {
  const item: Record<string, unknown> = {
    external_contact_id: contact.externalId,
    first_name: contact.firstName,
    last_name: contact.lastName,
    phone_number: contact.phoneNumber,
  };
  if (contact.email !== undefined) item['email'] = contact.email;
  if (contact.salutation !== undefined) item['salutation'] = contact.salutation;
  if (contact.timezone !== undefined) item['timezone'] = contact.timezone;
  if (contact.externalUrl !== undefined) item['external_url'] = contact.externalUrl;
  return item;
}

function v1Schedule(request: ScheduleCallRequest): Record<string, unknown> {
  const item: Record<string, unknown> = { contact_id: request.contactId };
  if (request.agentId !== undefined) item['agent_id'] = request.agentId;
  if (request.maxRetryDays !== undefined) item['max_retry_days'] = request.maxRetryDays;
  if (request.overrideFromNumber !== undefined) item['override_from_number'] = request.overrideFromNumber;
  return item;
}

/**
 * Whether the contact telli holds under our external id is the one we asked to create: every
 * field we sent has the value we sent (emails compared without case). Another contact that held
 * the external id before means our create could only have been refused with a 409.
 */
function isSameContact(found: TelliContactV2, sent: NewContact): boolean {
  const same = (a: string | null, b: string | undefined) => b === undefined || a === b;
  return (
    found.firstName === sent.firstName &&
    found.lastName === sent.lastName &&
    found.phoneNumber === sent.phoneNumber &&
    same(found.externalUrl, sent.externalUrl) &&
    same(found.salutation, sent.salutation) &&
    same(found.timezone, sent.timezone) &&
    same(found.email?.toLowerCase() ?? null, sent.email?.toLowerCase())
  );
}

function chunksOf<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

function assertUnique(keys: readonly string[], what: string): void {
  if (new Set(keys).size !== keys.length) {
    // Results are matched by this key: a duplicate would make the match ambiguous.
    throw new Error(`${what} must be unique in one bulk write`);
  }
}

export function createWrites(transport: Transport): Writes {
  const E = WRITE_ENDPOINTS;

  async function postContact(sent: NewContact, call: CallOptions): Promise<Written<CreatedContact>> {
    const response = await transport.send(E.createContactV2, 'POST', '/v2/contacts', call, RETRY.create, v2Body(sent));
    if (response.status >= 200 && response.status < 300) {
      const parsed = v2ContactSchema.safeParse(response.json);
      // telli created it, but the answer says not which contact: as good as a lost answer.
      if (!parsed.success) throw unknownOutcome(E.createContactV2, contractError(E.createContactV2, parsed.error));
      return { ok: true, value: { contact: parsed.data, via: 'answer' } };
    }
    if (INPUT_REFUSALS.has(response.status)) return { ok: false, rejection: rejectionOf(response, call) };
    throw httpError(E.createContactV2, response);
  }

  // Straight to telli, not through the shared reads: a lookup must not join a read from before the create.
  const { getContactV2ByExternalId: lookUp } = createV2Reads(transport);

  /** The outcome of a create that had this external id and got no answer (see `Writes.createContact`). */
  async function settleLostCreate(
    sent: NewContact & { externalId: string },
    lost: TelliOutcomeUnknownError,
    call: CallOptions,
  ): Promise<Written<CreatedContact>> {
    // The external id is unique per account: sending the create again cannot duplicate it.
    const stillUnknown = (last: TelliError) => new TelliOutcomeUnknownError(E.createContactV2, last, true);
    const foundNow = async (last: TelliError): Promise<Written<CreatedContact> | null> => {
      let found: TelliContactV2 | null;
      try {
        found = await lookUp(sent.externalId, call);
      } catch {
        throw stillUnknown(last);
      }
      if (found === null) return null;
      if (isSameContact(found, sent)) return { ok: true, value: { contact: found, via: 'lookup' } };
      return { ok: false, rejection: { reason: 'external-id-taken', status: 409, message: null } };
    };

    const first = await foundNow(lost.lastFailure);
    if (first) return first;
    let again: Written<CreatedContact>;
    try {
      again = await postContact(sent, call);
    } catch (error) {
      // Refused at the door (429, not sent) or lost again: the first attempt is still unsettled.
      throw stillUnknown(error instanceof TelliOutcomeUnknownError ? error.lastFailure : asTelliError(error));
    }
    if (again.ok || again.rejection.reason !== 'external-id-taken') return again;
    // 409 on the second attempt: the first one landed after our lookup.
    const late = await foundNow(lost.lastFailure);
    if (late) return late;
    throw stillUnknown(lost.lastFailure);
  }

  async function inChunks<T, R>(
    items: readonly T[],
    size: number,
    send: (chunk: T[]) => Promise<ItemOutcome<R>[]>,
  ): Promise<ItemOutcome<R>[]> {
    const out: ItemOutcome<R>[] = [];
    // One chunk after the other: telli's rate limit is undocumented, and a bulk write is rare.
    for (const chunk of chunksOf(items, size)) out.push(...(await send(chunk)));
    return out;
  }

  /**
   * One bulk chunk: the whole request refused → every item refused with telli's message; no
   * answer → every item failed with the error (an unknown outcome's `safeToRetry` as given);
   * otherwise each item's entry, matched by `keyOf`, and a missing or broken entry fails its item.
   */
  async function sendChunk<T, R>(
    endpoint: string,
    path: string,
    body: unknown,
    chunk: readonly T[],
    keyOf: (item: T) => string,
    call: CallOptions,
    read: { entries: (json: unknown) => unknown[] | null; entry: (raw: unknown) => [string, ItemOutcome<R>] | null },
    safeToRetry: boolean,
    retry: RetryPolicy,
  ): Promise<ItemOutcome<R>[]> {
    let response: JsonResponse;
    try {
      response = await transport.send(endpoint, 'POST', path, call, retry, body);
    } catch (error) {
      const failure = asTelliError(error);
      const fixed =
        failure instanceof TelliOutcomeUnknownError
          ? new TelliOutcomeUnknownError(endpoint, failure.lastFailure, safeToRetry)
          : failure;
      return chunk.map(() => ({ status: 'failed', error: fixed }));
    }
    if (response.status < 200 || response.status >= 300) {
      if (!INPUT_REFUSALS.has(response.status)) {
        const failure = httpError(endpoint, response);
        return chunk.map(() => ({ status: 'failed', error: failure }));
      }
      const rejection = rejectionOf(response, call);
      return chunk.map(() => ({ status: 'refused', rejection }));
    }
    const entries = read.entries(response.json);
    if (!entries) {
      const failure = unknownOutcome(
        endpoint,
        new TelliContractError(endpoint, ['(root): unexpected shape']),
        safeToRetry,
      );
      return chunk.map(() => ({ status: 'failed', error: failure }));
    }
    // telli documents no result order (the sandbox reverses it): match by key, never by position.
    const byKey = new Map<string, ItemOutcome<R> | 'conflicting'>();
    for (const raw of entries) {
      const parsed = read.entry(raw);
      if (!parsed) continue;
      const [key, outcome] = parsed;
      byKey.set(key, byKey.has(key) ? 'conflicting' : outcome);
    }
    return chunk.map((item) => {
      const found = byKey.get(keyOf(item));
      if (found !== undefined && found !== 'conflicting') return found;
      const issue = found === undefined ? 'no result for this item' : 'several results for this item';
      return {
        status: 'failed',
        error: unknownOutcome(endpoint, new TelliContractError(endpoint, [issue]), safeToRetry),
      };
    });
  }

  return {
    async createContact(contact, call) {
      try {
        return await postContact(contact, call);
      } catch (error) {
        const { externalId } = contact;
        if (!(error instanceof TelliOutcomeUnknownError) || externalId === undefined) throw error;
        return settleLostCreate({ ...contact, externalId }, error, call);
      }
    },

    async updateContact(id, patch, call) {
      const endpoint = E.updateContactV2;
      const response = await transport.send(
        endpoint,
        'PATCH',
        `/v2/contacts/${encodeURIComponent(id)}`,
        call,
        RETRY.idempotentWrite,
        v2Body(patch),
      );
      if (response.status >= 200 && response.status < 300) {
        const parsed = v2ContactSchema.safeParse(response.json);
        if (!parsed.success) throw unknownOutcome(endpoint, contractError(endpoint, parsed.error), true);
        return { ok: true, value: parsed.data };
      }
      if (INPUT_REFUSALS.has(response.status)) return { ok: false, rejection: rejectionOf(response, call) };
      throw httpError(endpoint, response);
    },

    async deleteContact(id, call) {
      const endpoint = E.deleteContactV2;
      const response = await transport.send(
        endpoint,
        'DELETE',
        `/v2/contacts/${encodeURIComponent(id)}`,
        call,
        RETRY.idempotentWrite,
      );
      if (response.status >= 200 && response.status < 300) return { ok: true, value: true };
      // Retried after an attempt that may have deleted it: gone either way, which is what was asked.
      if (response.status === 404 && response.earlierAttemptMayHaveActed) return { ok: true, value: true };
      if (INPUT_REFUSALS.has(response.status)) return { ok: false, rejection: rejectionOf(response, call) };
      throw httpError(endpoint, response);
    },

    async addContacts(contacts, call) {
      assertUnique(
        contacts.map((c) => c.externalId),
        'externalId',
      );
      const endpoint = E.addContactsBatch;
      return inChunks(contacts, ADD_CONTACTS_BATCH_LIMIT, (chunk) =>
        sendChunk(
          endpoint,
          '/v1/add-contacts-batch',
          { contacts: chunk.map(v1Item) },
          chunk,
          (c) => c.externalId,
          call,
          {
            entries: (json) => {
              const parsed = addBatchSchema.safeParse(json);
              return parsed.success ? parsed.data.result : null;
            },
            entry: (raw) => {
              const item = addBatchItemSchema.safeParse(raw);
              if (!item.success) return null;
              const { external_contact_id: key, status, contact_id: contactId, error } = item.data;
              if (status === 'success' && contactId) return [key, { status: 'done', value: { contactId } }];
              if (status === 'success') return null; // no id: the item stays unattributed (failed)
              return [key, { status: 'refused', rejection: itemRejection(error, null, call) }];
            },
          },
          // Every item has an external id, unique per account: sending it again cannot duplicate it.
          true,
          RETRY.create,
        ),
      );
    },

    async scheduleCall(request, call) {
      const endpoint = E.scheduleCall;
      const response = await transport.send(
        endpoint,
        'POST',
        '/v1/schedule-call',
        call,
        RETRY.dialer,
        v1Schedule(request),
      );
      if (response.status >= 200 && response.status < 300) {
        const parsed = scheduleCallSchema.safeParse(response.json);
        if (!parsed.success) throw unknownOutcome(endpoint, contractError(endpoint, parsed.error), false);
        return { ok: true, value: { loopId: parsed.data.loop_id } };
      }
      if (INPUT_REFUSALS.has(response.status)) return { ok: false, rejection: rejectionOf(response, call) };
      throw httpError(endpoint, response);
    },

    async scheduleCalls(requests, call) {
      const key = (id: string) => id.toLowerCase();
      assertUnique(
        requests.map((r) => key(r.contactId)),
        'contactId',
      );
      const endpoint = E.scheduleCallsBatch;
      return inChunks(requests, DIALER_BATCH_LIMIT, (chunk) =>
        sendChunk(
          endpoint,
          '/v1/schedule-calls-batch',
          { contacts: chunk.map(v1Schedule) },
          chunk,
          (r) => key(r.contactId),
          call,
          {
            entries: (json) => (Array.isArray(json) ? json : null),
            entry: (raw) => {
              const item = scheduleBatchItemSchema.safeParse(raw);
              if (!item.success) return null;
              const { contact_id: id, status, loop_id: loopId } = item.data;
              if (status === 'success' && loopId) return [key(id), { status: 'done', value: { loopId } }];
              if (status === 'success') return null;
              const message = item.data.error_message ?? item.data.error;
              return [
                key(id),
                { status: 'refused', rejection: itemRejection(message, item.data.error_code ?? null, call) },
              ];
            },
          },
          // Scheduling again may queue a second round of calls to a person.
          false,
          RETRY.dialer,
        ),
      );
    },

    async removeFromDialer(contactIds, call) {
      const key = (id: string) => id.toLowerCase();
      assertUnique(contactIds.map(key), 'contactId');
      const endpoint = E.removeFromDialerBatch;
      return inChunks(contactIds, DIALER_BATCH_LIMIT, (chunk) =>
        sendChunk(
          endpoint,
          '/v1/remove-from-auto-dialer-batch',
          { contact_ids: chunk },
          chunk,
          key,
          call,
          {
            entries: (json) => (Array.isArray(json) ? json : null),
            entry: (raw) => {
              const item = removeBatchItemSchema.safeParse(raw);
              if (!item.success) return null;
              const { contact_id: id, status } = item.data;
              if (status === 'success') return [key(id), { status: 'done', value: true }];
              const message = item.data.error ?? item.data.error_message;
              return [key(id), { status: 'refused', rejection: itemRejection(message, null, call) }];
            },
          },
          // Removing twice takes nothing more out of the dialer (the second says it is not in it).
          true,
          RETRY.dialer,
        ),
      );
    },
  };
}

function contractError(endpoint: string, error: z.ZodError): TelliContractError {
  return new TelliContractError(endpoint, describeIssues(error));
}

function unknownOutcome(endpoint: string, cause: TelliError, safeToRetry = false): TelliOutcomeUnknownError {
  return new TelliOutcomeUnknownError(endpoint, cause, safeToRetry);
}

function asTelliError(error: unknown): TelliError {
  if (error instanceof TelliError) return error;
  return new TelliNetworkError('telli', 'UNKNOWN');
}
