import { GraphQLError } from 'graphql';
import { z } from 'zod';
import type { Context } from '../../context.js';
import { TELLI_BATCH_LIMIT } from '../../telli/index.js';
import { builder } from '../core/builder.js';
import { ContactRef } from './contact.js';
import { contactNeeds, prefetch, type ContactNeeds, type ContactParent } from './sources.js';
import { costExtensions } from '../core/cost.js';
import { badUserInput, toGraphQLError } from '../core/errors.js';
import { LONE_SURROGATE } from '../core/telli-ids.js';

/** Most ids one `contacts(ids:)` field accepts — telli's batch limit. */
export const MAX_IDS_PER_FIELD = TELLI_BATCH_LIMIT;
/** Longest external id accepted; bounds the URL we build. */
export const MAX_EXTERNAL_ID_LENGTH = 512;

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
export function parseContactId(id: string): string | GraphQLError {
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
export function loadContact(ctx: Context, id: string, needs: ContactNeeds): Promise<ContactParent | null> {
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
    "Read contacts, their calls and the account's agents from telli. Every id asked for in one operation is fetched in as few telli calls as possible, and only from the endpoints the selected fields need.",
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
      extensions: costExtensions({ contacts: (args) => (Array.isArray(args['ids']) ? args['ids'].length : 1) }),
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
        // A lone surrogate (valid in a JSON string, not in Unicode) cannot be put into a URL.
        if (LONE_SURROGATE.test(externalId)) {
          throw badUserInput('externalId must be well-formed Unicode (it contains a lone surrogate).');
        }
        return findByExternalId(ctx, externalId, contactNeeds(info)).catch((error: unknown) =>
          Promise.reject(toGraphQLError(error, ctx.keySource)),
        );
      },
    }),
  }),
});
