import {
  getDirectiveValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  type FieldNode,
  type GraphQLResolveInfo,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';

/**
 * Names of the fields the operation selects under the current field, after following `path`
 * (e.g. `['edges', 'node']`) — through aliases, inline fragments and named fragments, honouring
 * `@skip` / `@include`. Type conditions are not checked: the answer can only be too wide, which
 * costs a telli call, never a wrong value (field resolvers load whatever they lack themselves).
 */
export function selectedFieldNames(info: GraphQLResolveInfo, path: readonly string[] = []): Set<string> {
  let fields: readonly FieldNode[] = info.fieldNodes;
  for (const name of path) fields = fields.flatMap((field) => subfields(field.selectionSet, info, name));
  return new Set(fields.flatMap((field) => subfields(field.selectionSet, info)).map((field) => field.name.value));
}

function subfields(set: SelectionSetNode | undefined, info: GraphQLResolveInfo, name?: string): FieldNode[] {
  const out: FieldNode[] = [];
  // A fragment spread twice adds no field the first spread did not: visiting each fragment once
  // keeps this linear in the document (a chain of fragments spreading the next twice is 2^n spreads).
  const visited = new Set<string>();
  const visit = (selections: readonly SelectionNode[]) => {
    for (const selection of selections) {
      if (!included(selection, info)) continue;
      if (selection.kind === Kind.FIELD) {
        if (name === undefined || selection.name.value === name) out.push(selection);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet.selections);
      } else {
        // Validation guarantees the fragment exists and that fragments do not cycle.
        const fragment = info.fragments[selection.name.value];
        if (fragment && !visited.has(fragment.name.value)) {
          visited.add(fragment.name.value);
          visit(fragment.selectionSet.selections);
        }
      }
    }
  };
  visit(set?.selections ?? []);
  return out;
}

/**
 * Whether `selectedFieldNames(info)` for this field could change with the variables: some
 * selection it looks at carries a directive (`@skip(if: $x)`, `@include(if: $x)`).
 */
export function selectionHasDirectives(field: FieldNode, info: GraphQLResolveInfo): boolean {
  const visit = (selections: readonly SelectionNode[]): boolean =>
    selections.some((selection) => {
      if (selection.directives?.length) return true;
      if (selection.kind === Kind.INLINE_FRAGMENT) return visit(selection.selectionSet.selections);
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = info.fragments[selection.name.value];
        return fragment ? visit(fragment.selectionSet.selections) : false;
      }
      return false;
    });
  return visit(field.selectionSet?.selections ?? []);
}

/**
 * The type conditions of the fragments (inline or named) selected on the current field, looking
 * through fragments on `transparent` (the field's own abstract type, whose fields every object of
 * it has). `@skip` / `@include` are honoured. `node(id:)` reads which concrete types are asked for.
 */
export function typeConditions(info: GraphQLResolveInfo, transparent: string): Set<string> {
  const conditions = new Set<string>();
  const visited = new Set<string>();
  const visit = (selections: readonly SelectionNode[]) => {
    for (const selection of selections) {
      if (selection.kind === Kind.FIELD || !included(selection, info)) continue;
      let condition: string | undefined;
      let inner: readonly SelectionNode[];
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        condition = selection.typeCondition?.name.value;
        inner = selection.selectionSet.selections;
      } else {
        const fragment = info.fragments[selection.name.value];
        if (!fragment || visited.has(fragment.name.value)) continue;
        visited.add(fragment.name.value);
        condition = fragment.typeCondition.name.value;
        inner = fragment.selectionSet.selections;
      }
      if (condition === undefined || condition === transparent) visit(inner);
      else conditions.add(condition);
    }
  };
  for (const field of info.fieldNodes) visit(field.selectionSet?.selections ?? []);
  return conditions;
}

function included(node: SelectionNode, info: GraphQLResolveInfo): boolean {
  // Most selections carry no directive: skip the two directive lookups (this runs per selected field).
  if (!node.directives?.length) return true;
  if (getDirectiveValues(GraphQLSkipDirective, node, info.variableValues)?.['if'] === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, info.variableValues)?.['if'] !== false;
}
