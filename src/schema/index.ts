import { printSubgraphSchema } from '@apollo/subgraph';
import { Kind, parse, print, type DefinitionNode, type DocumentNode, type GraphQLSchema } from 'graphql';
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
import { FEDERATION_LINK } from './service.js';

export { FEDERATION_LINK };

/**
 * The executable subgraph schema (with `_service` and `_entities`). Built once, at import, with
 * no environment and no I/O.
 */
export const schema: GraphQLSchema = builder.toSubGraphSchema({ linkUrl: FEDERATION_LINK });

/**
 * The SDL committed as `schema/schema.graphql`: the subgraph SDL a gateway composes (with `@link`
 * and `@key`), sorted so diffs show real changes only. `printSubgraphSchema` keeps definition order
 * for types that carry directives, so the sort is done on the printed document.
 */
export function printSchemaSdl(): string {
  return sortSdl(printSubgraphSchema(schema));
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
