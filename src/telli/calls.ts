import { z } from 'zod';
import { jsonObjectSchema, type JsonObject } from './json.js';
import { recordIdKey } from './shared/ids.js';
import { SingleFlight } from './shared/single-flight.js';
import { describeIssues, TelliContractError } from './transport/errors.js';
import { RETRY } from './transport/retry-policy.js';
import { httpError, type CallOptions, type Transport } from './transport/transport.js';

/**
 * telli's call records: `GET /v1/list-calls` (§7) and `GET /v1/get-call/{callId}` (§12). Neither
 * has a doc page beyond field names (telli's own integrations call them), so the schema is lenient:
 * only `call_id` is required, absent or null fields become `null`, enum-like strings (`direction`,
 * `call_status`) are kept verbatim for the schema to map. A field present with the wrong JSON type
 * breaks the contract for that call only.
 */
export const CALL_ENDPOINTS = {
  listCalls: 'GET /v1/list-calls',
  getCall: 'GET /v1/get-call/{callId}',
} as const;

/** One turn of a call's transcript (`transcriptObject`, camelCase unlike the rest of the call). */
export interface TelliTranscriptMessage {
  /** Who spoke, as telli names it (`agent`, `user`, …); `null` when telli sent none. */
  role: string | null;
  /** What was said; `''` when telli sent nothing. */
  content: string;
}

/** A call as the rest of the layer sees it: camelCase, every optional field explicit. */
export interface TelliCall {
  id: string;
  attempt: number | null;
  /** telli's `direction` verbatim (`outbound`, `inbound`, or anything telli adds). */
  direction: string | null;
  fromNumber: string | null;
  toNumber: string | null;
  contactId: string | null;
  agentId: string | null;
  /**
   * ISO 8601: the `*_iso` string when telli sent one, else the epoch-ms number converted. A number
   * outside the range of dates is kept as its digits, so the schema's DateTime check rejects it
   * (that field fails, the call does not).
   */
  triggeredAt: string | null;
  startedAt: string | null;
  endedAt: string | null;
  durationMinutes: number | null;
  /** telli's `call_status` verbatim (`COMPLETED`, …, or anything telli adds). */
  status: string | null;
  transcript: string | null;
  transcriptMessages: TelliTranscriptMessage[];
  analysis: JsonObject | null;
  outcome: JsonObject | null;
  collectedData: JsonObject | null;
  bookedSlotFor: string | null;
  recordingUrl: string | null;
  endedReason: string | null;
}

/** One page of `list-calls`, newest first. */
export interface CallPage {
  /** A call that breaks the contract is a `TelliContractError` in its slot; its neighbours are unaffected. */
  calls: (TelliCall | TelliContractError)[];
  /** Pass back as `cursor` for the next page; `null` on the last page. */
  nextCursor: string | null;
}

export interface CallReads {
  /** One page of a contact's calls. `limit` must be 1–100 (telli's range); `cursor` is telli's `next_cursor`. */
  listCalls(page: { contactId: string; limit: number; cursor: string | null }, call: CallOptions): Promise<CallPage>;
  /** One call by id, or `null` on 404. Throws a `TelliError` otherwise. */
  getCall(id: string, call: CallOptions): Promise<TelliCall | null>;
}

const optionalString = z.string().nullish();
const epochMs = z.number().nullish();

const transcriptMessageSchema = z.object({ role: optionalString, content: optionalString });

export const callSchema = z
  .object({
    call_id: z.string().min(1),
    attempt: z.number().int().nullish(),
    direction: optionalString,
    from_number: optionalString,
    to_number: optionalString,
    contact_id: optionalString,
    agent_id: optionalString,
    triggered_at: epochMs,
    triggered_at_iso: optionalString,
    started_at: epochMs,
    started_at_iso: optionalString,
    ended_at: epochMs,
    ended_at_iso: optionalString,
    call_length_min: z.number().nullish(),
    call_status: optionalString,
    transcript: optionalString,
    transcriptObject: z.array(transcriptMessageSchema).nullish(),
    call_analysis: jsonObjectSchema.nullish(),
    call_outcome: jsonObjectSchema.nullish(),
    collected_data: jsonObjectSchema.nullish(),
    booked_slot_for: optionalString,
    recording_url: optionalString,
    ended_reason: optionalString,
  })
  // One transform for the whole call, not one per optional field (see v1ContactSchema).
  .transform((c): TelliCall => ({
    id: c.call_id,
    attempt: c.attempt ?? null,
    direction: c.direction ?? null,
    fromNumber: c.from_number ?? null,
    toNumber: c.to_number ?? null,
    contactId: c.contact_id ?? null,
    agentId: c.agent_id ?? null,
    triggeredAt: instant(c.triggered_at_iso, c.triggered_at),
    startedAt: instant(c.started_at_iso, c.started_at),
    endedAt: instant(c.ended_at_iso, c.ended_at),
    durationMinutes: c.call_length_min ?? null,
    status: c.call_status ?? null,
    transcript: c.transcript ?? null,
    transcriptMessages: (c.transcriptObject ?? []).map((m) => ({ role: m.role ?? null, content: m.content ?? '' })),
    analysis: c.call_analysis ?? null,
    outcome: c.call_outcome ?? null,
    collectedData: c.collected_data ?? null,
    bookedSlotFor: c.booked_slot_for ?? null,
    recordingUrl: c.recording_url ?? null,
    endedReason: c.ended_reason ?? null,
  }));

/**
 * A point in time from telli's pair of fields: the ISO string wins (it carries no unit to guess);
 * the number is epoch milliseconds (13 digits in telli's webhook sample and PostHog's importer, §12).
 */
function instant(iso: string | null | undefined, ms: number | null | undefined): string | null {
  if (iso) return iso;
  if (ms === null || ms === undefined) return null;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

const listSchema = z.object({
  calls: z.array(z.unknown()),
  next_cursor: z
    .string()
    .min(1)
    .nullish()
    .transform((v) => v ?? null),
});

const sameId = (a: string, b: string) => recordIdKey(a) === recordIdKey(b);

export function createCallReads(transport: Transport): CallReads {
  return {
    async listCalls({ contactId, limit, cursor }, call) {
      const endpoint = CALL_ENDPOINTS.listCalls;
      const query = new URLSearchParams({ contact_id: contactId, limit: String(limit) });
      if (cursor !== null) query.set('cursor', cursor);
      const response = await transport.send(endpoint, 'GET', `/v1/list-calls?${query}`, call, RETRY.read);
      if (response.status !== 200) throw httpError(endpoint, response);
      const page = listSchema.safeParse(response.json);
      if (!page.success) throw new TelliContractError(endpoint, describeIssues(page.error));
      const nextCursor = page.data.next_cursor;
      // A cursor that does not move would make a client that follows `endCursor` loop forever.
      if (nextCursor !== null && nextCursor === cursor) {
        throw new TelliContractError(endpoint, ['next_cursor: did not advance']);
      }
      const calls = page.data.calls.map((raw, index) => {
        const parsed = callSchema.safeParse(raw);
        if (!parsed.success) {
          return new TelliContractError(
            endpoint,
            describeIssues(parsed.error).map((issue) => `calls[${index}].${issue}`),
          );
        }
        // The filter is telli's: a call of another contact would be shown as this one's.
        if (parsed.data.contactId !== null && !sameId(parsed.data.contactId, contactId)) {
          return new TelliContractError(endpoint, [`calls[${index}].contact_id: not the contact asked for`]);
        }
        return parsed.data;
      });
      return { calls, nextCursor };
    },

    async getCall(id, call) {
      const endpoint = CALL_ENDPOINTS.getCall;
      const found = await transport.readOne(
        endpoint,
        `/v1/get-call/${encodeURIComponent(id)}`,
        call,
        callSchema,
        RETRY.read,
      );
      if (found !== null && !sameId(found.id, id))
        throw new TelliContractError(endpoint, ['call_id: not the call asked for']);
      return found;
    },
  };
}

/** Call reads shared across requests (see `createCoalescingClient`), and how to drop a contact's lists. */
export interface SharedCallReads {
  reads: CallReads;
  /** Drops, for every key, the lists of this contact's calls in flight: a `call_ended` adds a call. */
  forgetContact(contactId: string): void;
}

/** Single-flight of both call reads, per (API key, endpoint and arguments). Nothing is cached. */
export function shareCallReads(inner: CallReads): SharedCallReads {
  const flights = new SingleFlight();
  return {
    reads: {
      listCalls: (page, call) =>
        flights.run(
          `calls\n${page.contactId.toLowerCase()}\n${page.limit}\n${page.cursor ?? ''}`,
          CALL_ENDPOINTS.listCalls,
          call,
          (c) => inner.listCalls(page, c),
        ),

      getCall: (id, call) =>
        flights.run(`call\n${recordIdKey(id)}`, CALL_ENDPOINTS.getCall, call, (c) => inner.getCall(id, c)),
    },

    forgetContact(contactId) {
      const calls = `\ncalls\n${contactId.toLowerCase()}\n`;
      flights.forgetWhere((key) => key.includes(calls));
    },
  };
}
