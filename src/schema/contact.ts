import { GraphQLError, type FieldNode, type GraphQLResolveInfo } from 'graphql';
import { z } from 'zod';
import type { Context } from '../context.js';
import { TELLI_BATCH_LIMIT, type TelliContact, type TelliContactV2 } from '../telli/index.js';
import { builder } from './builder.js';
import { ContactPropertyRef } from './contact-property.js';
import { badUserInput, toGraphQLError, upstreamInvalid } from './errors.js';
import { checkedUpstreamValue } from './scalars.js';
import { selectedFieldNames, selectionHasDirectives } from './selection.js';

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

/*
 * Where each Contact field comes from. telli's v1 batch read is cheap (one call per 1000 ids) and
 * the only source of call state, but has no typed properties or `updatedAt`; v2 has those, but
 * costs one call per contact and carries no call state. So each field names its source:
 *  - `v1` / `v2`: only that API has it;
 *  - `shared`: both have it. It is read from v2 when the operation reads this contact's v2 record
 *    anyway (a v2 field is selected, or the contact came from a v2 list or lookup), else from v1;
 *  - `key`: known without a read.
 * This one table drives both the planning in the root resolvers (which read establishes that the
 * contact exists, which other read to start early) and the field resolvers, so they cannot drift.
 */
export const CONTACT_FIELD_SOURCES = {
  id: 'key',
  externalId: 'shared',
  externalUrl: 'shared',
  createdAt: 'shared',
  firstName: 'shared',
  lastName: 'shared',
  phoneNumber: 'shared',
  email: 'shared',
  timezone: 'shared',
  salutation: 'shared',
  status: 'v1',
  inCallSince: 'v1',
  reachedAt: 'v1',
  nextCallAt: 'v1',
  callAttempts: 'v1',
  contactDetails: 'v1',
  updatedAt: 'v2',
  properties: 'v2',
} as const satisfies Record<string, 'key' | 'shared' | 'v1' | 'v2'>;

type Sources = typeof CONTACT_FIELD_SOURCES;
type SharedField = { [F in keyof Sources]: Sources[F] extends 'shared' ? F : never }[keyof Sources];
type SharedContact = Pick<TelliContact, SharedField>;
// Both records must answer every shared field with the same type (v2's `timezoneIana` is mapped).
type _V2AnswersSharedFields = TelliContactV2 extends SharedContact ? true : never;
const _v2AnswersSharedFields: _V2AnswersSharedFields = true;
void _v2AnswersSharedFields;

const SOURCE_OF: ReadonlyMap<string, Sources[keyof Sources]> = new Map(Object.entries(CONTACT_FIELD_SOURCES));

/**
 * A Contact as resolvers see it: its id and whichever telli records the operation has read for it
 * so far. A field whose record is missing loads it through the per-request loaders.
 */
export interface ContactParent {
  /** The telli id as telli spells it. */
  id: string;
  /** Which record answers the `shared` fields. */
  shared: 'v1' | 'v2';
  v1?: TelliContact;
  v2?: TelliContactV2;
}

/** Whether a selection of Contact asks for fields only v1, or only v2, has. */
export interface ContactNeeds {
  v1: boolean;
  v2: boolean;
}

/**
 * The needs of a field node, for as long as its document lives. Yoga's parser cache hands every
 * request with the same query text the same document, so the same selection is walked once, not
 * once per field and request (20 aliased `contact`s walked 20 selections per operation: ~4 % of
 * such an operation's CPU). `null`: a directive makes the answer depend on the variables.
 */
const needsByField = new WeakMap<FieldNode, Readonly<ContactNeeds> | null>();
/**
 * Otherwise per `info`: `_entities` asks once per representation with the same `info` (the key is
 * per operation, so the memo dies with the request).
 */
const needsByInfo = new WeakMap<GraphQLResolveInfo, ContactNeeds>();

/** What the Contact selections of the current field (at each of `paths` below it) need. */
export function contactNeeds(info: GraphQLResolveInfo, paths?: readonly (readonly string[])[]): ContactNeeds {
  if (paths) return computeNeeds(info, paths);
  const field = info.fieldNodes.length === 1 ? info.fieldNodes[0] : undefined;
  const known = field && needsByField.get(field);
  if (known) return known;
  let needs = needsByInfo.get(info);
  if (!needs) needsByInfo.set(info, (needs = computeNeeds(info, [[]])));
  if (field && known === undefined) {
    needsByField.set(field, selectionHasDirectives(field, info) ? null : Object.freeze({ ...needs }));
  }
  return needs;
}

function computeNeeds(info: GraphQLResolveInfo, paths: readonly (readonly string[])[]): ContactNeeds {
  const needs = { v1: false, v2: false };
  for (const path of paths) {
    for (const name of selectedFieldNames(info, path)) {
      const source = SOURCE_OF.get(name);
      if (source === 'v1') needs.v1 = true;
      else if (source === 'v2') needs.v2 = true;
    }
  }
  return needs;
}

/** A contact telli listed (v2): it exists, and its shared fields are already at hand. */
export function listedContact(v2: TelliContactV2): ContactParent {
  return { id: v2.id, shared: 'v2', v2 };
}

/** Starts a read whose result a field resolver will pick up from the loader's cache later. */
export function prefetch(load: Promise<unknown>): void {
  // The cached promise reports its own failure to whichever field awaits it; this copy must not
  // surface as an unhandled rejection.
  load.catch(() => undefined);
}

/** telli's v1 and v2 APIs disagree about whether the contact exists (e.g. it was just deleted). */
function disagreement(missingIn: 'v1' | 'v2'): GraphQLError {
  const other = missingIn === 'v1' ? 'v2' : 'v1';
  return upstreamInvalid(`telli's ${missingIn} API does not know this contact, although its ${other} API does.`);
}

async function settle<T>(ctx: Context, loading: Promise<T | null>, api: 'v1' | 'v2'): Promise<T> {
  let record: T | null;
  try {
    record = await loading;
  } catch (error) {
    throw toGraphQLError(error, ctx.keySource);
  }
  if (record === null) throw disagreement(api);
  return record;
}

function v1Of(parent: ContactParent, ctx: Context): TelliContact | Promise<TelliContact> {
  return parent.v1 ?? settle(ctx, ctx.loaders.contactById.load(parent.id.toLowerCase()), 'v1');
}

function v2Of(parent: ContactParent, ctx: Context): TelliContactV2 | Promise<TelliContactV2> {
  return parent.v2 ?? settle(ctx, ctx.loaders.contactV2ById.load(parent.id.toLowerCase()), 'v2');
}

type RecordOf<F extends keyof Sources> = Sources[F] extends 'v1'
  ? TelliContact
  : Sources[F] extends 'v2'
    ? TelliContactV2
    : SharedContact;

/** A resolver for `field` that reads the record `CONTACT_FIELD_SOURCES` names for it. */
function read<F extends Exclude<keyof Sources, 'id'>, T>(
  field: F,
  pick: (record: RecordOf<F>, ctx: Context) => T,
): (parent: ContactParent, args: object, ctx: Context) => T | Promise<T> {
  const source: Sources[keyof Sources] = CONTACT_FIELD_SOURCES[field];
  return (parent, _args, ctx) => {
    const record =
      source === 'v1' || (source === 'shared' && parent.shared === 'v1') ? v1Of(parent, ctx) : v2Of(parent, ctx);
    // The table and RecordOf<F> agree by construction; TypeScript cannot follow the branch above.
    const apply = (r: TelliContact | TelliContactV2) => pick(r as RecordOf<F>, ctx);
    return record instanceof Promise ? record.then(apply) : apply(record);
  };
}

export const ContactRef = builder.objectRef<ContactParent>('Contact');

ContactRef.implement({
  description:
    "A person telli's AI phone agents call, as stored in telli. Each field is read from the cheapest telli endpoint that has it, and only when selected: call state from v1's batch read, typed `properties` and `updatedAt` from v2 (one call per contact), the rest from whichever of the two the operation reads anyway.",
  fields: (t) => ({
    id: t.exposeID('id', {
      nullable: false,
      description: 'The telli contact id (`contact_id`, a UUID).',
    }),
    externalId: t.string({
      nullable: true,
      description: 'Your own unique id for the contact (`external_contact_id`), e.g. a CRM record id.',
      resolve: read('externalId', (c) => c.externalId),
    }),
    externalUrl: t.field({
      type: 'URL',
      nullable: true,
      description: 'Link to the contact in your CRM or other system (`external_url`).',
      resolve: read('externalUrl', (c) => checkedUpstreamValue('URL', c.externalUrl)),
    }),
    createdAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the contact was created in telli.',
      resolve: read('createdAt', (c) => checkedUpstreamValue('DateTime', c.createdAt)),
    }),
    updatedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description:
        'When the contact last changed in telli. From telli v2 (`GET /v2/contacts/{id}`): one call per contact.',
      resolve: read('updatedAt', (c) => checkedUpstreamValue('DateTime', c.updatedAt)),
    }),
    firstName: t.string({
      nullable: true,
      description: 'First name.',
      resolve: read('firstName', (c) => c.firstName),
    }),
    lastName: t.string({ nullable: true, description: 'Last name.', resolve: read('lastName', (c) => c.lastName) }),
    phoneNumber: t.field({
      type: 'PhoneNumber',
      nullable: true,
      description: 'Phone number in E.164 format, e.g. `+4917642048466`.',
      resolve: read('phoneNumber', (c) => checkedUpstreamValue('PhoneNumber', c.phoneNumber)),
    }),
    email: t.field({
      type: 'EmailAddress',
      nullable: true,
      description: 'Email address.',
      resolve: read('email', (c) => checkedUpstreamValue('EmailAddress', c.email)),
    }),
    timezone: t.field({
      type: 'TimeZone',
      nullable: true,
      description:
        "IANA time zone, e.g. `Europe/Berlin`. Only telli v2 sends it (`timezoneIana`); v1's batch read does not. So it is set when the operation reads this contact from v2 anyway — it comes from `contactsPage`, or `properties` or `updatedAt` is selected beside it — and null when only v1 is read.",
      resolve: read('timezone', (c) => checkedUpstreamValue('TimeZone', c.timezone)),
    }),
    salutation: t.string({
      nullable: true,
      description: 'Formal title or greeting, e.g. `Mr.`, `Ms.`, `Herr`, `Frau`.',
      resolve: read('salutation', (c) => c.salutation),
    }),
    status: t.field({
      type: ContactStatus,
      nullable: false,
      description:
        "The contact's status (call state: telli v1 only). telli's value when it sends one of `reached | not_reached | in_progress`. When telli omits it (its batch endpoint always does) or sends a value outside that enum, it is derived: `inCallSince` set → IN_PROGRESS, else `reachedAt` set → REACHED, else NOT_REACHED. An unknown value never fails the contact; it is logged as a warning.",
      resolve: read('status', (contact, ctx) => {
        const { status, unknownRaw } = contactStatusOf(contact);
        if (unknownRaw !== undefined) {
          ctx.logger.warn(
            { contactId: contact.id, telliStatus: unknownRaw, derived: status },
            'unknown telli contact status; derived it',
          );
        }
        return status;
      }),
    }),
    inCallSince: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the ongoing call started; null when the contact is not in a call (call state: telli v1 only).',
      resolve: read('inCallSince', (c) => checkedUpstreamValue('DateTime', c.inCallSince)),
    }),
    reachedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the contact was last reached; null if never (call state: telli v1 only).',
      resolve: read('reachedAt', (c) => checkedUpstreamValue('DateTime', c.reachedAt)),
    }),
    nextCallAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the next call is scheduled; null when none is (call state: telli v1 only).',
      resolve: read('nextCallAt', (c) => checkedUpstreamValue('DateTime', c.nextCallAt)),
    }),
    callAttempts: t.int({
      nullable: true,
      description: 'Call attempts made so far (call state: telli v1 only).',
      resolve: read('callAttempts', (c) => c.callAttempts),
    }),
    contactDetails: t.field({
      type: 'JSONObject',
      nullable: false,
      description:
        'Free-form custom variables given to the AI agent (v1 `contact_details`), exactly as telli stores them; `{}` when telli sends none. telli v2 replaces them with typed `properties`.',
      resolve: read('contactDetails', (c) => c.contactDetails),
    }),
    properties: t.field({
      type: [ContactPropertyRef],
      nullable: false,
      description:
        "Typed custom fields (telli v2 `properties`), in telli's order. From `GET /v2/contacts/{id}`: one call per contact, at most 8 in flight per request.",
      resolve: read('properties', (c) => c.properties),
    }),
  }),
});

/*
 * Contact is a federation entity: other subgraphs (deals, tickets, calendars) hold contact ids and
 * the gateway asks this layer for the rest via `_entities`. Representations follow the same rule
 * as root fields, so N of them cost one telli v1 call per 1000 distinct ids (plus one v2 call per
 * contact only when v2 fields are asked for).
 */
builder.asEntity(ContactRef, {
  key: builder.selection<{ id: string }>('id'),
  resolveReference: (reference, ctx, info) => loadContact(ctx, String(reference.id), contactNeeds(info)),
});

const contactIdSchema = z.guid();

/** A validated, lower-cased telli id, or the BAD_USER_INPUT error to report instead. */
function parseContactId(id: string): string | GraphQLError {
  const parsed = contactIdSchema.safeParse(id);
  if (parsed.success) return parsed.data.toLowerCase();
  const shown = id.length > 64 ? `${id.slice(0, 64)}…` : id;
  return badUserInput(`"${shown}" is not a valid contact id: expected a UUID.`);
}

/**
 * A contact by id for a root field, or null when telli has none. Which read establishes that it
 * exists: the v1 batch (cheap, and needed anyway for call state), unless the selection needs v2
 * and nothing v1-only — then v2's 404 answers it and v1 is not called at all. When both are
 * needed, both reads start now so that v2's round trip overlaps v1's.
 */
function loadContact(ctx: Context, id: string, needs: ContactNeeds): Promise<ContactParent | null> {
  const key = parseContactId(id);
  if (key instanceof GraphQLError) return Promise.reject(key);
  return findContact(ctx, key, needs).catch((error: unknown) => Promise.reject(toGraphQLError(error, ctx.keySource)));
}

async function findContact(ctx: Context, key: string, needs: ContactNeeds): Promise<ContactParent | null> {
  const shared = needs.v2 ? 'v2' : 'v1';
  if (needs.v1 || !needs.v2) {
    if (needs.v2) prefetch(ctx.loaders.contactV2ById.load(key));
    const v1 = await ctx.loaders.contactById.load(key);
    return v1 && { id: v1.id, shared, v1 };
  }
  const v2 = await ctx.loaders.contactV2ById.load(key);
  return v2 && { id: v2.id, shared, v2 };
}

/**
 * A contact by external id. With v2 fields selected, v2's lookup answers in one call with the
 * whole v2 record (v1's lookup returns a reduced object, so v1 needs the lookup plus a batch read).
 */
async function findByExternalId(ctx: Context, externalId: string, needs: ContactNeeds): Promise<ContactParent | null> {
  if (!needs.v2) {
    const v1 = await ctx.loaders.contactByExternalId.load(externalId);
    return v1 && { id: v1.id, shared: 'v1', v1 };
  }
  const v2 = await ctx.loaders.contactV2ByExternalId.load(externalId);
  if (v2 === null) return null;
  if (needs.v1) prefetch(ctx.loaders.contactById.load(v2.id.toLowerCase()));
  return { id: v2.id, shared: 'v2', v2 };
}

builder.queryType({
  description:
    'Read contacts from telli. Every id asked for in one operation is fetched in as few telli calls as possible, and only from the endpoints the selected fields need.',
  fields: (t) => ({
    contact: t.field({
      type: ContactRef,
      nullable: true,
      description:
        'The contact with this telli id, or null when telli has none. A malformed id is a BAD_USER_INPUT error.',
      args: { id: t.arg.id({ required: true, description: 'The telli contact id (a UUID).' }) },
      resolve: (_root, { id }, ctx, info) => loadContact(ctx, String(id), contactNeeds(info)),
    }),
    contacts: t.field({
      type: [ContactRef],
      nullable: { list: true, items: true },
      description: `Contacts by telli id, in the order of \`ids\`: null where telli has no such contact, duplicates allowed. A malformed id fails only its own entry (BAD_USER_INPUT). More than ${MAX_IDS_PER_FIELD} ids: the field is null with BAD_USER_INPUT and telli is not called; the rest of the response is unaffected.`,
      args: {
        ids: t.arg.idList({ required: true, description: `At most ${MAX_IDS_PER_FIELD} telli contact ids.` }),
      },
      resolve: (_root, { ids }, ctx, info) => {
        if (ids.length > MAX_IDS_PER_FIELD) {
          throw badUserInput(`contacts(ids:) accepts at most ${MAX_IDS_PER_FIELD} ids; got ${ids.length}.`, {
            maxIds: MAX_IDS_PER_FIELD,
          });
        }
        const needs = contactNeeds(info);
        return ids.map((id) => loadContact(ctx, String(id), needs));
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
      resolve: (_root, { externalId }, ctx, info) => {
        if (externalId.length < 1 || externalId.length > MAX_EXTERNAL_ID_LENGTH) {
          throw badUserInput(`externalId must be 1–${MAX_EXTERNAL_ID_LENGTH} characters long.`);
        }
        return findByExternalId(ctx, externalId, contactNeeds(info)).catch((error: unknown) =>
          Promise.reject(toGraphQLError(error, ctx.keySource)),
        );
      },
    }),
  }),
});
