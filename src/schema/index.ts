import { printSubgraphSchema } from '@apollo/subgraph';
import {
  GraphQLObjectType,
  GraphQLSchema,
  Kind,
  parse,
  print,
  printSchema,
  specifiedDirectives,
  type DefinitionNode,
  type DocumentNode,
  type GraphQLDirective,
  type GraphQLFieldConfigMap,
  type GraphQLNamedType,
} from 'graphql';
import { builder } from './core/builder.js';
import './core/scalars.js';
import './contact/property.js';
import './contact/contact.js';
import './contact/queries.js';
import './contact/connection.js';
import './agent/agent.js';
import './call/call.js';
import './core/user-errors.js';
import './contact/mutations.js';
import './dialer/mutations.js';
import './live/subscriptions.js';
import './node/node.js';
import { FEDERATION_LINK } from './service.js';

export { FEDERATION_LINK };

/** The schema as Pothos builds it: every field, with federation's `_service` and `_entities`. */
const subgraph = builder.toSubGraphSchema({ linkUrl: FEDERATION_LINK });

/**
 * Root fields this subgraph serves its own clients but does not publish to a gateway. `node`:
 * a supergraph has one `node`, and two subgraphs declaring it fail composition in both Apollo's
 * and Hive's composition (INVALID_FIELD_SHARING, or SHAREABLE_HAS_MISMATCHED_RUNTIME_TYPES when
 * shareable). The `Node` interface and `implements Node` stay published: they compose.
 */
const UNPUBLISHED_QUERY_FIELDS: ReadonlySet<string> = new Set(['node']);

/** Federation's own fields, types and directives: what a gateway needs and a client does not. */
const FEDERATION_QUERY_FIELDS: ReadonlySet<string> = new Set(['_service', '_entities']);
const isFederationType = (name: string) => name.startsWith('_') || /^(link|federation)__/.test(name);

/** `schema` with its Query type rebuilt by `edit` (no other type refers to Query). */
function withQuery(
  base: GraphQLSchema,
  edit: (fields: GraphQLFieldConfigMap<unknown, unknown>) => GraphQLFieldConfigMap<unknown, unknown>,
  types: (type: GraphQLNamedType) => boolean = () => true,
  directives?: readonly GraphQLDirective[],
): GraphQLSchema {
  const config = base.toConfig();
  const queryConfig = base.getQueryType()!.toConfig();
  const fields = edit(queryConfig.fields);
  // Printers that keep applied directives print a type from its AST node (the directives plugin
  // sets one), so the AST must lose the same fields.
  const astNode = queryConfig.astNode && {
    ...queryConfig.astNode,
    fields: queryConfig.astNode.fields?.filter((field) => Object.hasOwn(fields, field.name.value)),
  };
  const query = new GraphQLObjectType({ ...queryConfig, fields, astNode });
  return new GraphQLSchema({
    ...config,
    query,
    types: [...config.types.filter((type) => type.name !== query.name && types(type)), query],
    ...(directives && { directives }),
  });
}

const without = (names: ReadonlySet<string>) => (fields: GraphQLFieldConfigMap<unknown, unknown>) =>
  Object.fromEntries(Object.entries(fields).filter(([name]) => !names.has(name)));

/** The subgraph SDL a gateway composes: `@link`, `@key`, `_service`, `_entities`; no `node`. */
const publishedSdl = printSubgraphSchema(withQuery(subgraph, without(UNPUBLISHED_QUERY_FIELDS)));

/**
 * The executable schema: everything clients may ask, `node` included, and federation's fields,
 * whose `_service { sdl }` answers the published SDL. Built once, at import, with no environment
 * and no I/O.
 */
export const schema: GraphQLSchema = withQuery(subgraph, (fields) => ({
  ...fields,
  _service: { ...fields['_service']!, resolve: () => ({ sdl: publishedSdl }) },
}));

/**
 * The SDL committed as `schema/schema.graphql`: the subgraph SDL a gateway composes (what
 * `_service { sdl }` answers), sorted so diffs show real changes only. `printSubgraphSchema`
 * keeps definition order for types that carry directives, so the sort is done on the printed
 * document.
 */
export function printSchemaSdl(): string {
  return sortSdl(publishedSdl);
}

/**
 * The SDL committed as `schema/client.graphql`: the API as its clients see it (introspection
 * shows the same types and fields), without federation's `@link`, directives, `_service`,
 * `_entities` and `_Any`/`_Entity`/`_Service` — which tools that do not know federation (Relay's
 * compiler, graphql-inspector, linters) cannot read. Sorted like the subgraph SDL.
 */
export function printClientSdl(): string {
  const client = withQuery(
    schema,
    without(FEDERATION_QUERY_FIELDS),
    (type) => !isFederationType(type.name),
    specifiedDirectives,
  );
  return sortSdl(printSchema(client));
}

/** Sorts any SDL the same way (types, fields, arguments, enum values by name). */
export function sortSdl(sdl: string): string {
  return `${print(sortDocument(parse(sdl)))}\n`;
}

type Named = { name?: { value: string } };
const byName = (a: Named, b: Named) => (a.name?.value ?? '').localeCompare(b.name?.value ?? '');

function sortDocument(document: DocumentNode): DocumentNode {
  const sortMembers = <T extends DefinitionNode>(node: T): T => {
    const copy: Record<string, unknown> = { ...node };
    for (const key of ['fields', 'values', 'types', 'interfaces'] as const) {
      const list = copy[key];
      if (Array.isArray(list)) {
        copy[key] = [...(list as Named[])]
          .sort(byName)
          .map((member) =>
            'arguments' in member && Array.isArray(member.arguments)
              ? { ...member, arguments: [...(member.arguments as Named[])].sort(byName) }
              : member,
          );
      }
    }
    return copy as T;
  };
  const schemaFirst = (d: DefinitionNode) =>
    d.kind === Kind.SCHEMA_DEFINITION || d.kind === Kind.SCHEMA_EXTENSION ? 0 : 1;
  return {
    ...document,
    definitions: [...document.definitions]
      .map(sortMembers)
      .sort((a, b) => schemaFirst(a) - schemaFirst(b) || byName(a as Named, b as Named)),
  };
}
