import type { ServerResponse } from 'node:http';
import { createServerAdapter, type ServerAdapterInitialContext } from '@whatwg-node/server';
import { ErrorCode } from '../error-codes.js';
import { OVERLOAD_RETRY_AFTER_SECONDS, type Admission, type AdmissionTicket } from './admission.js';
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
  webhooks: '/webhooks/telli',
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
  /**
   * Epoch ms by which everything this request asks of telli must be done: a little before the
   * response is due (`REQUEST_DEADLINE_MS` after arrival), so that a request whose telli calls run
   * out of time still answers with its partial data and `UPSTREAM_TIMEOUT` errors in time.
   */
  deadline: number;
  /** GraphQL route only: the request's admission, where the operation reserves its cost. */
  admission?: AdmissionTicket;
}

/** What the server adapter hands every request: under `node:http`, the response it writes to. */
type ServerContext = Partial<ServerAdapterInitialContext> & { res?: ServerResponse };

export type RouteHandler = (request: Request, context: EdgeContext & ServerContext) => Response | Promise<Response>;

export interface EdgeOptions {
  /** A handler per route; a route without one is a 404 like any unknown path. */
  routes: Partial<Record<Route, RouteHandler>>;
  /** Budget of one request, from its arrival to its response (`REQUEST_DEADLINE_MS`). */
  deadlineMs: number;
  /** Admission control of the GraphQL route (see `admission.ts`). */
  admission: Admission;
  /** Told of every request refused for overload, and which bound was full (metrics). */
  onOverload?: (bound: 'operations' | 'cost') => void;
}

const notFound = () => errorResponse(404, ErrorCode.NOT_FOUND, 'Not found.');

export const overloaded = () =>
  errorResponse(503, ErrorCode.OVERLOADED, 'The server is at capacity; retry shortly.', {
    'retry-after': String(OVERLOAD_RETRY_AFTER_SECONDS),
  });

/** The time telli work stops before the response is due, so partial results can still be sent. */
export function deadlineMarginMs(deadlineMs: number): number {
  return Math.min(250, Math.floor(deadlineMs / 10));
}

/**
 * The server adapter `node:http` serves (and tests call with `fetch`): routes each request, admits
 * GraphQL work within the limits, answers every GraphQL request by its deadline, and echoes the
 * request id on every response.
 */
export function createEdge(options: EdgeOptions) {
  const { routes, deadlineMs, admission } = options;
  const margin = deadlineMarginMs(deadlineMs);
  // `Connection: close` ends the socket after this answer, and with it whatever the request is
  // still waiting for (a body that trickles in), so that its work stops and frees its admission.
  const timedOut = () =>
    errorResponse(
      504,
      ErrorCode.UPSTREAM_TIMEOUT,
      `The request did not complete within REQUEST_DEADLINE_MS (${deadlineMs} ms).`,
      { connection: 'close' },
    );

  /**
   * GraphQL work, admitted before its body is read, and answered by the deadline whatever happens
   * — queueing in the event loop included. The slot is held until the work itself ends, not just
   * until the deadline's answer (the work still costs memory and CPU until it stops), or until the
   * connection closes: a request whose client stopped sending its body never ends by itself (the
   * body stream neither ends nor fails when the socket goes), and must not hold a slot forever.
   */
  function admitted(handler: RouteHandler, request: Request, context: EdgeContext & ServerContext, respondBy: number) {
    const ticket = admission.enter(bodyBytesOf(request));
    if (typeof ticket === 'string') {
      options.onOverload?.(ticket);
      return overloaded();
    }
    context.res?.once('close', () => ticket.done());
    const handling = Promise.resolve()
      .then(() => handler(request, { ...context, admission: ticket }))
      .finally(() => ticket.done());
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<Response>((resolve) => {
      timer = setTimeout(() => resolve(timedOut()), Math.max(0, respondBy - Date.now()));
    });
    return Promise.race([handling, late]).finally(() => clearTimeout(timer));
  }

  return createServerAdapter<ServerContext>(async (request, serverContext) => {
    const arrived = Date.now();
    const edge: EdgeContext = { requestId: requestIdOf(request), deadline: arrived + deadlineMs - margin };
    const route = routeOf(new URL(request.url).pathname);
    const handler = route && routes[route];
    const context = { ...serverContext, ...edge };
    let response: Response;
    if (!handler) response = notFound();
    else if (route === 'graphql') response = await admitted(handler, request, context, arrived + deadlineMs);
    else response = await handler(request, context);
    response.headers.set('x-request-id', edge.requestId);
    return response;
  });
}

export type Edge = ReturnType<typeof createEdge>;

/** How much a request asks the server to read: its declared body, or its query string. */
function bodyBytesOf(request: Request): number {
  if (request.method === 'GET') return request.url.length;
  const declared = Number(request.headers.get('content-length'));
  return Number.isSafeInteger(declared) && declared > 0 ? declared : 0;
}
