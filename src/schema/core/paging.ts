import type { ObjectRef } from '@pothos/core';
import { z } from 'zod';
import type { Context } from '../../context.js';
import { TelliHttpError } from '../../telli/index.js';
import { builder } from './builder.js';
import { badUserInput, toGraphQLError } from './errors.js';

/*
 * Relay connections over telli's list endpoints (`/v2/contacts`, `/v1/list-calls`, `/v2/agents`).
 * telli only has page cursors, so this API's cursor is telli's cursor plus a position in that page:
 * every edge gets a cursor a client can resume right after. Resuming mid-page re-reads telli's page
 * from its start (capped at telli's 100), so such a page may hold fewer than `first` items.
 */

/** telli's `limit` range for its list endpoints; `first` is clamped into it. */
export const MAX_PAGE_SIZE = 100;
/** Longest `after` accepted; bounds what we decode. */
const MAX_CURSOR_LENGTH = 4096;

/** "The items of telli's page `telliCursor`, after the first `skip`." */
export interface Position {
  telliCursor: string | null;
  skip: number;
}

export const FIRST_PAGE: Position = Object.freeze({ telliCursor: null, skip: 0 });

const positionSchema = z.object({
  c: z.string().min(1).nullable(),
  // Up to a whole page: the last edge of telli's last page resumes after all of it.
  s: z.number().int().min(0).max(MAX_PAGE_SIZE),
  o: z.string().optional(),
});

/**
 * `owner` ties a cursor to the list it came from (the contact whose calls it pages): telli's call
 * cursors would otherwise be accepted for any contact and silently page someone else's calls from
 * the wrong point. Lists without an owner encode exactly as before owners existed.
 */
function encodeCursor(position: Position, owner: string | undefined): string {
  const payload = { c: position.telliCursor, s: position.skip, ...(owner !== undefined && { o: owner }) };
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

function decodeCursor(cursor: string, owner: string | undefined): Position | null {
  if (cursor.length > MAX_CURSOR_LENGTH) return null;
  try {
    const parsed = positionSchema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (!parsed.success || parsed.data.o !== owner) return null;
    return { telliCursor: parsed.data.c, skip: parsed.data.s };
  } catch {
    return null;
  }
}

/** Where `after` points (the first page without it); BAD_USER_INPUT when this list did not issue it. */
export function positionAfter(after: string | null | undefined, owner?: string): Position {
  if (after === null || after === undefined) return FIRST_PAGE;
  const position = decodeCursor(after, owner);
  if (!position) throw badUserInput('`after` is not a cursor this list issued.');
  return position;
}

/** `first` clamped to telli's 1–100; `fallback` when omitted (or null). */
export function clampFirst(first: unknown, fallback: number): number {
  if (typeof first !== 'number') return fallback;
  return Math.min(MAX_PAGE_SIZE, Math.max(1, first));
}

/** telli's `limit` for a page read from `position`: reading `skip` more keeps it aligned to telli's cursor. */
export function telliLimit(position: Position, size: number): number {
  return Math.min(MAX_PAGE_SIZE, position.skip + size);
}

/**
 * A failed page read as the client sees it. The cursor inside `after` is telli's own: a 400 means
 * telli no longer accepts it, which the client fixes by starting again.
 */
export function pageReadError(error: unknown, after: string | null | undefined, ctx: Context, what: string): Error {
  if (after && error instanceof TelliHttpError && error.status === 400) {
    return badUserInput('telli did not accept the cursor in `after`; start again without it.');
  }
  return toGraphQLError(error, ctx.keySource, what);
}

/** One page as telli listed it: a record that broke the contract stays an error in its slot. */
export interface ListedPage<T> {
  items: readonly (T | Error)[];
  hasNextPage: boolean;
  nextCursor: string | null;
}

export interface Edge<N> {
  cursor: string;
  node: N | Error;
}

export interface Connection<N> {
  edges: Edge<N>[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  endCursor: string | null;
}

/**
 * The edges of one telli page read from `position`: at most `size`, each with the cursor that
 * resumes right after it. An edge that ends telli's page resumes at telli's next page.
 */
export function toConnection<T, N>(
  page: ListedPage<T>,
  position: Position,
  size: number,
  node: (item: T) => N,
  owner?: string,
): Connection<N> {
  const last = page.items.length - 1;
  const cursorAfter = (index: number): Position =>
    index === last && page.nextCursor !== null
      ? { telliCursor: page.nextCursor, skip: 0 }
      : { telliCursor: position.telliCursor, skip: index + 1 };
  const edges = page.items.slice(position.skip, position.skip + size).map((item, i) => ({
    cursor: encodeCursor(cursorAfter(position.skip + i), owner),
    node: item instanceof Error ? item : node(item),
  }));
  const endCursor =
    edges.at(-1)?.cursor ??
    (page.nextCursor === null ? null : encodeCursor({ telliCursor: page.nextCursor, skip: 0 }, owner));
  return {
    edges,
    // telli answers at most `size` after the skip, but a longer page must not lose its tail.
    hasNextPage: position.skip + size <= last || page.hasNextPage,
    hasPreviousPage: position.telliCursor !== null || position.skip > 0,
    endCursor,
  };
}

/** An edge's node for the client: a record that broke telli's contract fails this edge alone. */
export function nodeOf<N>(edge: Edge<N>, ctx: Context, what: string): N {
  if (edge.node instanceof Error) throw toGraphQLError(edge.node, ctx.keySource, what);
  return edge.node;
}

/** `nodes`: the same, one slot each, so a rejected item fails only its own slot. */
export function nodesOf<N>(connection: Connection<N>, ctx: Context, what: string): (N | Promise<never>)[] {
  return connection.edges.map((edge) =>
    edge.node instanceof Error ? Promise.reject(toGraphQLError(edge.node, ctx.keySource, what)) : edge.node,
  );
}

/*
 * Named `TelliPageInfo`, not `PageInfo`: in a supergraph another subgraph's `PageInfo` with the
 * same name fails composition unless both are `@shareable` with exactly the same fields, which this
 * subgraph cannot promise for teams it does not know. Relay needs the connection's `pageInfo`
 * field, not the type's name.
 */
export const PageInfoRef = builder.objectRef<Connection<unknown>>('TelliPageInfo');
PageInfoRef.implement({
  description:
    "Relay page information of this API's connections (Relay's `PageInfo`; named for telli so that it composes beside other subgraphs' `PageInfo`). Paging is forward only (`first` / `after`): telli has no backward cursor.",
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage', {
      nullable: false,
      description: 'Whether telli has more items after this page; then pass `endCursor` as `after`.',
    }),
    hasPreviousPage: t.exposeBoolean('hasPreviousPage', {
      nullable: false,
      description: 'Whether items precede this page, i.e. whether `after` was given.',
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

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/** What tells one list's connection types from another's: the names and the descriptions. */
export interface ConnectionNaming {
  /** The node type's name: `Agent` makes `AgentEdge` and `AgentConnection`. */
  name: string;
  /** One item, for messages and descriptions (`agent`). */
  item: string;
  /** Several, for descriptions (`agents`). */
  items: string;
  edgeDescription: string;
  cursorDescription: string;
  connectionDescription: string;
}

/**
 * The Relay edge and connection types of one telli list, over its node type: the same fields for
 * every list, and the same rule that a record breaking telli's contract fails only its own edge
 * and its own `nodes` slot.
 */
export function connectionTypes<N>(
  nodeRef: ObjectRef<Types, N>,
  naming: ConnectionNaming,
): ObjectRef<Types, Connection<N>> {
  const { name, item, items } = naming;
  const EdgeRef = builder.objectRef<Edge<N>>(`${name}Edge`);
  EdgeRef.implement({
    description: naming.edgeDescription,
    fields: (t) => ({
      cursor: t.exposeString('cursor', { nullable: false, description: naming.cursorDescription }),
      node: t.field({
        type: nodeRef,
        nullable: true,
        description: `The ${item}. Null only when telli's record for it breaks the documented contract (UPSTREAM_INVALID_RESPONSE at this path); the other edges are unaffected.`,
        // Pothos cannot check a result against a generic node type; nodeOf returns exactly N.
        resolve: (edge, _args, ctx) => nodeOf(edge, ctx, item) as never,
      }),
    }),
  });
  const ConnectionRef = builder.objectRef<Connection<N>>(`${name}Connection`);
  ConnectionRef.implement({
    description: naming.connectionDescription,
    fields: (t) => ({
      edges: t.field({
        type: [EdgeRef],
        nullable: false,
        description: `The ${items} of this page with their cursors.`,
        resolve: (connection) => connection.edges,
      }),
      nodes: t.field({
        type: [nodeRef],
        nullable: { list: false, items: true },
        description: `The ${items} of this page, without cursors (a shortcut for \`edges { node }\`).`,
        resolve: (connection, _args, ctx) => nodesOf(connection, ctx, item),
      }),
      pageInfo: t.field({
        type: PageInfoRef,
        nullable: false,
        description: 'Whether there is a next page, and the cursor to get it.',
        resolve: (connection) => connection,
      }),
    }),
  });
  return ConnectionRef;
}
