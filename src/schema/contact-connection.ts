import { z } from 'zod';
import type { Context } from '../context.js';
import { TelliHttpError, type ContactPageV2 } from '../telli/index.js';
import { builder } from './builder.js';
import { ContactRef } from './contact.js';
import { contactNeeds, listedContact, prefetch, type ContactParent } from './contact-sources.js';
import { costExtensions } from './cost.js';
import { badUserInput, toGraphQLError } from './errors.js';

/** telli's `limit` range for `GET /v2/contacts`; `first` is clamped into it. */
export const MAX_PAGE_SIZE = 100;
/** telli's default `limit`, used when `first` is omitted. */
export const DEFAULT_PAGE_SIZE = 50;
/** Longest `after` accepted; bounds what we decode. */
const MAX_CURSOR_LENGTH = 4096;

/**
 * A position in telli's list: "the contacts of telli's page `telliCursor`, after the first `skip`".
 * telli only has page cursors; the skip count gives every edge a cursor a client can resume after.
 */
interface Position {
  telliCursor: string | null;
  skip: number;
}

const positionSchema = z.object({
  c: z.string().min(1).nullable(),
  // Up to a whole page: the last edge of telli's last page resumes after all of it.
  s: z.number().int().min(0).max(MAX_PAGE_SIZE),
});

function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify({ c: position.telliCursor, s: position.skip })).toString('base64url');
}

function decodeCursor(cursor: string): Position | null {
  if (cursor.length > MAX_CURSOR_LENGTH) return null;
  try {
    const parsed = positionSchema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return parsed.success ? { telliCursor: parsed.data.c, skip: parsed.data.s } : null;
  } catch {
    return null;
  }
}

/** `first` clamped to telli's 1–100 (omitted → telli's default of 50). */
export function clampPageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  return Math.min(MAX_PAGE_SIZE, Math.max(1, first));
}

interface ContactEdge {
  cursor: string;
  /** A listed record that broke telli's contract stays an error in its slot. */
  node: ContactParent | Error;
}

interface ContactConnection {
  edges: ContactEdge[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  endCursor: string | null;
}

/**
 * The edges of one telli page read from `position`: at most `size`, each with the cursor that
 * resumes right after it. An edge that ends telli's page resumes at telli's next page.
 */
function toConnection(page: ContactPageV2, position: Position, size: number): ContactConnection {
  const last = page.contacts.length - 1;
  const cursorAfter = (index: number): Position =>
    index === last && page.nextCursor !== null
      ? { telliCursor: page.nextCursor, skip: 0 }
      : { telliCursor: position.telliCursor, skip: index + 1 };
  const edges = page.contacts.slice(position.skip, position.skip + size).map((record, i) => ({
    cursor: encodeCursor(cursorAfter(position.skip + i)),
    node: record instanceof Error ? record : listedContact(record),
  }));
  const endCursor =
    edges.at(-1)?.cursor ?? (page.nextCursor === null ? null : encodeCursor({ telliCursor: page.nextCursor, skip: 0 }));
  return {
    edges,
    // telli answers at most `size` after the skip, but a longer page must not lose its tail.
    hasNextPage: position.skip + size <= last || page.hasNextPage,
    hasPreviousPage: position.telliCursor !== null || position.skip > 0,
    endCursor,
  };
}

const nodeOf = (edge: ContactEdge, _args: unknown, ctx: Context): ContactParent => {
  if (edge.node instanceof Error) throw toGraphQLError(edge.node, ctx.keySource);
  return edge.node;
};

const PageInfoRef = builder.objectRef<ContactConnection>('PageInfo');
PageInfoRef.implement({
  description: 'Relay page information. Paging is forward only (`first` / `after`): telli has no backward cursor.',
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage', {
      nullable: false,
      description: 'Whether telli has more contacts after this page; then pass `endCursor` as `after`.',
    }),
    hasPreviousPage: t.exposeBoolean('hasPreviousPage', {
      nullable: false,
      description: 'Whether contacts precede this page, i.e. whether `after` was given.',
    }),
    startCursor: t.string({
      nullable: true,
      description: 'The cursor of the first edge; null when the page is empty.',
      resolve: (connection) => connection.edges[0]?.cursor ?? null,
    }),
    endCursor: t.exposeString('endCursor', {
      nullable: true,
      description:
        "The cursor to pass as `after` for the next page: the last edge's cursor; null when the page is empty and telli has nothing more.",
    }),
  }),
});

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
      resolve: nodeOf,
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
      resolve: (connection, _args, ctx) =>
        connection.edges.map((edge) =>
          edge.node instanceof Error ? Promise.reject(toGraphQLError(edge.node, ctx.keySource)) : edge.node,
        ),
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
      let position: Position = { telliCursor: null, skip: 0 };
      if (after !== null && after !== undefined) {
        const decoded = decodeCursor(after);
        if (!decoded) throw badUserInput('`after` is not a cursor this API issued.');
        position = decoded;
      }
      let page: ContactPageV2;
      try {
        // Reading `skip` more than asked keeps the page aligned to telli's cursor; capped at 100.
        const limit = Math.min(MAX_PAGE_SIZE, position.skip + size);
        page = await ctx.loaders.contactsPageV2.load({ limit, cursor: position.telliCursor });
      } catch (error) {
        // The cursor inside `after` is telli's own; a 400 means telli no longer accepts it.
        if (after && error instanceof TelliHttpError && error.status === 400) {
          throw badUserInput('telli did not accept the cursor in `after`; start again without it.');
        }
        throw toGraphQLError(error, ctx.keySource);
      }
      const connection = toConnection(page, position, size);
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
