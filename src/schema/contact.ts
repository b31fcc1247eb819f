import { GraphQLError } from 'graphql';
import { z } from 'zod';
import type { Context } from '../context.js';
import { TELLI_BATCH_LIMIT, type TelliContact } from '../telli/index.js';
import { builder } from './builder.js';
import { badUserInput, toGraphQLError } from './errors.js';
import { checkedUpstreamValue } from './scalars.js';

/** Most ids one `contacts(ids:)` field accepts — telli's batch limit. */
export const MAX_IDS_PER_FIELD = TELLI_BATCH_LIMIT;
/** Longest external id accepted; bounds the URL we build. */
export const MAX_EXTERNAL_ID_LENGTH = 512;

export type ContactStatusValue = 'reached' | 'not_reached' | 'in_progress';
const KNOWN_STATUSES: ReadonlySet<string> = new Set<ContactStatusValue>(['reached', 'not_reached', 'in_progress']);

/** telli's status when it sent a known one; otherwise derived from the call timestamps. */
export function contactStatusOf(contact: TelliContact): { status: ContactStatusValue; unknownRaw?: string } {
  if (contact.status !== null && KNOWN_STATUSES.has(contact.status)) {
    return { status: contact.status as ContactStatusValue };
  }
  const status: ContactStatusValue = contact.inCallSince
    ? 'in_progress'
    : contact.reachedAt
      ? 'reached'
      : 'not_reached';
  return contact.status === null ? { status } : { status, unknownRaw: contact.status };
}

export const ContactStatus = builder.enumType('ContactStatus', {
  description: "Where telli's AI agent stands with a contact.",
  values: {
    REACHED: { value: 'reached', description: 'A conversation with the contact has happened.' },
    NOT_REACHED: { value: 'not_reached', description: 'The contact has not been reached (yet).' },
    IN_PROGRESS: { value: 'in_progress', description: 'A call with the contact is in progress right now.' },
  } as const,
});

export const ContactRef = builder.objectRef<TelliContact>('Contact');

ContactRef.implement({
  description: "A person telli's AI phone agents call, as stored in telli.",
  fields: (t) => ({
    id: t.exposeID('id', {
      nullable: false,
      description: 'The telli contact id (`contact_id`, a UUID).',
    }),
    externalId: t.exposeString('externalId', {
      nullable: true,
      description: 'Your own unique id for the contact (`external_contact_id`), e.g. a CRM record id.',
    }),
    externalUrl: t.field({
      type: 'URL',
      nullable: true,
      description: 'Link to the contact in your CRM or other system (`external_url`).',
      resolve: (contact) => checkedUpstreamValue('URL', contact.externalUrl),
    }),
    createdAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the contact was created in telli.',
      resolve: (contact) => checkedUpstreamValue('DateTime', contact.createdAt),
    }),
    firstName: t.exposeString('firstName', { nullable: true, description: 'First name.' }),
    lastName: t.exposeString('lastName', { nullable: true, description: 'Last name.' }),
    phoneNumber: t.field({
      type: 'PhoneNumber',
      nullable: true,
      description: 'Phone number in E.164 format, e.g. `+4917642048466`.',
      resolve: (contact) => checkedUpstreamValue('PhoneNumber', contact.phoneNumber),
    }),
    email: t.field({
      type: 'EmailAddress',
      nullable: true,
      description: 'Email address.',
      resolve: (contact) => checkedUpstreamValue('EmailAddress', contact.email),
    }),
    timezone: t.field({
      type: 'TimeZone',
      nullable: true,
      description:
        "IANA time zone, e.g. `Europe/Berlin`. telli's batch endpoint does not send it, so it is null for contacts read in a batch (every read by id today).",
      resolve: (contact) => checkedUpstreamValue('TimeZone', contact.timezone),
    }),
    salutation: t.exposeString('salutation', {
      nullable: true,
      description: 'Formal title or greeting, e.g. `Mr.`, `Ms.`, `Herr`, `Frau`.',
    }),
    status: t.field({
      type: ContactStatus,
      nullable: false,
      description:
        "The contact's status. telli's value when it sends one of `reached | not_reached | in_progress`. When telli omits it (its batch endpoint always does) or sends a value outside that enum, it is derived: `inCallSince` set → IN_PROGRESS, else `reachedAt` set → REACHED, else NOT_REACHED. An unknown value never fails the contact; it is logged as a warning.",
      resolve: (contact, _args, ctx) => {
        const { status, unknownRaw } = contactStatusOf(contact);
        if (unknownRaw !== undefined) {
          ctx.logger.warn(
            { contactId: contact.id, telliStatus: unknownRaw, derived: status },
            'unknown telli contact status; derived it',
          );
        }
        return status;
      },
    }),
    inCallSince: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the ongoing call started; null when the contact is not in a call.',
      resolve: (contact) => checkedUpstreamValue('DateTime', contact.inCallSince),
    }),
    reachedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the contact was last reached; null if never.',
      resolve: (contact) => checkedUpstreamValue('DateTime', contact.reachedAt),
    }),
    nextCallAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the next call is scheduled; null when none is.',
      resolve: (contact) => checkedUpstreamValue('DateTime', contact.nextCallAt),
    }),
    callAttempts: t.exposeInt('callAttempts', { nullable: true, description: 'Call attempts made so far.' }),
    contactDetails: t.expose('contactDetails', {
      type: 'JSONObject',
      nullable: false,
      description:
        'Free-form custom variables given to the AI agent (`contact_details`), exactly as telli stores them; `{}` when telli sends none.',
    }),
  }),
});

/*
 * Contact is a federation entity: other subgraphs (deals, tickets, calendars) hold contact ids and
 * the gateway asks this layer for the rest via `_entities`. Every representation goes through the
 * same per-request loader, so N representations cost one telli call per 1000 distinct ids.
 */
builder.asEntity(ContactRef, {
  key: builder.selection<{ id: string }>('id'),
  resolveReference: (reference, ctx) => loadContact(ctx, String(reference.id)),
});

const contactIdSchema = z.guid();

/** A validated, lower-cased telli id, or the BAD_USER_INPUT error to report instead. */
function parseContactId(id: string): string | GraphQLError {
  const parsed = contactIdSchema.safeParse(id);
  if (parsed.success) return parsed.data.toLowerCase();
  const shown = id.length > 64 ? `${id.slice(0, 64)}…` : id;
  return badUserInput(`"${shown}" is not a valid contact id: expected a UUID.`);
}

function loadContact(ctx: Context, id: string): Promise<TelliContact | null> {
  const key = parseContactId(id);
  if (key instanceof GraphQLError) return Promise.reject(key);
  return ctx.loaders.contactById
    .load(key)
    .catch((error: unknown) => Promise.reject(toGraphQLError(error, ctx.keySource)));
}

builder.queryType({
  description:
    'Read contacts from telli. Every id asked for in one operation is fetched in as few telli calls as possible.',
  fields: (t) => ({
    contact: t.field({
      type: ContactRef,
      nullable: true,
      description:
        'The contact with this telli id, or null when telli has none. A malformed id is a BAD_USER_INPUT error.',
      args: { id: t.arg.id({ required: true, description: 'The telli contact id (a UUID).' }) },
      resolve: (_root, { id }, ctx) => loadContact(ctx, String(id)),
    }),
    contacts: t.field({
      type: [ContactRef],
      nullable: { list: true, items: true },
      description: `Contacts by telli id, in the order of \`ids\`: null where telli has no such contact, duplicates allowed. A malformed id fails only its own entry (BAD_USER_INPUT). More than ${MAX_IDS_PER_FIELD} ids: the field is null with BAD_USER_INPUT and telli is not called; the rest of the response is unaffected.`,
      args: {
        ids: t.arg.idList({ required: true, description: `At most ${MAX_IDS_PER_FIELD} telli contact ids.` }),
      },
      resolve: (_root, { ids }, ctx) => {
        if (ids.length > MAX_IDS_PER_FIELD) {
          throw badUserInput(`contacts(ids:) accepts at most ${MAX_IDS_PER_FIELD} ids; got ${ids.length}.`, {
            maxIds: MAX_IDS_PER_FIELD,
          });
        }
        return ids.map((id) => loadContact(ctx, String(id)));
      },
    }),
    contactByExternalId: t.field({
      type: ContactRef,
      nullable: true,
      description: 'The contact with this external id (your own id for it), or null when telli has none.',
      args: {
        externalId: t.arg.string({
          required: true,
          description: `Your id for the contact, 1–${MAX_EXTERNAL_ID_LENGTH} characters; any characters are allowed.`,
        }),
      },
      resolve: (_root, { externalId }, ctx) => {
        if (externalId.length < 1 || externalId.length > MAX_EXTERNAL_ID_LENGTH) {
          throw badUserInput(`externalId must be 1–${MAX_EXTERNAL_ID_LENGTH} characters long.`);
        }
        return ctx.loaders.contactByExternalId
          .load(externalId)
          .catch((error: unknown) => Promise.reject(toGraphQLError(error, ctx.keySource)));
      },
    }),
  }),
});
