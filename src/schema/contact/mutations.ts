import { z } from 'zod';
import type { Context } from '../../context.js';
import type {
  ContactPatch,
  NewBulkContact,
  NewContact,
  PropertyWrite,
  TelliContactV2,
  TelliRejection,
} from '../../telli/index.js';
import { ADD_CONTACTS_BATCH_LIMIT } from '../../telli/index.js';
import { builder } from '../core/builder.js';
import { ContactRef } from './contact.js';
import type { ContactParent } from './sources.js';
import { costExtensions, inputListLength } from '../core/cost.js';
import { phoneNumber, telliId, validate, type RulesCover } from '../core/input-rules.js';
import {
  email,
  externalId,
  httpUrl,
  personName,
  propertyWrites,
  salutation,
  timeZone,
  type PropertyWriteInput,
} from './input-rules.js';
import {
  failed,
  logUnknownOutcomes,
  outcomeOf,
  telliSays,
  userError,
  userErrorsField,
  type Outcome,
  type UserErrorValue,
} from '../core/user-errors.js';

/*
 * Contact writes: createContact (POST /v2/contacts), createContacts (POST /v1/add-contacts-batch),
 * updateContact (PATCH /v2/contacts/{id}) and deleteContact (DELETE /v2/contacts/{id}). Inputs are
 * validated before any telli call; what the caller can fix is answered in `userErrors`. A
 * contact in a payload is read after the write: the write's own answer for what it carries, and
 * call state (`status`, `nextCallAt`, …) read afresh.
 */

/** Most contacts one createContacts accepts (the cost limit, one per contact, usually bounds it first). */
export const MAX_CONTACTS_PER_CREATE = 10_000;

// --- inputs ---------------------------------------------------------------------------------

const ContactPropertyInput = builder.inputType('ContactPropertyInput', {
  description:
    "A typed custom field to write. The key must be one of the account's property definitions (telli Settings → Properties), and the value must fit its data type — telli checks both.",
  fields: (t) => ({
    key: t.string({
      required: true,
      description:
        'The property key, e.g. `deal_size`: 1–64 characters of letters, digits, `_` and `-`, starting with a letter or digit.',
    }),
    value: t.field({
      type: 'JSON',
      required: false,
      description:
        'The value as telli stores it for the data type: a string, number or boolean; `YYYY-MM-DD` for DATE; an ISO date-time for DATETIME; an option value for SELECT; a list of option values for MULTI_SELECT. `null` (or absent) removes the property in updateContact and leaves it unset in createContact.',
    }),
  }),
});

/** Descriptions shared by the create and update inputs. */
const FIELD_DOCS = {
  firstName: 'First name, 1–50 characters.',
  lastName: 'Last name, 1–50 characters.',
  phoneNumber: 'Phone number in E.164, e.g. `+4917642048466`.',
  externalId:
    'Your own unique id for the contact (e.g. a CRM record id), 1–512 characters; telli keeps it unique per account. With one, a create whose answer is lost is settled instead of failing with UPSTREAM_OUTCOME_UNKNOWN.',
  externalUrl: 'Link to the contact in your CRM or other system: an absolute http(s) URL.',
  salutation:
    'Formal title or greeting, e.g. `Herr`, at most 50 characters; telli guesses one for German calls when none is set.',
  email: 'Email address.',
  timezone: 'IANA time zone, e.g. `Europe/Berlin` (telli falls back to the account time zone).',
  properties: 'Typed custom fields to set.',
} as const;

const CreateContactInput = builder.inputType('CreateContactInput', {
  description: 'A new contact. Every value is checked before telli is called; problems come back in `userErrors`.',
  fields: (t) => ({
    firstName: t.string({ required: true, description: FIELD_DOCS.firstName }),
    lastName: t.string({ required: true, description: FIELD_DOCS.lastName }),
    phoneNumber: t.string({ required: true, description: FIELD_DOCS.phoneNumber }),
    externalId: t.string({
      required: false,
      description: `${FIELD_DOCS.externalId} Required in createContacts.`,
    }),
    externalUrl: t.string({ required: false, description: FIELD_DOCS.externalUrl }),
    salutation: t.string({ required: false, description: FIELD_DOCS.salutation }),
    email: t.string({ required: false, description: FIELD_DOCS.email }),
    timezone: t.string({ required: false, description: FIELD_DOCS.timezone }),
    properties: t.field({
      type: [ContactPropertyInput],
      required: false,
      description: `${FIELD_DOCS.properties} Not available in createContacts (telli's bulk create has no typed properties).`,
    }),
  }),
});

const UpdateContactInput = builder.inputType('UpdateContactInput', {
  description:
    'Changes to one contact. A field left out is left as it is; a field given as `null` is cleared (firstName, lastName and phoneNumber cannot be cleared). telli is sent exactly that, nothing more.',
  fields: (t) => ({
    id: t.id({ required: true, description: 'The telli contact id (a UUID).' }),
    firstName: t.string({ required: false, description: FIELD_DOCS.firstName }),
    lastName: t.string({ required: false, description: FIELD_DOCS.lastName }),
    phoneNumber: t.string({ required: false, description: FIELD_DOCS.phoneNumber }),
    externalId: t.string({ required: false, description: `${FIELD_DOCS.externalId} \`null\` removes it.` }),
    externalUrl: t.string({ required: false, description: FIELD_DOCS.externalUrl }),
    salutation: t.string({ required: false, description: FIELD_DOCS.salutation }),
    email: t.string({ required: false, description: FIELD_DOCS.email }),
    timezone: t.string({ required: false, description: FIELD_DOCS.timezone }),
    properties: t.field({
      type: [ContactPropertyInput],
      required: false,
      description:
        'Properties to set: each one listed is set (a `null` value removes it); properties not listed are left as they are.',
    }),
  }),
});

const CreateContactsInput = builder.inputType('CreateContactsInput', {
  description: `New contacts, created with telli's bulk create (${ADD_CONTACTS_BATCH_LIMIT} per telli call; more are sent in chunks).`,
  fields: (t) => ({
    contacts: t.field({
      type: [CreateContactInput],
      required: true,
      description: `The contacts, each with a unique \`externalId\` and without \`properties\`; at most ${MAX_CONTACTS_PER_CREATE} (and each costs 1 in the operation's cost limit). If any is invalid, none is created.`,
    }),
  }),
});

const DeleteContactInput = builder.inputType('DeleteContactInput', {
  description: 'The contact to delete.',
  fields: (t) => ({ id: t.id({ required: true, description: 'The telli contact id (a UUID).' }) }),
});

// --- validation -----------------------------------------------------------------------------

const createSchema = z.object({
  firstName: personName,
  lastName: personName,
  phoneNumber,
  externalId: externalId.optional(),
  externalUrl: httpUrl.optional(),
  salutation: salutation.optional(),
  email: email.optional(),
  timezone: timeZone.optional(),
  properties: propertyWrites.optional(),
});

const updateSchema = z.object({
  id: telliId,
  firstName: personName.optional(),
  lastName: personName.optional(),
  phoneNumber: phoneNumber.optional(),
  externalId: externalId.nullable().optional(),
  externalUrl: httpUrl.nullable().optional(),
  salutation: salutation.nullable().optional(),
  email: email.nullable().optional(),
  timezone: timeZone.nullable().optional(),
  properties: propertyWrites.optional(),
});

/** The inputs as resolvers receive them (Pothos' types of the GraphQL input types above). */
type CreateContactInputValue = typeof CreateContactInput.$inferInput;
type UpdateContactInputValue = typeof UpdateContactInput.$inferInput;

// Every field of an input has a rule: one without would be dropped by the schema in silence.
const _createRulesCoverInput: RulesCover<CreateContactInputValue, typeof createSchema> = true;
const _updateRulesCoverInput: RulesCover<UpdateContactInputValue, typeof updateSchema> = true;
void [_createRulesCoverInput, _updateRulesCoverInput];

/** A create has nothing to clear: an explicit `null` means the same as leaving the field out. */
function withoutNulls(input: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== null));
}

function toProperties(items: PropertyWriteInput[] | undefined): PropertyWrite[] | undefined {
  return items?.map(({ key, value }) => ({ key, value: value ?? null }));
}

function toNewContact(input: z.infer<typeof createSchema>): NewContact {
  const { properties, ...fields } = input;
  const out: NewContact = { ...fields };
  if (properties) out.properties = toProperties(properties) ?? [];
  return out;
}

/** The update input as a patch: exactly the keys given (nulls kept), without `id`. */
function toPatch(input: z.infer<typeof updateSchema>): ContactPatch {
  const { id: _id, properties, ...fields } = input;
  const patch: ContactPatch = { ...fields };
  if (properties) patch.properties = toProperties(properties) ?? [];
  return patch;
}

/** Fields an update may leave out but not clear: telli requires them (`properties`: list what to change). */
const NOT_CLEARABLE = ['firstName', 'lastName', 'phoneNumber', 'properties'] as const;

/** Problems of an update the schema cannot express: a required field cleared, nothing to change. */
function updateProblems(input: UpdateContactInputValue): UserErrorValue[] {
  const problems: UserErrorValue[] = [];
  for (const name of NOT_CLEARABLE) {
    if (input[name] !== null) continue;
    problems.push(
      userError(
        'INVALID',
        ['input', name],
        name === 'properties'
          ? 'properties cannot be null: list the properties to change, with value null to remove one.'
          : `${name} cannot be cleared: telli requires it.`,
      ),
    );
  }
  if (Object.keys(input).every((key) => key === 'id')) {
    problems.push(userError('INVALID', ['input'], 'Nothing to update: give at least one field besides id.'));
  }
  return problems;
}

// --- telli's refusals -----------------------------------------------------------------------

/** A refusal of one contact's input by telli, as the user error at `base` (the contact's input path). */
function contactRejection(rejection: TelliRejection, base: readonly string[]): UserErrorValue {
  switch (rejection.reason) {
    case 'external-id-taken':
      return userError('EXTERNAL_ID_TAKEN', [...base, 'externalId'], 'Another contact already has this externalId.');
    case 'contact-not-found':
      return userError('NOT_FOUND', [...base, 'id'], 'telli has no contact with this id.');
    case 'invalid':
      return userError(
        'INVALID',
        rejection.field ? [...base, rejection.field] : [...base],
        telliSays(rejection, 'telli refused this input.'),
      );
    default:
      return userError('REJECTED', [...base], telliSays(rejection, 'telli refused this contact.'));
  }
}

// --- payloads -------------------------------------------------------------------------------

interface ContactPayload {
  contact: Outcome<ContactParent | null>;
  userErrors: UserErrorValue[];
}

const refused = (userErrors: UserErrorValue[]): ContactPayload => ({ contact: { value: null }, userErrors });

function contactPayload(name: string, description: string, contactDescription: string) {
  return builder.objectRef<ContactPayload>(name).implement({
    description,
    fields: (t) => ({
      contact: t.field({
        type: ContactRef,
        nullable: true,
        description: contactDescription,
        resolve: (payload) => outcomeOf(payload.contact),
      }),
      userErrors: t.field(
        userErrorsField('What is wrong with the input; empty when the write was done (or failed for another reason).'),
      ),
    }),
  });
}

const READ_AFTER =
  'Read after the write: what telli answered the write with, and call state (`status`, `nextCallAt`, …) read afresh.';
const OUTCOME_ERRORS =
  'When telli could not be asked, or its answer was lost, it is null with a top-level error on this field (e.g. UPSTREAM_OUTCOME_UNKNOWN: the write may have happened).';

const CreateContactPayload = contactPayload(
  'CreateContactPayload',
  'The result of createContact.',
  `The created contact; null when nothing was created (see \`userErrors\`). ${READ_AFTER} ${OUTCOME_ERRORS}`,
);
const UpdateContactPayload = contactPayload(
  'UpdateContactPayload',
  'The result of updateContact.',
  `The contact as updated; null when nothing was changed (see \`userErrors\`). ${READ_AFTER} ${OUTCOME_ERRORS}`,
);

interface DeletePayload {
  deletedContactId: Outcome<string | null>;
  userErrors: UserErrorValue[];
}

const DeleteContactPayload = builder.objectRef<DeletePayload>('DeleteContactPayload').implement({
  description: 'The result of deleteContact.',
  fields: (t) => ({
    deletedContactId: t.id({
      nullable: true,
      description: `The id of the deleted contact; null when nothing was deleted (see \`userErrors\`). ${OUTCOME_ERRORS}`,
      resolve: (payload) => outcomeOf(payload.deletedContactId),
    }),
    userErrors: t.field(userErrorsField('What is wrong with the input (NOT_FOUND when telli has no such contact).')),
  }),
});

interface CreateContactsItem {
  index: number;
  externalId: string | null;
  contact: Outcome<ContactParent | null>;
  userErrors: UserErrorValue[];
}

interface CreateContactsResultValue {
  results: CreateContactsItem[];
  userErrors: UserErrorValue[];
}

const CreateContactsResult = builder.objectRef<CreateContactsItem>('CreateContactsResult').implement({
  description: 'What became of one contact of createContacts.',
  fields: (t) => ({
    index: t.exposeInt('index', { nullable: false, description: 'Its position in `input.contacts`, from 0.' }),
    externalId: t.exposeString('externalId', {
      nullable: true,
      description: 'Its `externalId`, as given (null when it had none, which is an INVALID user error).',
    }),
    contact: t.field({
      type: ContactRef,
      nullable: true,
      description: `The created contact, read after the write; null when it was not created (see \`userErrors\`). ${OUTCOME_ERRORS}`,
      resolve: (item) => outcomeOf(item.contact),
    }),
    userErrors: t.field(userErrorsField("This contact's share of the payload's `userErrors`.")),
  }),
});

const CreateContactsPayload = builder.objectRef<CreateContactsResultValue>('CreateContactsPayload').implement({
  description: 'The result of createContacts.',
  fields: (t) => ({
    results: t.field({
      type: [CreateContactsResult],
      nullable: false,
      description:
        "One result per input contact, in input order (telli's answers are matched back by `externalId`, never by position).",
      resolve: (payload) => payload.results,
    }),
    userErrors: t.field(
      userErrorsField(
        'Every problem, with paths like `["input", "contacts", "3", "email"]`. When our validation finds any, telli is not called and nothing is created; problems telli reports for single contacts leave the others created.',
      ),
    ),
  }),
});

// --- resolvers ------------------------------------------------------------------------------

/** After a write telli answered with the v2 record: read it afresh, starting from that record. */
function writtenContact(ctx: Context, contact: TelliContactV2): ContactParent {
  ctx.forgetContact(contact.id, contact.externalId === null ? [] : [contact.externalId]);
  // The write's answer is the newest v2 record there is: v2 fields of the payload cost no call.
  ctx.loaders.contactV2ById.prime(contact.id.toLowerCase(), contact);
  return { id: contact.id, shared: 'v2', v2: contact };
}

async function createContact(input: CreateContactInputValue, ctx: Context): Promise<ContactPayload> {
  const checked = validate(createSchema, withoutNulls(input), ['input']);
  if (!checked.ok) return refused(checked.userErrors);
  try {
    const written = await ctx.writes.createContact(toNewContact(checked.value), ctx.callOptions);
    if (!written.ok) return refused([contactRejection(written.rejection, ['input'])]);
    if (written.value.via === 'lookup')
      ctx.logger.info({ contactId: written.value.contact.id }, 'lost create answer settled by external id');
    return { contact: { value: writtenContact(ctx, written.value.contact) }, userErrors: [] };
  } catch (error) {
    logUnknownOutcomes(ctx, [error]);
    return { contact: failed(error, ctx), userErrors: [] };
  }
}

async function updateContact(input: UpdateContactInputValue, ctx: Context): Promise<ContactPayload> {
  const problems = updateProblems(input);
  const checked = validate(updateSchema, { ...withoutRequiredNulls(input), id: String(input.id) }, ['input']);
  if (problems.length > 0 || !checked.ok) return refused([...problems, ...(checked.ok ? [] : checked.userErrors)]);
  const id = checked.value.id.toLowerCase();
  try {
    const written = await ctx.writes.updateContact(id, toPatch(checked.value), ctx.callOptions);
    if (!written.ok) return refused([contactRejection(written.rejection, ['input'])]);
    return { contact: { value: writtenContact(ctx, written.value) }, userErrors: [] };
  } catch (error) {
    logUnknownOutcomes(ctx, [error]);
    return { contact: failed(error, ctx), userErrors: [] };
  }
}

/** The update input without the nulls `updateProblems` already reports (the schema would repeat them). */
function withoutRequiredNulls(input: UpdateContactInputValue): UpdateContactInputValue {
  const out = { ...input };
  for (const name of NOT_CLEARABLE) if (out[name] === null) delete out[name];
  return out;
}

async function deleteContact(input: { id: string | number }, ctx: Context): Promise<DeletePayload> {
  const checked = validate(z.object({ id: telliId }), { id: String(input.id) }, ['input']);
  if (!checked.ok) return { deletedContactId: { value: null }, userErrors: checked.userErrors };
  const id = checked.value.id.toLowerCase();
  try {
    const written = await ctx.writes.deleteContact(id, ctx.callOptions);
    if (!written.ok) {
      return {
        deletedContactId: { value: null },
        userErrors: [contactRejection(written.rejection, ['input'])],
      };
    }
    ctx.forgetContact(id);
    return { deletedContactId: { value: checked.value.id }, userErrors: [] };
  } catch (error) {
    logUnknownOutcomes(ctx, [error]);
    return { deletedContactId: failed(error, ctx), userErrors: [] };
  }
}

const bulkItemSchema = createSchema.extend({
  externalId: z
    .string({ error: "is required by createContacts (telli's bulk create reports each contact by it)" })
    .pipe(externalId),
  properties: z
    .unknown()
    .optional()
    .refine((v) => v === undefined, {
      message:
        "cannot be set by createContacts: telli's bulk create (v1) has no typed properties. Set them with updateContact afterwards.",
    }),
});

function inputExternalIdOf(item: CreateContactInputValue): string | null {
  return typeof item.externalId === 'string' ? item.externalId : null;
}

/** Every item checked; duplicates of an external id are refused after its first use. */
function validateBulk(
  items: readonly CreateContactInputValue[],
):
  | { ok: true; contacts: NewBulkContact[] }
  | { ok: false; errorsByItem: UserErrorValue[][]; listErrors: UserErrorValue[] } {
  if (items.length > MAX_CONTACTS_PER_CREATE) {
    const listError = userError(
      'INVALID',
      ['input', 'contacts'],
      `contacts accepts at most ${MAX_CONTACTS_PER_CREATE} contacts; got ${items.length}.`,
    );
    return { ok: false, errorsByItem: items.map(() => []), listErrors: [listError] };
  }
  const contacts: NewBulkContact[] = [];
  const errorsByItem: UserErrorValue[][] = [];
  const firstIndexOf = new Map<string, number>();
  items.forEach((item, index) => {
    const base = ['input', 'contacts', String(index)];
    const checked = validate(bulkItemSchema, withoutNulls(item), base);
    const errors = checked.ok ? [] : checked.userErrors;
    const ownId = inputExternalIdOf(item);
    if (ownId !== null) {
      const first = firstIndexOf.get(ownId);
      if (first === undefined) firstIndexOf.set(ownId, index);
      else errors.push(userError('INVALID', [...base, 'externalId'], `externalId is given twice (also at ${first}).`));
    }
    errorsByItem.push(errors);
    if (checked.ok && errors.length === 0) {
      const { properties: _properties, ...contact } = checked.value;
      contacts.push(contact);
    }
  });
  if (errorsByItem.some((errors) => errors.length > 0)) return { ok: false, errorsByItem, listErrors: [] };
  return { ok: true, contacts };
}

async function createContacts(
  items: readonly CreateContactInputValue[],
  ctx: Context,
): Promise<CreateContactsResultValue> {
  const checked = validateBulk(items);
  if (!checked.ok) {
    const results = items.map((item, index) => ({
      index,
      externalId: inputExternalIdOf(item),
      contact: { value: null },
      userErrors: checked.errorsByItem[index] ?? [],
    }));
    return { results, userErrors: [...checked.listErrors, ...checked.errorsByItem.flat()] };
  }
  const outcomes = await ctx.writes.addContacts(checked.contacts, ctx.callOptions);
  logUnknownOutcomes(
    ctx,
    outcomes.flatMap((o) => (o.status === 'failed' ? [o.error] : [])),
  );
  const results = checked.contacts.map((contact, index): CreateContactsItem => {
    const outcome = outcomes[index];
    const item = { index, externalId: contact.externalId };
    if (!outcome) return { ...item, contact: failed(new Error('bulk create lost an item'), ctx), userErrors: [] };
    switch (outcome.status) {
      case 'done':
        ctx.forgetContact(outcome.value.contactId, [contact.externalId]);
        return { ...item, contact: { value: { id: outcome.value.contactId, shared: 'v1' } }, userErrors: [] };
      case 'refused': {
        const base = ['input', 'contacts', String(index)];
        return {
          ...item,
          contact: { value: null },
          userErrors: [contactRejection(outcome.rejection, base)],
        };
      }
      case 'failed':
        return { ...item, contact: failed(outcome.error, ctx), userErrors: [] };
    }
  });
  return { results, userErrors: results.flatMap((r) => r.userErrors) };
}

builder.mutationType({
  description:
    "Write to telli. Every input is validated before telli is called, and what the caller can fix comes back in the payload's `userErrors`. Writes telli may not have received are retried; a create or a dialer call is never sent twice unless telli certainly did not act on it (429, or the request never left this server). When telli's answer is lost, the outcome field is null with UPSTREAM_OUTCOME_UNKNOWN.",
  fields: (t) => ({
    createContact: t.field({
      type: CreateContactPayload,
      nullable: false,
      description:
        'Creates a contact (telli `POST /v2/contacts`). With an `externalId`, a create whose answer was lost is settled — telli is asked for the contact by that id, and the create is sent once more only when it is not there — so it never duplicates and rarely ends in UPSTREAM_OUTCOME_UNKNOWN. Without one, a lost answer is UPSTREAM_OUTCOME_UNKNOWN (`safeToRetry: false`).',
      args: { input: t.arg({ type: CreateContactInput, required: true, description: 'The new contact.' }) },
      resolve: (_root, { input }, ctx) => createContact(input, ctx),
    }),
    createContacts: t.field({
      type: CreateContactsPayload,
      nullable: false,
      description: `Creates many contacts with telli's bulk create (\`POST /v1/add-contacts-batch\`, ${ADD_CONTACTS_BATCH_LIMIT} per call, chunks sent one after the other). Each contact needs a unique \`externalId\`; results come back in input order. Costs 1 per contact in the operation's cost limit.`,
      args: { input: t.arg({ type: CreateContactsInput, required: true, description: 'The new contacts.' }) },
      extensions: costExtensions({ contacts: (args) => inputListLength(args, 'contacts') }),
      resolve: (_root, { input }, ctx) => createContacts(input.contacts, ctx),
    }),
    updateContact: t.field({
      type: UpdateContactPayload,
      nullable: false,
      description:
        'Changes a contact (telli `PATCH /v2/contacts/{id}`): fields left out stay as they are, fields given as null are cleared. Retried like a read when telli may not have received it (a PATCH sent twice changes nothing more).',
      args: { input: t.arg({ type: UpdateContactInput, required: true, description: 'The changes.' }) },
      resolve: (_root, { input }, ctx) => updateContact(input, ctx),
    }),
    deleteContact: t.field({
      type: DeleteContactPayload,
      nullable: false,
      description:
        'Deletes a contact (telli `DELETE /v2/contacts/{id}`). Its calls stay in telli. NOT_FOUND when telli has no such contact.',
      args: { input: t.arg({ type: DeleteContactInput, required: true, description: 'The contact to delete.' }) },
      resolve: (_root, { input }, ctx) => deleteContact(input, ctx),
    }),
  }),
});
