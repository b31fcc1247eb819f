import type { Context } from '../../context.js';
import type { TelliContact, TelliContactV2 } from '../../telli/index.js';
import { builder } from '../core/builder.js';
import { NodeRef } from '../core/node.js';
import { ContactPropertyRef } from './property.js';
import { CONTACT_FIELD_SOURCES, v1Of, v2Of, type ContactParent, type SharedContact, type Sources } from './sources.js';
import { contactStatusOf, ContactStatus } from './status.js';
import { costExtensions, V2_READ_COST } from '../core/cost.js';
import { checkedUpstreamValue } from '../core/scalars.js';

/*
 * The Contact type. Each field resolver reads the record `CONTACT_FIELD_SOURCES` names for it, and
 * each field only telli v2 has weighs one v2 call per contact in the cost model.
 */

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

/** What a field costs per contact it is read for: one v2 call when only v2 has it. */
function sourceCost(field: keyof Sources) {
  return CONTACT_FIELD_SOURCES[field] === 'v2' ? { extensions: costExtensions({ perContact: V2_READ_COST }) } : {};
}

export const ContactRef = builder.objectRef<ContactParent>('Contact');

ContactRef.implement({
  interfaces: [NodeRef],
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
      ...sourceCost('updatedAt'),
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
      ...sourceCost('properties'),
      resolve: read('properties', (c) => c.properties),
    }),
  }),
});
