/**
 * A sample second subgraph — a CRM that owns deals and references telli contacts by id — used by
 * the federation tests and by the README's worked example (`npm run federation:deals`). It is
 * Relay-style, as other teams' subgraphs often are: its own shareable `PageInfo` and its own `Node`
 * interface — names this layer must compose beside.
 */
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { createDemoContacts } from '../../src/sandbox/index.js';

export const DEALS_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key", "@shareable"])

  "Deals in the CRM."
  type Query {
    "Every open deal."
    deals: [Deal!]!
    "One deal by id."
    deal(id: ID!): Deal
    "Deals page by page (a Relay connection)."
    dealsPage(first: Int, after: String): DealConnection!
  }

  "An object with a global id (Relay)."
  interface Node {
    "Globally unique id."
    id: ID!
  }

  "A sales opportunity, tied to the telli contact the AI agent calls about it."
  type Deal implements Node @key(fields: "id") {
    "Deal id."
    id: ID!
    "What is being sold."
    title: String!
    "The contact, resolved by the telli-graphql subgraph."
    contact: Contact
  }

  "A page of deals."
  type DealConnection {
    "The deals of this page with their cursors."
    edges: [DealEdge!]!
    "Paging."
    pageInfo: PageInfo!
  }

  "A deal and its cursor."
  type DealEdge {
    "Opaque."
    cursor: String!
    "The deal."
    node: Deal!
  }

  "Relay page information, as every Relay-style subgraph of the company defines it."
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

  "A telli contact; only its key lives here, the contacts subgraph resolves the rest."
  type Contact @key(fields: "id", resolvable: false) {
    id: ID!
  }
`;

export interface Deal {
  id: string;
  title: string;
  contactId: string;
}

/** An id telli does not know, and one that is not a UUID at all. */
export const UNKNOWN_CONTACT_ID = '00000000-0000-4000-8000-00000000dead';
export const MALFORMED_CONTACT_ID = 'not-a-uuid';

/** 50 deals over the sandbox's demo contacts (contact 0 twice), plus two problem deals. */
export function createDeals(): { deals: Deal[]; problemDeals: Deal[] } {
  const contacts = createDemoContacts();
  const deals = Array.from({ length: 50 }, (_, i) => ({
    id: `deal-${i + 1}`,
    title: `Heat pump offer #${i + 1}`,
    contactId: (contacts[i === 49 ? 0 : i] as { id: string }).id,
  }));
  const problemDeals = [
    { id: 'deal-unknown-contact', title: 'Contact deleted in telli', contactId: UNKNOWN_CONTACT_ID },
    { id: 'deal-malformed-contact', title: 'Typo in the CRM', contactId: MALFORMED_CONTACT_ID },
  ];
  return { deals, problemDeals };
}

export function createDealsSubgraph() {
  const { deals, problemDeals } = createDeals();
  const byId = new Map([...deals, ...problemDeals].map((d) => [d.id, d]));
  const schema = buildSubgraphSchema({
    typeDefs: parse(DEALS_SDL),
    resolvers: {
      Query: {
        deals: () => deals,
        deal: (_: unknown, { id }: { id: string }) => byId.get(id) ?? null,
        dealsPage: (_: unknown, { first, after }: { first?: number | null; after?: string | null }) => {
          // The cursor is the index of the deal to start at.
          const start = after ? Number(after) : 0;
          const page = deals.slice(start, start + (first ?? 10));
          return {
            edges: page.map((node, i) => ({ cursor: String(start + i + 1), node })),
            pageInfo: {
              hasNextPage: start + page.length < deals.length,
              hasPreviousPage: start > 0,
              startCursor: page.length > 0 ? String(start + 1) : null,
              endCursor: page.length > 0 ? String(start + page.length) : null,
            },
          };
        },
      },
      Deal: {
        __resolveReference: (ref: { id: string }) => byId.get(ref.id) ?? null,
        contact: (deal: Deal) => ({ __typename: 'Contact', id: deal.contactId }),
      },
    },
  });
  return createYoga({ schema, graphiql: false, landingPage: false, logging: false });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.env['DEALS_PORT'] ?? 4001);
  createServer(createDealsSubgraph()).listen(port, '127.0.0.1', () => {
    process.stdout.write(`deals subgraph: http://127.0.0.1:${port}/graphql\n`);
  });
}
