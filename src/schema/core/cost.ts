import {
  getArgumentValues,
  getNamedType,
  isInterfaceType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';

/**
 * The cost model: an upper bound, known before execution, of the telli work an operation can
 * cause. Every selected field costs 1. A field that fetches contacts by a list says how many (its
 * `extensions.cost.contacts`), and each field below it counts once per contact for what it reads
 * per contact (`extensions.cost.perContact`) — so the fields only telli v2 has, one v2 call per
 * contact, weigh what they cost. A field that reads per item it is read for (`fanOut`: a contact's
 * calls) weighs each read and multiplies the items below it, so nesting multiplies as execution
 * would. Type files attach these to their fields; this module holds no
 * field names of its own beyond federation's `_entities`, which the federation plugin adds.
 */
export interface FieldCost {
  /** The field fetches this many contacts (from its arguments, e.g. `ids.length`). */
  contacts?: (args: Record<string, unknown>) => number;
  /** The contacts it fetches arrive with their v2 records (a v2 list page): `perContact` is free below it. */
  withV2Records?: boolean;
  /** Extra cost per contact the field is read for (one telli v2 call each). */
  perContact?: number;
  /**
   * The field makes a telli read of its own for each item it is read for (a contact's list of
   * calls, a call's agent), weighing `perItem` each, and returns up to `items(args)` items per
   * read: the fields below it are read for that many times as many items. What it returns is not
   * a v2 list page, so `perContact` counts again below it.
   */
  fanOut?: { perItem: number; items: (args: Record<string, unknown>) => number };
  /** `_entities`: each representation also costs what its type declares (`EntityCost`). */
  representations?: true;
}

/**
 * On an entity type: the extra cost of resolving one `_entities` representation of it, for types
 * read one telli call per entity (Contact has none: its references share the v1 batch).
 */
export interface EntityCost {
  perReference: number;
}

/** `extensions` for a Pothos object type: `{ extensions: entityCostExtensions({ … }) }`. */
export function entityCostExtensions(cost: EntityCost): { cost: EntityCost } {
  return { cost };
}

/** The extra cost of a field only telli v2 has, per contact: v2 has no batch read, so one call each. */
export const V2_READ_COST = 10;
/** The weight of any other telli read that has no batch form (a list of calls, a call, an agent). */
export const UNBATCHED_READ_COST = V2_READ_COST;

/** `extensions` for a Pothos field: `{ extensions: costExtensions({ … }) }`. */
export function costExtensions(cost: FieldCost): { cost: FieldCost } {
  return { cost };
}

/**
 * How many items the list `list` of a mutation's `input` argument holds: a bulk mutation's
 * `contacts` model (`createContacts(input: { contacts })` writes that many). 1 when absent.
 */
export function inputListLength(args: Record<string, unknown>, list: string): number {
  const input = args['input'];
  if (!input || typeof input !== 'object') return 1;
  const items: unknown = Reflect.get(input, list);
  return Array.isArray(items) ? items.length : 1;
}

/** Fields the schema gets from plugins, so their type files cannot annotate them. */
const BUILT_IN: Record<string, FieldCost> = {
  _entities: {
    contacts: (args) => (Array.isArray(args['representations']) ? args['representations'].length : 1),
    representations: true,
  },
};

function costOfField(field: GraphQLField<unknown, unknown> | undefined): FieldCost | undefined {
  if (!field) return undefined;
  return (field.extensions as { cost?: FieldCost } | undefined)?.cost ?? BUILT_IN[field.name];
}

/**
 * `items`: how many contacts each field here is read for (1 outside lists); `withV2Records`:
 * whether those contacts came from a v2 list page.
 */
interface Scope {
  items: number;
  withV2Records: boolean;
}

/**
 * The cost of the operation run with `variables`. Linear in the document: a fragment is walked at
 * most four times (see `fragmentCost`) and its cost reused at every spread, so a chain of
 * fragments that spread each other twice costs 2^n without 2^n steps of work.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown>,
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  const operations = [];
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    if (definition.kind === Kind.OPERATION_DEFINITION) operations.push(definition);
  }
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
  if (!operation) return 0;
  const root = schema.getRootType(operation.operation);
  if (!root) return 0;

  const memo = new Map<string, number>();

  const representationsCost = (args: Record<string, unknown>): number => {
    const representations = args['representations'];
    if (!Array.isArray(representations)) return 0;
    let cost = 0;
    for (const representation of representations as unknown[]) {
      const typename = (representation as { __typename?: unknown } | null)?.__typename;
      const type = typeof typename === 'string' ? schema.getType(typename) : undefined;
      cost += (type?.extensions as { cost?: EntityCost } | undefined)?.cost?.perReference ?? 0;
    }
    return cost;
  };
  /** Fragment walks in progress: a cycle is a validation error, never walked twice. */
  const walking = new Set<string>();

  const selectionSetCost = (set: SelectionSetNode, parent: GraphQLNamedType, scope: Scope): number => {
    let cost = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        cost += fieldCost(selection, parent, scope);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        cost += selectionSetCost(selection.selectionSet, type ?? parent, scope);
      } else {
        cost += fragmentCost(selection.name.value, scope);
      }
    }
    return cost;
  };

  /*
   * A fragment's cost is affine in `scope.items`: every per-item term (perContact, fanOut reads, the
   * items below a fanOut) is proportional to it and every other term ignores it (a `contacts` field
   * starts a scope of its own). So a fragment is walked for 0 and 1 items only, and its cost for any
   * number follows: fan-outs multiply scopes into ever new item counts, and memoising per count
   * would walk a fragment once per distinct product of `first` values.
   */
  const fragmentCost = (name: string, scope: Scope): number => {
    const none = fragmentCostAt(name, 0, scope.withV2Records);
    return none + (fragmentCostAt(name, 1, scope.withV2Records) - none) * scope.items;
  };

  const fragmentCostAt = (name: string, items: 0 | 1, withV2Records: boolean): number => {
    const key = `${name}\n${items}\n${withV2Records}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    const fragment = fragments.get(name);
    const type = fragment && schema.getType(fragment.typeCondition.name.value);
    if (!fragment || !type || walking.has(key)) return 0;
    walking.add(key);
    const cost = selectionSetCost(fragment.selectionSet, type, { items, withV2Records });
    walking.delete(key);
    memo.set(key, cost);
    return cost;
  };

  const fieldCost = (node: FieldNode, parent: GraphQLNamedType, scope: Scope): number => {
    const field = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[node.name.value] : undefined;
    const model = costOfField(field);
    const contacts = model?.contacts && field ? Math.max(1, model.contacts(argumentsOf(field, node, variables))) : 1;
    const fanOut = model?.fanOut;
    const args = field && (fanOut || model?.representations) ? argumentsOf(field, node, variables) : {};
    const inner: Scope = model?.contacts
      ? { items: contacts, withV2Records: scope.withV2Records || model.withV2Records === true }
      : fanOut
        ? { items: scope.items * Math.max(1, fanOut.items(args)), withV2Records: false }
        : scope;
    const perContact = model?.perContact && !scope.withV2Records ? scope.items * model.perContact : 0;
    const fanOutReads = fanOut ? scope.items * fanOut.perItem : 0;
    const references = model?.representations ? representationsCost(args) : 0;
    const below = node.selectionSet && field ? selectionSetCost(node.selectionSet, getNamedType(field.type), inner) : 0;
    return contacts + perContact + fanOutReads + references + below;
  };

  return selectionSetCost(operation.selectionSet, root, { items: 1, withV2Records: false });
}

/** The field's arguments as execution will see them; `{}` when they cannot be read (validation reports that). */
function argumentsOf(
  field: GraphQLField<unknown, unknown>,
  node: FieldNode,
  variables: Record<string, unknown>,
): Record<string, unknown> {
  try {
    return getArgumentValues(field, node, variables);
  } catch {
    return {};
  }
}
