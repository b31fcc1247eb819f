import { GraphQLError } from 'graphql';
import type { Context } from '../../context.js';
import { ErrorCode } from '../../error-codes.js';
import type { CallEndedEvent, ContactStatusChangedEvent, LiveEvent } from '../../live/events.js';
import { SubscriptionLimitError, type EventStream } from '../../live/hub.js';
import type { TelliContact } from '../../telli/index.js';
import { builder } from '../core/builder.js';
import { CallRef, loadCall } from '../call/call.js';
import { ContactRef } from '../contact/contact.js';
import { MAX_IDS_PER_FIELD, parseContactId } from '../contact/queries.js';
import { contactNeeds, prefetch, type ContactParent } from '../contact/sources.js';
import { contactStatusOf, ContactStatus } from '../contact/status.js';
import { costExtensions, UNBATCHED_READ_COST } from '../core/cost.js';
import { badUserInput, toGraphQLError } from '../core/errors.js';
import { withEventContext } from './event-context.js';

/*
 * Subscriptions: telli's webhooks, as typed events. An event is a hint that a contact changed;
 * what a subscriber receives is that contact re-read with the subscriber's own credentials,
 * through the usual loaders and shared reads, after this instance dropped what it held about the
 * contact — fresh, and readable by the subscriber, or not sent at all.
 *
 * Each event runs with a context of its own (`ctx.forEvent()`: fresh loaders and budget, the same
 * credentials), which the payload carries to the executor (`event-context.ts`).
 */

/** Most ids one subscription may name — telli's batch limit, as for `contacts(ids:)`. */
export const MAX_SUBSCRIBED_IDS = MAX_IDS_PER_FIELD;

/** An event about to be executed: the event, and the subscriber's re-read of its contact. */
interface EventPayload<E extends LiveEvent> {
  event: E;
  /** The contact as the subscriber's key reads it; undefined when that read failed (one tenant only, see below). */
  v1: TelliContact | undefined;
}

function subscribedIds(contactIds: readonly (string | number)[] | null | undefined): Set<string> | undefined {
  if (contactIds === null || contactIds === undefined) return undefined;
  if (contactIds.length === 0) {
    throw badUserInput('contactIds must not be empty; omit it to receive events for every contact you can read.');
  }
  if (contactIds.length > MAX_SUBSCRIBED_IDS) {
    throw badUserInput(`contactIds accepts at most ${MAX_SUBSCRIBED_IDS} ids; got ${contactIds.length}.`, {
      maxIds: MAX_SUBSCRIBED_IDS,
    });
  }
  const ids = new Set<string>();
  for (const raw of contactIds) {
    const id = parseContactId(String(raw));
    if (id instanceof GraphQLError) throw id;
    ids.add(id);
  }
  return ids;
}

/**
 * The subscriber's stream: hub events for the chosen contacts, each re-read with the
 * subscriber's key before it is let through.
 *
 * Tenancy: an event is sent only when the subscriber's own read finds the contact. A contact it
 * cannot read (another telli account's, or deleted) is skipped silently, so nobody learns that
 * another tenant's contact changed. When the read fails (telli down, rate limited), the event is
 * skipped too in forwarded-key mode — that failure cannot tell whether the contact is the
 * caller's — and sent with the error in server-key and sandbox mode, where every subscriber is
 * the same telli account.
 */
async function subscribeTo<E extends LiveEvent>(
  type: E['type'],
  contactIds: readonly (string | number)[] | null | undefined,
  ctx: Context,
): Promise<AsyncIterableIterator<EventPayload<E>>> {
  const ids = subscribedIds(contactIds);
  if (!ctx.live) throw new Error('live events are not wired into this context');
  let stream: EventStream;
  try {
    stream = await ctx.live.subscribe({ type, contactIds: ids });
  } catch (error) {
    if (error instanceof SubscriptionLimitError) {
      throw new GraphQLError(error.message, {
        extensions: { code: ErrorCode.TOO_MANY_SUBSCRIPTIONS, limit: error.limit, scope: error.scope },
      });
    }
    throw toGraphQLError(error, ctx.keySource);
  }
  const live = ctx.live;

  async function prepare(event: E): Promise<EventPayload<E> | undefined> {
    const scope = ctx.forEvent();
    try {
      const v1 = await scope.loaders.contactById.load(event.contactId);
      if (v1 !== null) {
        live.report(type, 'delivered');
        return withEventContext({ event, v1 }, scope);
      }
    } catch (error) {
      if (ctx.keySource === 'server') {
        live.report(type, 'delivered');
        return withEventContext({ event, v1: undefined }, scope);
      }
      scope.logger.warn(
        { err: error instanceof Error ? error.message : String(error), eventType: type },
        'subscription event skipped: the re-read failed (forwarded key: cannot tell whose contact it is)',
      );
    }
    scope.release();
    live.report(type, 'unreadable');
    return undefined;
  }

  const iterator: AsyncIterableIterator<EventPayload<E>> = {
    async next() {
      for (;;) {
        const item = await stream.next();
        if (item.done) return { value: undefined, done: true };
        const payload = await prepare(item.value as E);
        if (payload) return { value: payload, done: false };
      }
    },
    // The client left (or the server completes it): the subscription ends at once.
    return: async () => {
      await stream.return();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

/** The contact of an event, with the subscriber's re-read at hand; v2 fields load through the event's loaders. */
function eventContact(
  payload: EventPayload<LiveEvent>,
  ctx: Context,
  needsV2: boolean,
): ContactParent | Promise<ContactParent> {
  const { contactId } = payload.event;
  if (needsV2) prefetch(ctx.loaders.contactV2ById.load(contactId));
  const shared = needsV2 ? 'v2' : 'v1';
  if (payload.v1) return { id: payload.v1.id, shared, v1: payload.v1 };
  // The subscriber's read failed (server-key mode only): the same read, memoised, reports why.
  return ctx.loaders.contactById.load(contactId).then(
    (v1) => {
      if (v1 === null) throw toGraphQLError(new Error('contact vanished between reads'), ctx.keySource);
      return { id: v1.id, shared, v1 };
    },
    (error: unknown) => Promise.reject(toGraphQLError(error, ctx.keySource)),
  );
}

const contactDescription =
  "The contact, re-read from telli with the subscriber's own credentials after the event arrived (so it is fresh); the event is sent only when that read finds it.";

const ContactStatusChangeRef = builder.objectRef<EventPayload<ContactStatusChangedEvent>>('ContactStatusChange');
ContactStatusChangeRef.implement({
  description:
    "telli reported that a contact's status changed (its `contact_status_changed` webhook). The contact is re-read for each subscriber: `status` is the contact's status now, `webhookStatus` telli's own word in the webhook.",
  fields: (t) => ({
    contact: t.field({
      type: ContactRef,
      nullable: false,
      description: contactDescription,
      resolve: (payload, _args, ctx, info) => eventContact(payload, ctx, contactNeeds(info).v2),
    }),
    status: t.field({
      type: ContactStatus,
      nullable: false,
      description:
        "The contact's status as re-read from telli (`Contact.status`), after the change: IN_PROGRESS during a call, and REACHED for good once any call has reached the contact — also after a later call that did not (whose `webhookStatus` is `pending`).",
      resolve: async (payload, _args, ctx) => {
        const contact = await eventContact(payload, ctx, false);
        return contactStatusOf(contact.v1 as TelliContact).status;
      },
    }),
    webhookStatus: t.string({
      nullable: true,
      description:
        "telli's word for this change, as sent in the webhook: it describes telli's dialer, not the contact — `pending` while telli keeps trying (a call started, or ended without reaching the contact), `reached` when a call reached it, `closed` when telli gave up, `new` before any call. telli documents no list, so this is a string; null when the webhook had none.",
      resolve: (payload) => payload.event.webhookStatus,
    }),
    occurredAt: t.field({
      type: 'DateTime',
      nullable: false,
      description:
        'When the change happened: the time in the webhook when it names one, else when telli first delivered it.',
      resolve: (payload) => payload.event.occurredAt,
    }),
  }),
});

const CallEndedRef = builder.objectRef<EventPayload<CallEndedEvent>>('CallEnded');
CallEndedRef.implement({
  description:
    "A call of telli's AI agent with a contact has ended and been analysed (telli's `call_ended` webhook). The contact is re-read for each subscriber.",
  fields: (t) => ({
    contact: t.field({
      type: ContactRef,
      nullable: false,
      description: contactDescription,
      resolve: (payload, _args, ctx, info) => eventContact(payload, ctx, contactNeeds(info).v2),
    }),
    call: t.field({
      type: CallRef,
      nullable: true,
      description:
        "The call that ended, read from telli (`GET /v1/get-call/{id}`) with the subscriber's credentials: its transcript, analysis and outcome. Null when the webhook named no call or telli does not know it.",
      extensions: costExtensions({ fanOut: { perItem: UNBATCHED_READ_COST, items: () => 1 } }),
      resolve: (payload, _args, ctx) => (payload.event.callId === null ? null : loadCall(ctx, payload.event.callId)),
    }),
    callId: t.id({
      nullable: true,
      description: 'The telli id of the call that ended (`call.call_id` in the webhook); null when telli sent none.',
      resolve: (payload) => payload.event.callId,
    }),
    callStatus: t.string({
      nullable: true,
      description:
        "telli's `call_status` of the call, as sent in the webhook (`COMPLETED`, `NOT_REACHED`, `VOICEMAIL`, …; an open set); null when telli sent none.",
      resolve: (payload) => payload.event.callStatus,
    }),
    occurredAt: t.field({
      type: 'DateTime',
      nullable: false,
      description: "When the call ended: the webhook's time when it names one, else when telli first delivered it.",
      resolve: (payload) => payload.event.occurredAt,
    }),
  }),
});

builder.subscriptionType({
  description:
    "Live updates from telli's webhooks, over Server-Sent Events (`Accept: text/event-stream`), GraphQL over WebSocket (`graphql-transport-ws`, by upgrade on /graphql), Apollo's multipart protocol (`Accept: multipart/mixed;subscriptionSpec=1.0`) or Apollo's HTTP callback protocol (`callbackSpec=1.0`). Each event is delivered once to each subscriber connected when it arrives; there is no replay for subscribers that were not. See docs/live.md.",
  fields: (t) => ({
    contactStatusChanged: t.field({
      type: ContactStatusChangeRef,
      nullable: false,
      description: `A contact's status changed in telli. At most ${MAX_SUBSCRIBED_IDS} \`contactIds\` (BAD_USER_INPUT beyond).`,
      args: {
        contactIds: t.arg.idList({
          required: false,
          description: `Only changes of these contacts (at most ${MAX_SUBSCRIBED_IDS} telli ids). Omitted: every contact your credentials can read.`,
        }),
      },
      subscribe: (_root, { contactIds }, ctx) =>
        subscribeTo<ContactStatusChangedEvent>('contact_status_changed', contactIds, ctx),
      resolve: (payload) => payload,
    }),
    callEnded: t.field({
      type: CallEndedRef,
      nullable: false,
      description: `A call with a contact ended. At most ${MAX_SUBSCRIBED_IDS} \`contactIds\` (BAD_USER_INPUT beyond).`,
      args: {
        contactIds: t.arg.idList({
          required: false,
          description: `Only calls with these contacts (at most ${MAX_SUBSCRIBED_IDS} telli ids). Omitted: every contact your credentials can read.`,
        }),
      },
      subscribe: (_root, { contactIds }, ctx) => subscribeTo<CallEndedEvent>('call_ended', contactIds, ctx),
      resolve: (payload) => payload,
    }),
  }),
});
