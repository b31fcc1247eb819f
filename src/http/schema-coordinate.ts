import {
  getNamedType,
  getOperationAST,
  isInterfaceType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';

/** What `schemaCoordinateOf` answers when a path does not lead through the document. */
export const UNKNOWN_COORDINATE = 'unknown';

/**
 * The schema coordinate (`Type.field`) of the field an error's response path ends at:
 * `["a17", "calls", 3, "agent"]` → `Call.agent`. A response path is made of response keys, which
 * are client-chosen aliases; a coordinate is bounded by the schema, so it is what a metric label
 * may carry. Walks the operation by response key, through inline fragments and fragment spreads
 * (a spread's type condition is the parent type of the fields inside it). At most the path's
 * length times the selections on the way: a few hundred comparisons for the largest operation
 * the query limits allow.
 */
export function schemaCoordinateOf(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  path: readonly (string | number)[],
): string {
  const operation = getOperationAST(document, operationName);
  const root = operation && schema.getRootType(operation.operation);
  if (!operation || !root) return UNKNOWN_COORDINATE;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }

  let scopes: Scope[] = [{ selectionSet: operation.selectionSet, type: root }];
  let coordinate = UNKNOWN_COORDINATE;
  for (const segment of path) {
    // A list index: the same field, one of its items.
    if (typeof segment === 'number') continue;
    const found: Match[] = [];
    const spread = new Set<string>();
    for (const scope of scopes) collect(scope, segment, fragments, schema, found, spread);
    const first = found[0];
    if (!first) return UNKNOWN_COORDINATE;
    const fieldName = first.field.name.value;
    if (fieldName === '__typename') return `${first.parent.name}.__typename`;
    const definition =
      isObjectType(first.parent) || isInterfaceType(first.parent) ? first.parent.getFields()[fieldName] : undefined;
    if (!definition) return UNKNOWN_COORDINATE;
    coordinate = `${first.parent.name}.${fieldName}`;
    const type = getNamedType(definition.type);
    scopes = found.flatMap(({ field }) => (field.selectionSet ? [{ selectionSet: field.selectionSet, type }] : []));
  }
  return coordinate;
}

interface Scope {
  selectionSet: SelectionSetNode;
  type: GraphQLNamedType;
}

interface Match {
  field: FieldNode;
  parent: GraphQLNamedType;
}

/** The fields of `scope` (fragments included) whose response key is `key`, with their parent type. */
function collect(
  scope: Scope,
  key: string,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  schema: GraphQLSchema,
  found: Match[],
  spread: Set<string>,
): void {
  for (const selection of scope.selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if ((selection.alias ?? selection.name).value === key) found.push({ field: selection, parent: scope.type });
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : scope.type;
      if (type) collect({ selectionSet: selection.selectionSet, type }, key, fragments, schema, found, spread);
    } else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      // Each fragment once per path step: a document that spreads one fragment many times
      // (validation has refused cycles) costs its size, not the number of spreads.
      if (!fragment || spread.has(name)) continue;
      spread.add(name);
      const type = schema.getType(fragment.typeCondition.name.value);
      if (type) collect({ selectionSet: fragment.selectionSet, type }, key, fragments, schema, found, spread);
    }
  }
}
