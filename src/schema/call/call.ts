import { z } from 'zod';
import type { Context } from '../../context.js';
import type { CallPage, TelliCall, TelliTranscriptMessage } from '../../telli/index.js';
import { AgentRef, loadAgent } from '../agent/agent.js';
import { builder } from '../core/builder.js';
import { NodeRef } from '../core/node.js';
import { ContactRef } from '../contact/contact.js';
import { loadContact } from '../contact/queries.js';
import { contactNeeds, type ContactParent } from '../contact/sources.js';
import { costExtensions, entityCostExtensions, UNBATCHED_READ_COST } from '../core/cost.js';
import { toGraphQLError, upstreamInvalid } from '../core/errors.js';
import {
  clampFirst,
  connectionTypes,
  MAX_PAGE_SIZE,
  pageReadError,
  positionAfter,
  telliLimit,
  toConnection,
} from '../core/paging.js';
import { checkedUpstreamValue } from '../core/scalars.js';
import { parseRecordId } from '../core/telli-ids.js';

/*
 * What the phone agent did: telli's call records (`GET /v1/list-calls`, `GET /v1/get-call/{id}`),
 * on every contact (`Contact.calls`) and by id (`call`). A call's contact and agent are read
 * through the per-request loaders, so they batch and dedupe like every other read.
 */

/** Calls per page of `Contact.calls` when `first` is omitted. */
export const DEFAULT_CALLS_PAGE_SIZE = 10;

/*
 * Open enums: telli's values are mapped when this API knows them, anything else (or nothing) is
 * UNKNOWN, with telli's string in the `raw*` field beside it. A value telli adds never fails a call.
 */
const DIRECTIONS = {
  INBOUND: { description: 'The contact called in.' },
  OUTBOUND: { description: "telli's agent called the contact." },
  UNKNOWN: {
    description:
      "A direction this API does not know (telli added one, e.g. `web`), or none was sent; `rawDirection` holds telli's value.",
  },
} as const;

const STATUSES = {
  COMPLETED: { description: 'The call took place and ended; it has a transcript, analysis and outcome.' },
  ANSWERED: { description: 'The contact picked up, but another attempt will follow (e.g. asked to be called back).' },
  NOT_REACHED: { description: 'Nobody picked up.' },
  VOICEMAIL: { description: 'A voicemail answered.' },
  ERROR: { description: 'The call could not be placed or failed.' },
  UNKNOWN: {
    description:
      "A status this API does not know (telli added one, e.g. `IN_PROGRESS` or `BUSY`), or none was sent; `rawStatus` holds telli's value.",
  },
} as const;

type DirectionName = keyof typeof DIRECTIONS;
type StatusName = keyof typeof STATUSES;

/** telli sends `direction` lowercase (§12); the documented statuses are uppercase (§8). */
export function directionOf(raw: string | null): DirectionName {
  const name = raw?.toUpperCase();
  return name === 'INBOUND' || name === 'OUTBOUND' ? name : 'UNKNOWN';
}

export function callStatusOf(raw: string | null): StatusName {
  const name = raw?.toUpperCase();
  return name !== undefined && name !== 'UNKNOWN' && Object.hasOwn(STATUSES, name) ? (name as StatusName) : 'UNKNOWN';
}

export const CallDirection = builder.enumType('CallDirection', {
  description: 'Who dialled. Open-ended: a value telli adds later arrives as UNKNOWN — handle UNKNOWN in clients.',
  values: DIRECTIONS,
});

export const CallStatus = builder.enumType('CallStatus', {
  description:
    "What became of a call (telli's `call_status`). Open-ended: a value telli adds later arrives as UNKNOWN — handle UNKNOWN in clients.",
  values: STATUSES,
});

// `CallTranscriptMessage`: a bare `TranscriptMessage` is a name a meeting or chat subgraph may own.
const TranscriptMessageRef = builder.objectRef<TelliTranscriptMessage>('CallTranscriptMessage');
TranscriptMessageRef.implement({
  description: "One turn of a call's conversation (telli's `transcriptObject`).",
  fields: (t) => ({
    role: t.exposeString('role', {
      nullable: true,
      description: 'Who spoke, as telli names it (`agent` or `user` so far); null when telli sent none.',
    }),
    content: t.exposeString('content', {
      nullable: false,
      description: 'What was said; empty when telli sent nothing.',
    }),
  }),
});

const contactIdSchema = z.guid();

export const CallRef = builder.objectRef<TelliCall>('Call');
CallRef.implement({
  interfaces: [NodeRef],
  description:
    "One call telli's AI agent made or took: its transcript, analysis, outcome and recording. From `GET /v1/list-calls` (`Contact.calls`) or `GET /v1/get-call/{id}` (`call`). A federation entity keyed by `id`.",
  // Each `_entities` representation of a call is one telli call (there is no batch read).
  extensions: entityCostExtensions({ perReference: UNBATCHED_READ_COST }),
  fields: (t) => ({
    id: t.exposeID('id', { nullable: false, description: 'The telli call id (`call_id`).' }),
    attempt: t.exposeInt('attempt', {
      nullable: true,
      description: "Which of the contact's call attempts this was, counting from 1.",
    }),
    direction: t.field({
      type: CallDirection,
      nullable: false,
      description:
        'Who dialled. UNKNOWN when telli sends a value this API does not know, or none (see `rawDirection`).',
      resolve: (call, _args, ctx) => {
        const direction = directionOf(call.direction);
        if (direction === 'UNKNOWN' && call.direction !== null) {
          ctx.logger.debug({ callId: call.id, telliDirection: call.direction }, 'unknown telli call direction');
        }
        return direction;
      },
    }),
    rawDirection: t.exposeString('direction', {
      nullable: true,
      description: "telli's `direction` verbatim, e.g. `outbound`; null when telli sent none.",
    }),
    fromNumber: t.field({
      type: 'PhoneNumber',
      nullable: true,
      description: 'The calling number (E.164): your telli number for outbound calls, the contact for inbound ones.',
      resolve: (call) => checkedUpstreamValue('PhoneNumber', call.fromNumber),
    }),
    toNumber: t.field({
      type: 'PhoneNumber',
      nullable: true,
      description: 'The called number (E.164).',
      resolve: (call) => checkedUpstreamValue('PhoneNumber', call.toNumber),
    }),
    status: t.field({
      type: CallStatus,
      nullable: false,
      description:
        "What became of the call (telli's `call_status`). UNKNOWN when telli sends a value this API does not know, or none (see `rawStatus`).",
      resolve: (call, _args, ctx) => {
        const status = callStatusOf(call.status);
        if (status === 'UNKNOWN' && call.status !== null) {
          ctx.logger.debug({ callId: call.id, telliStatus: call.status }, 'unknown telli call status');
        }
        return status;
      },
    }),
    rawStatus: t.exposeString('status', {
      nullable: true,
      description: "telli's `call_status` verbatim, e.g. `COMPLETED` or `IN_PROGRESS`; null when telli sent none.",
    }),
    triggeredAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the call was triggered (dialling began).',
      resolve: (call) => checkedUpstreamValue('DateTime', call.triggeredAt),
    }),
    startedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the conversation started (someone picked up); null when nobody did.',
      resolve: (call) => checkedUpstreamValue('DateTime', call.startedAt),
    }),
    endedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the call ended; null while it is in progress.',
      resolve: (call) => checkedUpstreamValue('DateTime', call.endedAt),
    }),
    durationMinutes: t.exposeFloat('durationMinutes', {
      nullable: true,
      description: "Length of the conversation in minutes (telli's `call_length_min`).",
    }),
    endedReason: t.exposeString('endedReason', {
      nullable: true,
      description: 'Why the call ended, as telli says it, e.g. `agent-ended-call`, `customer-ended-call`, `voicemail`.',
    }),
    transcript: t.exposeString('transcript', {
      nullable: true,
      description: 'The whole conversation as one text, as telli formats it. `transcriptMessages` has it turn by turn.',
    }),
    transcriptMessages: t.expose('transcriptMessages', {
      type: [TranscriptMessageRef],
      nullable: false,
      description: 'The conversation turn by turn, in order; empty when there was none (yet).',
    }),
    analysis: t.field({
      type: 'JSONObject',
      nullable: true,
      description:
        "telli's system analysis of the call (`call_analysis`) exactly as telli sends it: one entry per check, each `{ value: Boolean, details }` (e.g. `customer_reached`, `voicemail_detected`). Null until the call has been analysed.",
      resolve: (call) => call.analysis,
    }),
    outcome: t.field({
      type: 'JSONObject',
      nullable: true,
      description:
        'The outcome fields you configured in telli (`call_outcome`) exactly as telli sends them: one entry per field, each `{ value, fieldSchema }`. Null until the call has been analysed.',
      resolve: (call) => call.outcome,
    }),
    collectedData: t.field({
      type: 'JSONObject',
      nullable: true,
      description: 'Data the agent collected during the call (`collected_data`), exactly as telli sends it.',
      resolve: (call) => call.collectedData,
    }),
    bookedSlotFor: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'The appointment the agent booked in this call; null when none was.',
      resolve: (call) => checkedUpstreamValue('DateTime', call.bookedSlotFor),
    }),
    recordingUrl: t.field({
      type: 'URL',
      nullable: true,
      description: "Where telli serves the call's recording; null when there is none.",
      resolve: (call) => checkedUpstreamValue('URL', call.recordingUrl),
    }),
    contact: t.field({
      type: ContactRef,
      nullable: true,
      description:
        "The contact called. Read like `contact(id:)`: all calls' contacts in an operation share one telli batch read per 1000 ids (plus v2 reads for v2 fields); null when telli no longer has the contact (a deleted contact's calls stay readable by id).",
      // One more contact in the v1 batch per call (deduplicated by id when it runs).
      extensions: costExtensions({ fanOut: { perItem: 1, items: () => 1 } }),
      resolve: (call, _args, ctx, info): Promise<ContactParent | null> | null => {
        if (call.contactId === null) return null;
        if (!contactIdSchema.safeParse(call.contactId).success) {
          throw upstreamInvalid('telli sent a contact id for this call that is not a UUID.');
        }
        return loadContact(ctx, call.contactId, contactNeeds(info));
      },
    }),
    agent: t.field({
      type: AgentRef,
      nullable: true,
      description:
        'The agent that made or took the call (`GET /v2/agents/{id}`): one telli call per distinct agent per operation, however many calls name it; null when telli sent no agent id or no longer has the agent.',
      // At most one read per call; in practice one per distinct agent (an account has a handful).
      extensions: costExtensions({ fanOut: { perItem: 1, items: () => 1 } }),
      resolve: (call, _args, ctx) => (call.agentId === null ? null : loadAgent(ctx, call.agentId)),
    }),
  }),
});

/** A call by id, or null when telli has none (a 404). */
export function loadCall(ctx: Context, id: string): Promise<TelliCall | null> {
  return ctx.loaders.callById
    .load(parseRecordId(id, 'call'))
    .catch((error: unknown) => Promise.reject(toGraphQLError(error, ctx.keySource, 'call')));
}

builder.asEntity(CallRef, {
  key: builder.selection<{ id: string }>('id'),
  resolveReference: (reference, ctx) => loadCall(ctx, String(reference.id)),
});

const CallConnectionRef = connectionTypes(CallRef, {
  name: 'Call',
  item: 'call',
  items: 'calls',
  edgeDescription: "A call in a contact's `calls`, with the cursor to resume after it.",
  cursorDescription: "Opaque. Pass as `after` to this contact's `calls` to continue right after this call.",
  connectionDescription: "A page of a contact's calls, newest first (a Relay connection over `GET /v1/list-calls`).",
});

builder.objectField(ContactRef, 'calls', (t) =>
  t.field({
    type: CallConnectionRef,
    nullable: false,
    description:
      "The contact's calls, newest first: `GET /v1/list-calls?contact_id=…`, one telli call per contact and page (the same page of the same contact asked twice in an operation costs one), at most 8 in flight per request. Each call's transcript, analysis and outcome come with it; `agent` adds one read per distinct agent.",
    args: {
      first: t.arg.int({
        required: false,
        defaultValue: DEFAULT_CALLS_PAGE_SIZE,
        description: `Calls per page, clamped to 1–${MAX_PAGE_SIZE} (telli's range).`,
      }),
      after: t.arg.string({
        required: false,
        description:
          "A cursor from a previous page of this contact's calls (`pageInfo.endCursor` or an edge `cursor`); omit for the newest calls. A cursor of another contact's calls is BAD_USER_INPUT.",
      }),
    },
    // One list-calls per contact this is read for, and up to `first` calls below it for each.
    extensions: costExtensions({
      fanOut: {
        perItem: UNBATCHED_READ_COST,
        items: (args) => clampFirst(args['first'], DEFAULT_CALLS_PAGE_SIZE),
      },
    }),
    resolve: async (contact, { first, after }, ctx) => {
      const contactId = contact.id.toLowerCase();
      const size = clampFirst(first, DEFAULT_CALLS_PAGE_SIZE);
      const position = positionAfter(after, contactId);
      let page: CallPage;
      try {
        page = await ctx.loaders.callsPage.load({
          contactId,
          limit: telliLimit(position, size),
          cursor: position.telliCursor,
        });
      } catch (error) {
        throw pageReadError(error, after, ctx, 'call');
      }
      return toConnection(
        { items: page.calls, hasNextPage: page.nextCursor !== null, nextCursor: page.nextCursor },
        position,
        size,
        (call: TelliCall) => call,
        contactId,
      );
    },
  }),
);

builder.queryField('call', (t) =>
  t.field({
    type: CallRef,
    nullable: true,
    description:
      'The call with this telli id (`GET /v1/get-call/{id}`: one telli call per distinct id), or null when telli has none. Calls of deleted contacts stay readable here.',
    args: { id: t.arg.id({ required: true, description: 'The telli call id (`call_id`).' }) },
    extensions: costExtensions({ fanOut: { perItem: UNBATCHED_READ_COST, items: () => 1 } }),
    resolve: (_root, { id }, ctx) => loadCall(ctx, String(id)),
  }),
);
