import { z } from 'zod';
import type { Context } from '../../context.js';
import { DIALER_BATCH_LIMIT, type ScheduleCallRequest, type TelliRejection } from '../../telli/index.js';
import { builder } from '../core/builder.js';
import { ContactRef } from '../contact/contact.js';
import type { ContactParent } from '../contact/sources.js';
import { costExtensions, inputListLength } from '../core/cost.js';
import { phoneNumber, telliId, validate, type RulesCover } from '../core/input-rules.js';
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
 * telli's auto dialer: scheduleCall (POST /v1/schedule-call), scheduleCalls (POST
 * /v1/schedule-calls-batch, 50 per call) and removeFromDialer (POST
 * /v1/remove-from-auto-dialer-batch, 50 per call). Each queues or dequeues calls to real people,
 * so none is ever sent twice unless telli certainly did not act on it.
 */

/** Most contacts one scheduleCalls or removeFromDialer accepts (the cost limit, one per contact, applies too). */
export const MAX_DIALER_ITEMS = 1000;

const ScheduleCallInput = builder.inputType('ScheduleCallInput', {
  description:
    "A contact to queue in telli's auto dialer, which then calls it (retrying as the account's settings say).",
  fields: (t) => ({
    contactId: t.id({ required: true, description: 'The telli contact id (a UUID).' }),
    agentId: t.id({
      required: false,
      description:
        "The telli agent that calls (a UUID). scheduleCall: telli's default agent when left out. Required in scheduleCalls (telli's batch has no default).",
    }),
    maxRetryDays: t.int({
      required: false,
      description:
        "For how many days telli keeps trying to reach the contact (at least 1); the account's setting when left out.",
    }),
    overrideFromNumber: t.string({
      required: false,
      description: 'Call from this number of your telli account (E.164) instead of the usual one.',
    }),
  }),
});

const ScheduleCallsInput = builder.inputType('ScheduleCallsInput', {
  description: `Contacts to queue in telli's auto dialer (${DIALER_BATCH_LIMIT} per telli call; more are sent in chunks).`,
  fields: (t) => ({
    calls: t.field({
      type: [ScheduleCallInput],
      required: true,
      description: `The calls to schedule, each with an \`agentId\`, each contact at most once; at most ${MAX_DIALER_ITEMS}. If any is invalid, none is scheduled.`,
    }),
  }),
});

const RemoveFromDialerInput = builder.inputType('RemoveFromDialerInput', {
  description: `Contacts to take out of telli's auto dialer (${DIALER_BATCH_LIMIT} per telli call; more are sent in chunks).`,
  fields: (t) => ({
    contactIds: t.idList({
      required: true,
      description: `telli contact ids (UUIDs), each at most once; at most ${MAX_DIALER_ITEMS}. If any is invalid, none is removed.`,
    }),
  }),
});

// --- validation -----------------------------------------------------------------------------

const scheduleSchema = z.object({
  contactId: telliId,
  agentId: telliId.optional(),
  maxRetryDays: z.number().int().min(1, 'must be at least 1').optional(),
  overrideFromNumber: phoneNumber.optional(),
});

const batchScheduleSchema = scheduleSchema.extend({
  agentId: z.string({ error: "is required by scheduleCalls (telli's batch has no default agent)" }).pipe(telliId),
});

/** The input as resolvers receive it (Pothos' type of `ScheduleCallInput`). */
type ScheduleCallInputValue = typeof ScheduleCallInput.$inferInput;

// Every field of the input has a rule: one without would be dropped by the schema in silence.
const _scheduleRulesCoverInput: RulesCover<ScheduleCallInputValue, typeof scheduleSchema> = true;
const _batchRulesCoverInput: RulesCover<ScheduleCallInputValue, typeof batchScheduleSchema> = true;
void [_scheduleRulesCoverInput, _batchRulesCoverInput];

/** The input as the schemas check it: GraphQL ids may arrive as numbers; nulls mean "left out". */
function scheduleInput(raw: ScheduleCallInputValue): { contactId: string } & Record<string, unknown> {
  const out: { contactId: string } & Record<string, unknown> = { contactId: String(raw.contactId) };
  for (const [key, value] of Object.entries(raw)) {
    if (value === null || key === 'contactId') continue;
    out[key] = key === 'agentId' ? String(value) : value;
  }
  return out;
}

function toRequest(input: z.infer<typeof scheduleSchema>): ScheduleCallRequest {
  return { ...input, contactId: input.contactId.toLowerCase() };
}

/** A list of ids, each at most once (results are matched back by id); errors per item. */
function duplicateErrors(ids: readonly string[], pathOf: (index: number) => string[]): UserErrorValue[][] {
  const firstIndexOf = new Map<string, number>();
  return ids.map((id, index) => {
    const key = id.toLowerCase();
    const first = firstIndexOf.get(key);
    if (first === undefined) {
      firstIndexOf.set(key, index);
      return [];
    }
    return [userError('INVALID', pathOf(index), `The contact is given twice (also at ${first}).`)];
  });
}

function tooMany(path: string[], count: number): UserErrorValue {
  return userError('INVALID', path, `At most ${MAX_DIALER_ITEMS} contacts per operation; got ${count}.`);
}

// --- telli's refusals -----------------------------------------------------------------------

/** A refusal of one scheduled call, at `base` (the call's input path). */
function scheduleRejection(rejection: TelliRejection, base: readonly string[]): UserErrorValue {
  switch (rejection.reason) {
    case 'contact-not-found':
      return userError('NOT_FOUND', [...base, 'contactId'], 'telli has no contact with this id.');
    case 'agent-not-found':
      return userError('NOT_FOUND', [...base, 'agentId'], 'telli has no agent with this id.');
    case 'invalid':
      return userError(
        'INVALID',
        rejection.field ? [...base, rejection.field] : [...base],
        telliSays(rejection, 'telli refused this call.'),
      );
    default:
      return userError('REJECTED', [...base], telliSays(rejection, 'telli refused this call.'));
  }
}

/** A refusal of one removal, at `path` (the id's input path). */
function removalRejection(rejection: TelliRejection, path: readonly string[]): UserErrorValue {
  switch (rejection.reason) {
    case 'contact-not-found':
      return userError('NOT_FOUND', path, 'telli has no contact with this id.');
    case 'not-in-dialer':
      return userError('NOT_IN_DIALER', path, "The contact is not queued in telli's auto dialer.");
    case 'invalid':
      return userError('INVALID', path, telliSays(rejection, 'telli refused this contact id.'));
    default:
      return userError('REJECTED', path, telliSays(rejection, 'telli refused to remove this contact.'));
  }
}

// --- payloads -------------------------------------------------------------------------------

const OUTCOME_ERRORS =
  'When telli could not be asked, or its answer was lost, it is null with a top-level error on this field (UPSTREAM_OUTCOME_UNKNOWN: telli may have acted).';

const contactField = (description: string) => ({
  type: ContactRef,
  nullable: true as const,
  description: `${description} Read after the write, so \`nextCallAt\` shows the dialer's new state. ${OUTCOME_ERRORS}`,
  resolve: (item: { contact: Outcome<ContactParent | null> }) => outcomeOf(item.contact),
});

interface ScheduledValue {
  contact: Outcome<ContactParent | null>;
  loopId: Outcome<string | null>;
  userErrors: UserErrorValue[];
}

const ScheduleCallPayload = builder.objectRef<ScheduledValue>('ScheduleCallPayload').implement({
  description: 'The result of scheduleCall.',
  fields: (t) => ({
    contact: t.field(contactField('The scheduled contact; null when nothing was scheduled (see `userErrors`).')),
    loopId: t.id({
      nullable: true,
      description: `telli's id for this round of calls (\`loop_id\`); null when nothing was scheduled. ${OUTCOME_ERRORS}`,
      resolve: (payload) => outcomeOf(payload.loopId),
    }),
    userErrors: t.field(userErrorsField('What is wrong with the input (NOT_FOUND for an unknown contact or agent).')),
  }),
});

interface ScheduledItem extends ScheduledValue {
  index: number;
  contactId: string;
}

const ScheduleCallsResult = builder.objectRef<ScheduledItem>('ScheduleCallsResult').implement({
  description: 'What became of one call of scheduleCalls.',
  fields: (t) => ({
    index: t.exposeInt('index', { nullable: false, description: 'Its position in `input.calls`, from 0.' }),
    contactId: t.exposeID('contactId', { nullable: false, description: 'The contact id, as given.' }),
    loopId: t.id({
      nullable: true,
      description: `telli's id for this round of calls; null when it was not scheduled. ${OUTCOME_ERRORS}`,
      resolve: (item) => outcomeOf(item.loopId),
    }),
    contact: t.field(contactField('The scheduled contact; null when it was not scheduled.')),
    userErrors: t.field(userErrorsField("This call's share of the payload's `userErrors`.")),
  }),
});

interface BulkPayload<T> {
  results: T[];
  userErrors: UserErrorValue[];
}

const ScheduleCallsPayload = builder.objectRef<BulkPayload<ScheduledItem>>('ScheduleCallsPayload').implement({
  description: 'The result of scheduleCalls.',
  fields: (t) => ({
    results: t.field({
      type: [ScheduleCallsResult],
      nullable: false,
      description: "One result per input call, in input order (matched back by contact id, never by telli's order).",
      resolve: (payload) => payload.results,
    }),
    userErrors: t.field(
      userErrorsField(
        'Every problem, with paths like `["input", "calls", "3", "agentId"]`. When our validation finds any, telli is not called.',
      ),
    ),
  }),
});

interface RemovedItem {
  index: number;
  contactId: string;
  removed: Outcome<boolean>;
  contact: Outcome<ContactParent | null>;
  userErrors: UserErrorValue[];
}

const RemoveFromDialerResult = builder.objectRef<RemovedItem>('RemoveFromDialerResult').implement({
  description: 'What became of one contact of removeFromDialer.',
  fields: (t) => ({
    index: t.exposeInt('index', { nullable: false, description: 'Its position in `input.contactIds`, from 0.' }),
    contactId: t.exposeID('contactId', { nullable: false, description: 'The contact id, as given.' }),
    removed: t.boolean({
      nullable: true,
      description: `Whether telli took the contact out of the dialer (false: see \`userErrors\`, e.g. NOT_IN_DIALER). ${OUTCOME_ERRORS}`,
      resolve: (item) => outcomeOf(item.removed),
    }),
    contact: t.field(contactField('The contact after its removal; null when it was not removed.')),
    userErrors: t.field(userErrorsField("This contact's share of the payload's `userErrors`.")),
  }),
});

const RemoveFromDialerPayload = builder.objectRef<BulkPayload<RemovedItem>>('RemoveFromDialerPayload').implement({
  description: 'The result of removeFromDialer.',
  fields: (t) => ({
    results: t.field({
      type: [RemoveFromDialerResult],
      nullable: false,
      description: "One result per input id, in input order (matched back by id, never by telli's order).",
      resolve: (payload) => payload.results,
    }),
    userErrors: t.field(
      userErrorsField(
        'Every problem, with paths like `["input", "contactIds", "3"]`. When our validation finds any, telli is not called.',
      ),
    ),
  }),
});

// --- resolvers ------------------------------------------------------------------------------

/** A contact whose dialer state just changed, to be read afresh. */
function changedContact(ctx: Context, id: string): ContactParent {
  ctx.forgetContact(id);
  return { id, shared: 'v1' };
}

const none = { value: null };

async function scheduleCall(input: ScheduleCallInputValue, ctx: Context): Promise<ScheduledValue> {
  const checked = validate(scheduleSchema, scheduleInput(input), ['input']);
  if (!checked.ok) return { contact: none, loopId: none, userErrors: checked.userErrors };
  const request = toRequest(checked.value);
  try {
    const written = await ctx.writes.scheduleCall(request, ctx.callOptions);
    if (!written.ok)
      return { contact: none, loopId: none, userErrors: [scheduleRejection(written.rejection, ['input'])] };
    return {
      contact: { value: changedContact(ctx, request.contactId) },
      loopId: { value: written.value.loopId },
      userErrors: [],
    };
  } catch (error) {
    logUnknownOutcomes(ctx, [error]);
    return { contact: failed(error, ctx), loopId: failed(error, ctx), userErrors: [] };
  }
}

async function scheduleCalls(
  items: readonly ScheduleCallInputValue[],
  ctx: Context,
): Promise<BulkPayload<ScheduledItem>> {
  const inputs = items.map(scheduleInput);
  const listErrors = items.length > MAX_DIALER_ITEMS ? [tooMany(['input', 'calls'], items.length)] : [];
  const checked = inputs.map((item, index) => validate(batchScheduleSchema, item, ['input', 'calls', String(index)]));
  const duplicates = duplicateErrors(
    inputs.map((item) => item.contactId),
    (index) => ['input', 'calls', String(index), 'contactId'],
  );
  const errorsByItem = checked.map((c, index) => [...(c.ok ? [] : c.userErrors), ...(duplicates[index] ?? [])]);
  const base = (index: number) => ({ index, contactId: String(items[index]?.contactId) });
  if (listErrors.length > 0 || errorsByItem.some((errors) => errors.length > 0)) {
    const results = items.map((_, index) => ({
      ...base(index),
      contact: none,
      loopId: none,
      userErrors: errorsByItem[index] ?? [],
    }));
    return { results, userErrors: [...listErrors, ...errorsByItem.flat()] };
  }
  const requests = checked.map((c) => {
    if (!c.ok) throw new Error('unreachable: validated above');
    return { ...toRequest(c.value), agentId: c.value.agentId };
  });
  const outcomes = await ctx.writes.scheduleCalls(requests, ctx.callOptions);
  logUnknownOutcomes(
    ctx,
    outcomes.flatMap((o) => (o.status === 'failed' ? [o.error] : [])),
  );
  const results = requests.map((request, index): ScheduledItem => {
    const outcome = outcomes[index];
    if (!outcome || outcome.status === 'failed') {
      const error = outcome?.error ?? new Error('bulk schedule lost an item');
      return { ...base(index), contact: failed(error, ctx), loopId: failed(error, ctx), userErrors: [] };
    }
    if (outcome.status === 'refused') {
      const userErrors = [scheduleRejection(outcome.rejection, ['input', 'calls', String(index)])];
      return { ...base(index), contact: none, loopId: none, userErrors };
    }
    return {
      ...base(index),
      contact: { value: changedContact(ctx, request.contactId) },
      loopId: { value: outcome.value.loopId },
      userErrors: [],
    };
  });
  return { results, userErrors: results.flatMap((r) => r.userErrors) };
}

async function removeFromDialer(rawIds: (string | number)[], ctx: Context): Promise<BulkPayload<RemovedItem>> {
  const ids = rawIds.map(String);
  const path = (index: number) => ['input', 'contactIds', String(index)];
  const listErrors = ids.length > MAX_DIALER_ITEMS ? [tooMany(['input', 'contactIds'], ids.length)] : [];
  const duplicates = duplicateErrors(ids, path);
  const errorsByItem = ids.map((id, index) => {
    const checked = validate(telliId, id, path(index));
    return [...(checked.ok ? [] : checked.userErrors), ...(duplicates[index] ?? [])];
  });
  if (listErrors.length > 0 || errorsByItem.some((errors) => errors.length > 0)) {
    const results = ids.map((contactId, index) => ({
      index,
      contactId,
      removed: { value: false },
      contact: none,
      userErrors: errorsByItem[index] ?? [],
    }));
    return { results, userErrors: [...listErrors, ...errorsByItem.flat()] };
  }
  const keys = ids.map((id) => id.toLowerCase());
  const outcomes = await ctx.writes.removeFromDialer(keys, ctx.callOptions);
  logUnknownOutcomes(
    ctx,
    outcomes.flatMap((o) => (o.status === 'failed' ? [o.error] : [])),
  );
  const results = ids.map((contactId, index): RemovedItem => {
    const key = contactId.toLowerCase();
    const outcome = outcomes[index];
    const item = { index, contactId };
    if (!outcome || outcome.status === 'failed') {
      const error = outcome?.error ?? new Error('bulk removal lost an item');
      return { ...item, removed: failed(error, ctx), contact: failed(error, ctx), userErrors: [] };
    }
    if (outcome.status === 'refused') {
      return {
        ...item,
        removed: { value: false },
        contact: none,
        userErrors: [removalRejection(outcome.rejection, path(index))],
      };
    }
    return { ...item, removed: { value: true }, contact: { value: changedContact(ctx, key) }, userErrors: [] };
  });
  return { results, userErrors: results.flatMap((r) => r.userErrors) };
}

builder.mutationFields((t) => ({
  scheduleCall: t.field({
    type: ScheduleCallPayload,
    nullable: false,
    description:
      "Queues a contact in telli's auto dialer (telli `POST /v1/schedule-call`); scheduling a queued contact again starts a new round. Never sent twice unless telli certainly did not act: a lost answer is UPSTREAM_OUTCOME_UNKNOWN (`safeToRetry: false` — a retry may call the person twice).",
    args: { input: t.arg({ type: ScheduleCallInput, required: true, description: 'The call to schedule.' }) },
    resolve: (_root, { input }, ctx) => scheduleCall(input, ctx),
  }),
  scheduleCalls: t.field({
    type: ScheduleCallsPayload,
    nullable: false,
    description: `Queues many contacts in telli's auto dialer (\`POST /v1/schedule-calls-batch\`, ${DIALER_BATCH_LIMIT} per call, chunks sent one after the other). Results come back in input order. Costs 1 per call in the operation's cost limit.`,
    args: { input: t.arg({ type: ScheduleCallsInput, required: true, description: 'The calls to schedule.' }) },
    extensions: costExtensions({ contacts: (args) => inputListLength(args, 'calls') }),
    resolve: (_root, { input }, ctx) => scheduleCalls(input.calls, ctx),
  }),
  removeFromDialer: t.field({
    type: RemoveFromDialerPayload,
    nullable: false,
    description: `Takes contacts out of telli's auto dialer (\`POST /v1/remove-from-auto-dialer-batch\`, ${DIALER_BATCH_LIMIT} per call, chunks sent one after the other): no further calls are placed. Results come back in input order. Costs 1 per contact in the operation's cost limit.`,
    args: { input: t.arg({ type: RemoveFromDialerInput, required: true, description: 'The contacts to remove.' }) },
    extensions: costExtensions({ contacts: (args) => inputListLength(args, 'contactIds') }),
    resolve: (_root, { input }, ctx) => removeFromDialer(input.contactIds, ctx),
  }),
}));
