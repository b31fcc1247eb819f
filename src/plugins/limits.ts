import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import {
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLError,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';

/**
 * Query limits, all enforced before execution — so before any telli call. Defaults fit this API:
 * real operations are shallow; contacts are fetched through lists, so the cost limit (not the
 * alias limit) is what bounds the upstream work one operation can cause.
 */
export interface QueryLimits {
  /** Deepest selection nesting (introspection excepted). */
  maxDepth: number;
  /** Aliases per operation. */
  maxAliases: number;
  /** Lexer tokens per document (a 1000-id inline list is ~1000 tokens). */
  maxTokens: number;
  /**
   * One per selected field, plus one per contact requested through a list argument, plus
   * `V2_READ_COST` per contact for each selected field only telli v2 has (one v2 call per contact).
   */
  maxCost: number;
  /** Request body size, in bytes (enforced by `useRequestBodyLimit`). */
  maxBodyBytes: number;
}

export const DEFAULT_QUERY_LIMITS: QueryLimits = {
  maxDepth: 10,
  maxAliases: 100,
  maxTokens: 5000,
  maxCost: 3000,
  maxBodyBytes: 1024 * 1024,
};

/** Stable codes for rejected operations (the validation phase, HTTP 400). */
export const LIMIT_CODES = {
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  COST_LIMIT_EXCEEDED: 'COST_LIMIT_EXCEEDED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
} as const;

/** Root fields whose list argument says how many contacts they fetch. */
const PER_ITEM_ARGUMENTS: Record<string, string> = {
  contacts: 'ids',
  _entities: 'representations',
  contactsPage: 'first',
};

/**
 * Contact fields only telli v2 has (`CONTACT_FIELD_SOURCES` in schema/contact.ts; a test keeps the
 * two in step). v2 has no batch read: selecting one of them costs one telli call per contact, so
 * `contacts(ids:)` with 1000 ids and `properties` would be 1000 calls from one operation. Each
 * such field weighs `V2_READ_COST` per contact; at the default limit, an operation can read at
 * most about 270 contacts from v2.
 */
export const V2_ONLY_FIELDS: ReadonlySet<string> = new Set(['properties', 'updatedAt']);
export const V2_READ_COST = 10;
/** Root fields whose contacts arrive with their v2 record (a v2 list page): v2 fields cost no call there. */
const V2_LISTED = new Set(['contactsPage']);

export function useQueryLimits(limits: QueryLimits): Plugin[] {
  // graphql-armor reports a plain validation error; give it our stable code.
  const tag = (_ctx: unknown, error: GraphQLError) => {
    Object.assign(error.extensions, { code: LIMIT_CODES.QUERY_TOO_COMPLEX, http: { status: 400 } });
  };
  return [
    maxTokensPlugin({ n: limits.maxTokens, onReject: [tag] }),
    maxDepthPlugin({ n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true, onReject: [tag] }),
    maxAliasesPlugin({ n: limits.maxAliases, onReject: [tag] }),
    useCostLimit(limits.maxCost),
  ] as Plugin[];
}

/**
 * Rejects an operation whose cost exceeds `maxCost` just before execution, where the variables are
 * known (`contacts(ids: $ids)` costs `$ids.length`). Not a validation rule: Yoga caches validation
 * per document, and the same document with bigger variables must not slip through.
 */
function useCostLimit(maxCost: number): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const cost = operationCost(args.document, args.operationName, args.variableValues ?? {});
      if (cost > maxCost) {
        setResultAndStopExecution({
          errors: [
            createGraphQLError(
              `Operation cost ${cost} exceeds the limit of ${maxCost} (one per field, one per contact requested through a list, ${V2_READ_COST} per contact for each field read from telli v2).`,
              { extensions: { code: LIMIT_CODES.COST_LIMIT_EXCEEDED, cost, maxCost, http: { status: 400 } } },
            ),
          ],
        });
      }
    },
  };
}

export function operationCost(
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

  const listLength = (value: ValueNode | undefined): number => {
    if (!value) return 1;
    if (value.kind === Kind.LIST) return value.values.length;
    if (value.kind === Kind.INT) return Number(value.value);
    if (value.kind === Kind.VARIABLE) {
      const given = variables[value.name.value];
      if (Array.isArray(given)) return given.length;
      if (typeof given === 'number') return given;
    }
    return 1;
  };

  /**
   * `items`: how many contacts the enclosing root field fetches (1 outside lists); `v2Listed`:
   * whether they come from a v2 list page, which carries their v2 records.
   */
  interface Scope {
    items: number;
    v2Listed: boolean;
  }

  const costOf = (selectionSet: SelectionSetNode | undefined, seen: Set<string>, scope: Scope): number => {
    let cost = 0;
    for (const selection of selectionSet?.selections ?? []) {
      if (selection.kind === Kind.FIELD) cost += fieldCost(selection, seen, scope);
      else if (selection.kind === Kind.INLINE_FRAGMENT) cost += costOf(selection.selectionSet, seen, scope);
      else {
        const name = selection.name.value;
        if (seen.has(name)) continue; // a fragment cycle is a validation error anyway
        cost += costOf(fragments.get(name)?.selectionSet, new Set(seen).add(name), scope);
      }
    }
    return cost;
  };

  const fieldCost = (field: FieldNode, seen: Set<string>, scope: Scope): number => {
    const name = field.name.value;
    const perItem = PER_ITEM_ARGUMENTS[name];
    const argument = perItem ? field.arguments?.find((a) => a.name.value === perItem) : undefined;
    const items = argument ? Math.max(1, listLength(argument.value)) : undefined;
    const inner: Scope = items === undefined ? scope : { items, v2Listed: scope.v2Listed || V2_LISTED.has(name) };
    const v2Reads = V2_ONLY_FIELDS.has(name) && !scope.v2Listed ? scope.items * V2_READ_COST : 0;
    return (items ?? 1) + v2Reads + costOf(field.selectionSet, seen, inner);
  };

  return costOf(operation.selectionSet, new Set(), { items: 1, v2Listed: false });
}
