import { createServerAdapter, type ServerAdapterInitialContext } from '@whatwg-node/server';
import { ErrorCode } from '../error-codes.js';
import { requestIdOf } from './headers.js';
import { errorResponse } from './responses.js';

/**
 * The request edge: the one place that decides which route a request is. A route is its exact
 * path — the query string plays no part, and nothing else matches — so caller auth, probes,
 * metrics and GraphQL all obey the same decision. (Yoga's own routers match any URL that *ends*
 * with their endpoint, query string included; that is how `/health?/graphql` once reached GraphQL
 * without a caller token. Yoga now sees only requests for `/graphql`.)
 */
export const ROUTES = {
  graphql: '/graphql',
  health: '/health',
  readiness: '/readiness',
  metrics: '/metrics',
} as const;

export type Route = keyof typeof ROUTES;

const ROUTE_OF = new Map<string, Route>(Object.entries(ROUTES).map(([route, path]) => [path, route as Route]));

/** The route a URL path names exactly, or undefined. */
export function routeOf(pathname: string): Route | undefined {
  return ROUTE_OF.get(pathname);
}

/** What the edge establishes about every request before any route runs; GraphQL sees it in its context. */
export interface EdgeContext {
  /** From the caller's `x-request-id` when it is sane, generated otherwise; on every log line, echoed, sent to telli. */
  requestId: string;
  /** Epoch ms by which everything this request asks of telli must be done (`REQUEST_DEADLINE_MS` after arrival). */
  deadline: number;
}

export type RouteHandler = (
  request: Request,
  context: EdgeContext & Partial<ServerAdapterInitialContext>,
) => Response | Promise<Response>;

export interface EdgeOptions {
  /** A handler per route; a route without one is a 404 like any unknown path. */
  routes: Partial<Record<Route, RouteHandler>>;
  /** Budget of one request, from its arrival (`REQUEST_DEADLINE_MS`). */
  deadlineMs: number;
}

const notFound = () => errorResponse(404, ErrorCode.NOT_FOUND, 'Not found.');

/**
 * The server adapter `node:http` serves (and tests call with `fetch`): routes each request, and
 * echoes its request id on every response.
 */
export function createEdge(options: EdgeOptions) {
  const { routes, deadlineMs } = options;
  return createServerAdapter<Partial<ServerAdapterInitialContext>>(async (request, serverContext) => {
    const edge: EdgeContext = { requestId: requestIdOf(request), deadline: Date.now() + deadlineMs };
    const route = routeOf(new URL(request.url).pathname);
    const handler = route && routes[route];
    const response = handler ? await handler(request, { ...serverContext, ...edge }) : notFound();
    response.headers.set('x-request-id', edge.requestId);
    return response;
  });
}

export type Edge = ReturnType<typeof createEdge>;
