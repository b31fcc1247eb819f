/**
 * The subgraph beside the subgraphs it will meet in a company graph, composed by both
 * composition libraries: `@apollo/composition` (what Rover, GraphOS and Apollo Router use) and
 * `@theguild/federation-composition` (Hive's). The second subgraph is a typical Relay-style
 * service: its own shareable `PageInfo`, a shareable `UserError { field message }` (no `code`),
 * its own `Node` interface with `Query.node`, and a root field named `service`.
 */
import { readFile } from 'node:fs/promises';
import { composeServices as apolloCompose } from '@apollo/composition';
import { composeServices as guildCompose, compositionHasErrors } from '@theguild/federation-composition';
import { buildSchema, parse, printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DEALS_SDL } from '../federation/deals-subgraph.js';

const CATALOG_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key", "@shareable"])

  "The product catalog."
  type Query {
    "Relay's refetch entry point for this subgraph's objects."
    node(id: ID!): Node
    "Products, page by page."
    products(first: Int, after: String): ProductConnection!
    "Which build of the catalog answers."
    service: ServiceInfo!
  }

  "The catalog's writes."
  type Mutation {
    "Renames a product."
    renameProduct(id: ID!, name: String!): RenameProductPayload!
  }

  "An object with a global id."
  interface Node {
    "Globally unique id."
    id: ID!
  }

  "A product."
  type Product implements Node @key(fields: "id") {
    "Globally unique id."
    id: ID!
    "Its name."
    name: String!
  }

  "A page of products."
  type ProductConnection {
    "The products with their cursors."
    edges: [ProductEdge!]!
    "Paging."
    pageInfo: PageInfo!
  }

  "A product and its cursor."
  type ProductEdge {
    "Opaque."
    cursor: String!
    "The product."
    node: Product!
  }

  "Relay page information."
  type PageInfo @shareable {
    "More after this page."
    hasNextPage: Boolean!
    "Items before this page."
    hasPreviousPage: Boolean!
    "First cursor."
    startCursor: String
    "Last cursor."
    endCursor: String
  }

  "A problem with a mutation's input."
  type UserError @shareable {
    "Path to the input at fault."
    field: [String!]
    "What is wrong."
    message: String!
  }

  "The result of renameProduct."
  type RenameProductPayload {
    "The product, renamed."
    product: Product
    "What went wrong."
    userErrors: [UserError!]!
  }

  "Build information."
  type ServiceInfo {
    "Service name."
    name: String!
    "Build version."
    version: String!
  }
`;

async function subgraphs() {
  const contacts = await readFile(new URL('../../schema/schema.graphql', import.meta.url), 'utf8');
  return [
    { name: 'contacts', typeDefs: parse(contacts), url: 'http://contacts.test/graphql' },
    { name: 'deals', typeDefs: parse(DEALS_SDL), url: 'http://deals.test/graphql' },
    { name: 'catalog', typeDefs: parse(CATALOG_SDL), url: 'http://catalog.test/graphql' },
  ];
}

/** What both libraries must agree on once our subgraph composes: the API as clients see it. */
function expectApi(apiSdl: string) {
  const api = buildSchema(apiSdl, { assumeValidSDL: true });
  // Relay paginates over whatever PageInfo the supergraph has: it must keep Relay's fields.
  const pageInfo = api.getType('PageInfo');
  expect(pageInfo && 'getFields' in pageInfo && Object.keys(pageInfo.getFields())).toEqual(
    expect.arrayContaining(['hasNextPage', 'endCursor']),
  );
  // Our entities keep their keys: `id` is telli's UUID, as today's clients and gateways know it.
  for (const entity of ['Contact', 'Call', 'Agent']) expect(api.getType(entity)).toBeDefined();
  const query = api.getQueryType()?.getFields() ?? {};
  for (const field of ['contact', 'contacts', 'contactsPage', 'call', 'agent']) expect(query[field]).toBeDefined();
}

describe('composition beside a Relay-style subgraph with its own PageInfo, UserError, Node and service', () => {
  it('@apollo/composition (the official library: Rover, GraphOS) composes with no errors', async () => {
    const result = apolloCompose(await subgraphs());
    expect(result.errors?.map((e) => `${e.extensions['code'] as string}: ${e.message}`) ?? []).toEqual([]);
    if (result.errors) return;
    // `Schema.toString()` is Object's: print the API schema through graphql-js.
    expectApi(printSchema(result.schema.toAPISchema().toGraphQLJSSchema()));
  });

  it('@theguild/federation-composition (Hive) composes with no errors', async () => {
    const result = guildCompose(await subgraphs());
    expect(
      compositionHasErrors(result) ? result.errors.map((e) => `${String(e.extensions['code'])}: ${e.message}`) : [],
    ).toEqual([]);
    if (compositionHasErrors(result)) return;
    expectApi(result.publicSdl);
  });
});

describe('composition with the deals subgraph alone (today’s worked example)', () => {
  it('@apollo/composition composes it too, not only the library the other tests use', async () => {
    const [contacts, deals] = await subgraphs();
    const result = apolloCompose([contacts!, deals!]);
    expect(result.errors?.map((e) => e.message) ?? []).toEqual([]);
  });
});
