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
 * contact, weigh what they cost. Type files attach these to their fields; this module holds no
 * field names of its own beyond federation's `_entities`, which the federation plugin adds.
 */
export interface FieldCost {
  /** The field fetches this many contacts (from its arguments, e.g. `ids.length`). */
  contacts?: (args: Record<string, unknown>) => number;
  /** The contacts it fetches arrive with their v2 records (a v2 list page): `perContact` is free below it. */
  withV2Records?: boolean;
  /** Extra cost per contact the field is read for (one telli v2 call each). */
  perContact?: number;
}

/** The extra cost of a field only telli v2 has, per contact: v2 has no batch read, so one call each. */
export const V2_READ_COST = 10;

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
  const items = (input as Record<string, unknown>)[list];
  return Array.isArray(items) ? items.length : 1;
}

/** Fields the schema gets from plugins, so their type files cannot annotate them. */
const BUILT_IN: Record<string, FieldCost> = {
  _entities: { contacts: (args) => (Array.isArray(args['representations']) ? args['representations'].length : 1) },
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
 * The cost of the operation run with `variables`. Linear in the document: a fragment is walked
 * once per scope it is spread in (and its cost reused at every other spread), so a chain of
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
  /** Fragments being walked right now: a cycle is a validation error, never walked twice. */
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

  const fragmentCost = (name: string, scope: Scope): number => {
    const key = `${name}\n${scope.items}\n${scope.withV2Records}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    const fragment = fragments.get(name);
    const type = fragment && schema.getType(fragment.typeCondition.name.value);
    if (!fragment || !type || walking.has(name)) return 0;
    walking.add(name);
    const cost = selectionSetCost(fragment.selectionSet, type, scope);
    walking.delete(name);
    memo.set(key, cost);
    return cost;
  };

  const fieldCost = (node: FieldNode, parent: GraphQLNamedType, scope: Scope): number => {
    const field = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[node.name.value] : undefined;
    const model = costOfField(field);
    const contacts = model?.contacts && field ? Math.max(1, model.contacts(argumentsOf(field, node, variables))) : 1;
    const inner: Scope = model?.contacts
      ? { items: contacts, withV2Records: scope.withV2Records || model.withV2Records === true }
      : scope;
    const perContact = model?.perContact && !scope.withV2Records ? scope.items * model.perContact : 0;
    const below = node.selectionSet && field ? selectionSetCost(node.selectionSet, getNamedType(field.type), inner) : 0;
    return contacts + perContact + below;
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
