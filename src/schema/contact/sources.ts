import type { FieldNode, GraphQLError, GraphQLResolveInfo } from 'graphql';
import type { Context } from '../../context.js';
import type { TelliContact, TelliContactV2 } from '../../telli/index.js';
import { toGraphQLError, upstreamInvalid } from '../core/errors.js';
import { selectedFieldNames, selectionHasDirectives } from '../core/selection.js';

/*
 * Where each Contact field comes from. telli's v1 batch read is cheap (one call per 1000 ids) and
 * the only source of call state, but has no typed properties or `updatedAt`; v2 has those, but
 * costs one call per contact and carries no call state. So each field names its source:
 *  - `v1` / `v2`: only that API has it;
 *  - `shared`: both have it. It is read from v2 when the operation reads this contact's v2 record
 *    anyway (a v2 field is selected, or the contact came from a v2 list or lookup), else from v1;
 *  - `key`: needs no contact record — known without a read (`id`), or read from an endpoint of
 *    its own by the id alone (`calls`: `list-calls`, weighed in the cost model by its own field).
 * This one table drives the planning in the root resolvers (which read establishes that the
 * contact exists, which other read to start early), the field resolvers and the cost model, so
 * they cannot drift.
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
  calls: 'key',
} as const satisfies Record<string, 'key' | 'shared' | 'v1' | 'v2'>;

export type Sources = typeof CONTACT_FIELD_SOURCES;
type SharedField = { [F in keyof Sources]: Sources[F] extends 'shared' ? F : never }[keyof Sources];
export type SharedContact = Pick<TelliContact, SharedField>;
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
export function contactNeeds(info: GraphQLResolveInfo, paths?: readonly (readonly string[])[]): Readonly<ContactNeeds> {
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

/** The contact's v1 record: at hand, or loaded (a read that finds nothing is a v1/v2 disagreement). */
export function v1Of(parent: ContactParent, ctx: Context): TelliContact | Promise<TelliContact> {
  return parent.v1 ?? settle(ctx, ctx.loaders.contactById.load(parent.id.toLowerCase()), 'v1');
}

/** The contact's v2 record: at hand, or loaded (a read that finds nothing is a v1/v2 disagreement). */
export function v2Of(parent: ContactParent, ctx: Context): TelliContactV2 | Promise<TelliContactV2> {
  return parent.v2 ?? settle(ctx, ctx.loaders.contactV2ById.load(parent.id.toLowerCase()), 'v2');
}
