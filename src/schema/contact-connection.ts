import type { Context } from '../context.js';
import type { ContactPageV2 } from '../telli/index.js';
import { builder } from './builder.js';
import { ContactRef } from './contact.js';
import { contactNeeds, listedContact, prefetch, type ContactParent } from './contact-sources.js';
import { costExtensions } from './cost.js';
import {
  MAX_PAGE_SIZE,
  nodeOf,
  nodesOf,
  PageInfoRef,
  pageReadError,
  positionAfter,
  telliLimit,
  toConnection,
  type Connection,
  type Edge,
} from './paging.js';

export { MAX_PAGE_SIZE };
/** telli's default `limit`, used when `first` is omitted. */
export const DEFAULT_PAGE_SIZE = 50;

/** `first` clamped to telli's 1–100 (omitted → telli's default of 50). */
export function clampPageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  return Math.min(MAX_PAGE_SIZE, Math.max(1, first));
}

type ContactEdge = Edge<ContactParent>;
type ContactConnection = Connection<ContactParent>;

const ContactEdgeRef = builder.objectRef<ContactEdge>('ContactEdge');
ContactEdgeRef.implement({
  description: 'A contact in a `contactsPage`, with the cursor to resume after it.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', {
      nullable: false,
      description: 'Opaque. Pass as `after` to continue right after this contact.',
    }),
    node: t.field({
      type: ContactRef,
      nullable: true,
      description:
        "The contact. Null only when telli's record for it breaks the documented contract (UPSTREAM_INVALID_RESPONSE at this path); the other edges are unaffected.",
      resolve: (edge, _args, ctx: Context) => nodeOf(edge, ctx, 'contact'),
    }),
  }),
});

const ContactConnectionRef = builder.objectRef<ContactConnection>('ContactConnection');
ContactConnectionRef.implement({
  description: "A page of contacts in telli's list order (a Relay connection over `GET /v2/contacts`).",
  fields: (t) => ({
    edges: t.field({
      type: [ContactEdgeRef],
      nullable: false,
      description: 'The contacts of this page with their cursors.',
      resolve: (connection) => connection.edges,
    }),
    nodes: t.field({
      type: [ContactRef],
      nullable: { list: false, items: true },
      description: 'The contacts of this page, without cursors (a shortcut for `edges { node }`).',
      // A rejected item fails only its own slot, like `edges.node`.
      resolve: (connection, _args, ctx) => nodesOf(connection, ctx, 'contact'),
    }),
    pageInfo: t.field({
      type: PageInfoRef,
      nullable: false,
      description: 'Whether there is a next page, and the cursor to get it.',
      resolve: (connection) => connection,
    }),
  }),
});

builder.queryField('contactsPage', (t) =>
  t.field({
    type: ContactConnectionRef,
    nullable: true,
    description: `Every contact, page by page (\`GET /v2/contacts\`: one telli call per page). Selecting call-state fields (\`status\`, \`callAttempts\`, …) on the contacts adds one v1 batch call per page, never one per contact. Order is telli's; telli offers no filter, sort or total count.`,
    // As many contacts as telli will list (`first` clamped, 50 when omitted). Listed records are
    // full v2 records: fields only v2 has cost no call per contact below.
    extensions: costExtensions({
      contacts: (args) => clampPageSize(typeof args['first'] === 'number' ? args['first'] : undefined),
      withV2Records: true,
    }),
    args: {
      first: t.arg.int({
        required: false,
        description: `Contacts per page, clamped to 1–${MAX_PAGE_SIZE} (telli's range); ${DEFAULT_PAGE_SIZE} when omitted.`,
      }),
      after: t.arg.string({
        required: false,
        description:
          'A cursor from a previous page (`pageInfo.endCursor` or an edge `cursor`); omit for the first page.',
      }),
    },
    resolve: async (_root, { first, after }, ctx, info) => {
      const size = clampPageSize(first);
      const position = positionAfter(after);
      let page: ContactPageV2;
      try {
        page = await ctx.loaders.contactsPageV2.load({
          limit: telliLimit(position, size),
          cursor: position.telliCursor,
        });
      } catch (error) {
        throw pageReadError(error, after, ctx, 'contact');
      }
      const connection = toConnection(
        { items: page.contacts, hasNextPage: page.hasNextPage, nextCursor: page.nextCursor },
        position,
        size,
        listedContact,
      );
      const needs = contactNeeds(info, [['edges', 'node'], ['nodes']]);
      for (const { node } of connection.edges) {
        if (node instanceof Error || !node.v2) continue;
        const key = node.id.toLowerCase();
        // Listed records are full v2 records: the same contact elsewhere in the operation is free.
        ctx.loaders.contactV2ById.prime(key, node.v2);
        // Call state comes from v1: all of the page's ids go into one batch call, now.
        if (needs.v1) prefetch(ctx.loaders.contactById.load(key));
      }
      return connection;
    },
  }),
);
