import { z } from 'zod';

/**
 * What the layer makes of a verified telli webhook. telli documents `call_ended` only in part and
 * `contact_status_changed` not at all (telli-api.md §9, §12), so the reading is lenient: the
 * contact id is looked for where integrations have seen it, telli's status word is kept as the
 * string it is, and a payload this module cannot use is acknowledged, never an error — a 4xx
 * would only make Svix redeliver something that will never become usable.
 *
 * Events are hints: only ids, telli's words and timestamps travel on; the contact itself is
 * re-read by every subscriber with its own credentials. Names, phone numbers and transcripts in
 * the payload are never put on the bus or into a log.
 */
export const LIVE_EVENT_TYPES = ['contact_status_changed', 'call_ended'] as const;
export type LiveEventType = (typeof LIVE_EVENT_TYPES)[number];

/** One change telli told us about, as it travels on the bus between instances. */
export type LiveEvent = ContactStatusChangedEvent | CallEndedEvent;

interface LiveEventBase {
  /** The Svix message id (`svix-id`): the same for every redelivery of one message. */
  deliveryId: string;
  /** The telli contact id, lower case. */
  contactId: string;
  /** The contact's external id when the payload carried it (lookups by it are dropped too). */
  externalId: string | null;
  /** ISO time of the change: from the payload when it says, else when the webhook was first received. */
  occurredAt: string;
}

export interface ContactStatusChangedEvent extends LiveEventBase {
  type: 'contact_status_changed';
  /** telli's own status word (`new`, `pending`, `closed`, `reached`, …), as sent; null when none. */
  webhookStatus: string | null;
}

export interface CallEndedEvent extends LiveEventBase {
  type: 'call_ended';
  /** telli's `call.call_id`, when sent. */
  callId: string | null;
  /** telli's `call.call_status` as sent (`COMPLETED`, `NOT_REACHED`, …), when sent. */
  callStatus: string | null;
}

/** The outcome of reading one verified payload. */
export type Interpretation =
  | { kind: 'event'; event: LiveEvent; unknownFields: string[] }
  /** An event type this layer does not handle (acknowledged, counted, logged at debug). */
  | { kind: 'unknown-type'; type: string }
  /** A known type without a usable contact id (acknowledged, counted, logged at warn). */
  | { kind: 'unusable'; type: LiveEventType; reason: string }
  /** What was read is not an event the bus would take (refused, so that nothing is acknowledged and lost). */
  | { kind: 'undeliverable'; type: LiveEventType; reason: string };

const UUID = z.guid();
const text = z.string().min(1).max(512);
const loose = z.looseObject({});
/** An event's time on the bus: what `Date#toISOString` writes for years 0000–9999. */
const isoDateTime = z.iso.datetime({ offset: true });

/**
 * A delivery id (`svix-id`) the bus carries. The webhook route checks it with the headers, before
 * reading the body, so that a delivery whose id the bus would refuse is refused, not acknowledged.
 */
export const deliveryIdSchema = text;

/** Top-level fields each type is known to carry; anything else is counted as unknown. */
const KNOWN_FIELDS: Record<LiveEventType, ReadonlySet<string>> = {
  contact_status_changed: new Set([
    'event',
    'contact',
    'contact_id',
    'contactId',
    'call',
    'status',
    'new_status',
    'contact_status',
    'previous_status',
    'old_status',
    'timestamp',
    'occurred_at',
    'changed_at',
  ]),
  call_ended: new Set(['event', 'call', 'contact', 'contact_id', 'contactId', 'timestamp', 'occurred_at']),
};

/** At most this many unknown field names are reported per payload (they go into a log line). */
const MAX_REPORTED_FIELDS = 20;

/**
 * Reads a verified, parsed webhook body. `receivedAt` is used when the payload names no time of
 * its own. Never throws. The event is built with the rules the bus checks every message with
 * (`parseLiveEvent`) and checked by them before it is returned: one parser for both sides of the
 * bus, so that whatever the route acknowledges as published, every instance can deliver.
 */
export function interpretWebhook(body: unknown, deliveryId: string, receivedAt: Date): Interpretation {
  const root = asObject(body);
  const type =
    typeof root?.['event'] === 'string' ? root['event'] : typeof root?.['type'] === 'string' ? root['type'] : '';
  if (!root || !isLiveEventType(type)) return { kind: 'unknown-type', type: boundedType(type) };

  const contact = asObject(root['contact']);
  const call = asObject(root['call']);
  const candidates = [contact?.['contact_id'], root['contact_id'], root['contactId'], call?.['contact_id']];
  const contactId = candidates.map((c) => UUID.safeParse(c)).find((r) => r.success)?.data;
  if (!contactId) return { kind: 'unusable', type, reason: 'no contact id (a UUID) where telli puts it' };

  const externalId = stringOr(contact?.['external_contact_id']);
  const occurredAt =
    isoOr(root['occurred_at']) ??
    isoOr(root['changed_at']) ??
    isoOr(root['timestamp']) ??
    (type === 'call_ended' ? (isoOr(call?.['ended_at_iso']) ?? isoOr(call?.['ended_at'])) : undefined) ??
    receivedAt.toISOString();
  const base = { deliveryId, contactId: contactId.toLowerCase(), externalId, occurredAt };
  const unknownFields = Object.keys(root)
    .filter((key) => !KNOWN_FIELDS[type].has(key))
    .slice(0, MAX_REPORTED_FIELDS);

  const built: LiveEvent =
    type === 'contact_status_changed'
      ? {
          type,
          ...base,
          webhookStatus:
            stringOr(root['status']) ??
            stringOr(root['new_status']) ??
            stringOr(root['contact_status']) ??
            stringOr(contact?.['status']),
        }
      : { type, ...base, callId: stringOr(call?.['call_id']), callStatus: stringOr(call?.['call_status']) };
  const event = parseLiveEvent(built);
  if (!event) return { kind: 'undeliverable', type, reason: 'the event breaks the rules of the event bus' };
  return { kind: 'event', event, unknownFields };
}

export function isLiveEventType(type: string): type is LiveEventType {
  return (LIVE_EVENT_TYPES as readonly string[]).includes(type);
}

/**
 * A bus message, checked again on arrival: the channel is shared, and a message another writer
 * (or another version of this layer) published must not reach a resolver unchecked.
 */
const liveEventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('contact_status_changed'),
    deliveryId: deliveryIdSchema,
    contactId: UUID,
    externalId: text.nullable(),
    occurredAt: isoDateTime,
    webhookStatus: text.nullable(),
  }),
  z.object({
    type: z.literal('call_ended'),
    deliveryId: deliveryIdSchema,
    contactId: UUID,
    externalId: text.nullable(),
    occurredAt: isoDateTime,
    callId: text.nullable(),
    callStatus: text.nullable(),
  }),
]);

/** A bus message as a `LiveEvent`, or undefined when it is not one. */
export function parseLiveEvent(message: unknown): LiveEvent | undefined {
  const parsed = liveEventSchema.safeParse(message);
  return parsed.success ? { ...parsed.data, contactId: parsed.data.contactId.toLowerCase() } : undefined;
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  const parsed = loose.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** A non-empty string of sane length, else null: telli's words are kept, not validated. */
function stringOr(value: unknown): string | null {
  const parsed = text.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/**
 * An ISO timestamp string, or epoch milliseconds (telli's numeric `*_at`), as ISO; else undefined.
 * A time outside the years 0000–9999 has no ISO form the bus accepts (`+010000-…`, `-000001-…`):
 * it counts as no time at all, like any other unreadable one.
 */
function isoOr(value: unknown): string | undefined {
  let ms: number;
  if (typeof value === 'number' && Number.isFinite(value)) {
    // 13 digits are milliseconds (§12); 10 digits are seconds.
    ms = value < 1e11 ? value * 1000 : value;
  } else if (typeof value === 'string' && value.length <= 64) {
    ms = Date.parse(value);
  } else {
    return undefined;
  }
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return undefined;
  const iso = date.toISOString();
  return isoDateTime.safeParse(iso).success ? iso : undefined;
}

/** Event type names are caller data: bounded before they reach a log line or a metric. */
function boundedType(type: string): string {
  return type.length > 64 ? `${type.slice(0, 64)}…` : type;
}
