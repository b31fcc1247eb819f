import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createServerAdapter, sendNodeResponse, type ServerAdapterInitialContext } from '@whatwg-node/server';
import { ErrorCode } from '../error-codes.js';
import { OVERLOAD_RETRY_AFTER_SECONDS, type Admission, type AdmissionTicket } from './admission.js';
import { requestIdFrom } from './headers.js';
import { errorResponse, refuseUpgrade } from './responses.js';
import type { WireSlot } from './transports/wire.js';
import { NO_STORE } from './use-cache-control.js';

/**
 * The request edge: the one place that decides which route a request is. A route is its exact
 * path — the query string plays no part, and nothing else matches — so caller auth, probes,
 * metrics and GraphQL all obey the same decision. (Yoga's own routers match any URL that *ends*
 * with their endpoint, query string included; that is how `/health?/graphql` once reached GraphQL
 * without a caller token. Yoga now sees only requests for `/graphql`.)
 */
export const ROUTES = {
  root: '/',
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

/**
 * The path of a request target: the raw path of `node:http`'s `req.url` (`/graphql?x=1`), or the
 * path of an absolute URL (a request made with `fetch`). The raw target, not the URL the server
 * adapter builds from it and the `Host` header: a `Host` that holds a path must not move a
 * request to another route.
 */
export function pathOf(target: string): string {
  if (!target.startsWith('/')) return new URL(target).pathname;
  const end = target.search(/[?#]/);
  return end < 0 ? target : target.slice(0, end);
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
  /** An operation of a wire that is not an HTTP response (a WebSocket): where its result goes. */
  wire?: WireSlot;
}

/**
 * What the server adapter hands every request: under `node:http`, the request and response; for
 * an operation of a WebSocket, its upgrade request (the peer) and where its result goes.
 */
type ServerContext = Partial<ServerAdapterInitialContext> & {
  req?: IncomingMessage;
  res?: ServerResponse;
  wire?: WireSlot;
};

export type RouteHandler = (request: Request, context: EdgeContext & ServerContext) => Response | Promise<Response>;

/**
 * The GraphQL route under `node:http`: the response to a node request, made by the GraphQL
 * server's own adapter (`yoga.handleNodeRequestAndResponse`). A second server adapter in front of
 * it — one to route, one to run GraphQL — cost about 140 µs of CPU per request (`{ __typename }`:
 * ~450 instead of ~310 µs, `npm run bench`'s D), a third of the whole request.
 */
export type NodeGraphQLHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  context: EdgeContext & { req: IncomingMessage; res: ServerResponse },
) => Response | Promise<Response>;

export interface EdgeOptions {
  /** A handler per route; a route without one is a 404 like any unknown path. */
  routes: Partial<Record<Route, RouteHandler>>;
  /** `routes.graphql` for requests `node:http` serves (`listener`); `fetch` uses `routes.graphql`. */
  graphqlNode: NodeGraphQLHandler;
  /** Budget of one request, from its arrival to its response (`REQUEST_DEADLINE_MS`). */
  deadlineMs: number;
  /** Admission control of the GraphQL route (see `admission.ts`). */
  admission: Admission;
  /** Told of every request refused for overload, and which bound was full (metrics). */
  onOverload?: (bound: 'operations' | 'cost') => void;
  /** Takes over a WebSocket upgrade on `/graphql` (see `transports/websocket.ts`); none: refused. */
  upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

const notFound = () => errorResponse(404, ErrorCode.NOT_FOUND, 'Not found.');

/**
 * `/` serves nothing itself but points to `/graphql`, where people opening the server's address
 * look first: a browser follows the redirect to GraphiQL, any other client reads the body.
 */
export const rootRoute: RouteHandler = (request) => {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    const message = `Nothing is served at /: GraphQL is at ${ROUTES.graphql}.`;
    return errorResponse(405, ErrorCode.METHOD_NOT_ALLOWED, message, { allow: 'GET, HEAD' });
  }
  return Response.json(
    { message: `GraphQL is served at ${ROUTES.graphql} (GraphiQL in a browser).`, graphql: ROUTES.graphql },
    { status: 302, headers: { location: ROUTES.graphql } },
  );
};

const OVERLOADED_MESSAGE = 'The server is at capacity; retry shortly.';
const OVERLOADED_BODY = JSON.stringify({
  errors: [{ message: OVERLOADED_MESSAGE, extensions: { code: ErrorCode.OVERLOADED } }],
});

const overloaded = () =>
  errorResponse(503, ErrorCode.OVERLOADED, OVERLOADED_MESSAGE, {
    'retry-after': String(OVERLOAD_RETRY_AFTER_SECONDS),
  });

/** The time telli work stops before the response is due, so partial results can still be sent. */
export function deadlineMarginMs(deadlineMs: number): number {
  return Math.min(250, Math.floor(deadlineMs / 10));
}

/**
 * The request edge: routes each request, admits GraphQL work within the limits, answers every
 * GraphQL request by its deadline, and echoes the request id on every response. `listener` is
 * what `node:http` serves; `fetch` runs a request without a socket (tests).
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
   * GraphQL work, answered by the deadline whatever happens — queueing in the event loop
   * included. The ticket is held until the work itself ends, not just until the deadline's answer
   * (the work still costs memory and CPU until it stops), or until the connection closes: a
   * request whose client stopped sending its body never ends by itself (the body stream neither
   * ends nor fails when the socket goes), and must not hold a slot forever.
   */
  function admitted(
    handle: () => Response | Promise<Response>,
    res: ServerResponse | undefined,
    ticket: AdmissionTicket,
    respondBy: number,
  ) {
    res?.once('close', () => ticket.done());
    const handling = Promise.resolve()
      .then(handle)
      .finally(() => ticket.done());
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<Response>((resolve) => {
      timer = setTimeout(() => resolve(timedOut()), Math.max(0, respondBy - Date.now()));
    });
    return Promise.race([handling, late]).finally(() => clearTimeout(timer));
  }

  const adapter = createServerAdapter<ServerContext>(async (request, serverContext) => {
    const arrived = Date.now();
    const requestId = requestIdFrom(request.headers.get('x-request-id'));
    const edge: EdgeContext = { requestId, deadline: arrived + deadlineMs - margin };
    const route = routeOf(pathOf(serverContext.req?.url ?? request.url));
    const handler = route && routes[route];
    const context = { ...serverContext, ...edge };
    let response: Response;
    if (!handler) response = notFound();
    else if (route !== 'graphql') response = await handler(request, context);
    else {
      // Only `fetch` gets here with GraphQL: under node:http the listener admits and runs it.
      const ticket = admission.enter(bodyBytesOf(request.method, request.url, request.headers.get('content-length')));
      if (typeof ticket === 'string') {
        options.onOverload?.(ticket);
        response = overloaded();
      } else {
        response = await admitted(
          () => handler(request, { ...context, admission: ticket }),
          context.res,
          ticket,
          arrived + deadlineMs,
        );
      }
    }
    response.headers.set('x-request-id', requestId);
    // The edge's own GraphQL answers (overload, deadline) are kept by no cache either.
    if (route === 'graphql' && !response.headers.has('cache-control')) response.headers.set('cache-control', NO_STORE);
    return response;
  });

  /**
   * What `node:http` serves. A GraphQL request the limits refuse is answered right here, on the
   * bare `node:http` response: refusing must cost next to nothing, or a burst of refusals blocks
   * the event loop by itself (through the server adapter, each one cost about a millisecond —
   * its request object, and a body stream that pulled the unread body in). Node reads and drops
   * the unread body, and the connection stays usable.
   */
  function listener(req: IncomingMessage, res: ServerResponse): void {
    if (routeOf(pathOf(req.url ?? '/')) !== 'graphql') {
      void adapter.handle(req, res);
      return;
    }
    const ticket = admission.enter(bodyBytesOf(req.method ?? 'GET', req.url ?? '', req.headers['content-length']));
    if (typeof ticket === 'string') {
      options.onOverload?.(ticket);
      const requestId = requestIdFrom(req.headers['x-request-id']);
      res
        .writeHead(503, {
          'content-type': 'application/json; charset=utf-8',
          'retry-after': String(OVERLOAD_RETRY_AFTER_SECONDS),
          'cache-control': NO_STORE,
          'x-request-id': requestId,
        })
        .end(OVERLOADED_BODY);
      return;
    }
    const arrived = Date.now();
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const context = { requestId, deadline: arrived + deadlineMs - margin, admission: ticket, req, res };
    const handle = options.graphqlNode;
    // Echoed on every answer; writeHead merges it with the response's own headers. No cache keeps a
    // GraphQL answer: the default for the edge's own (deadline, failure), which a response's own
    // Cache-Control replaces.
    res.setHeader('x-request-id', requestId);
    res.setHeader('cache-control', NO_STORE);
    admitted(() => handle(req, res, context), res, ticket, arrived + deadlineMs)
      .catch(() => errorResponse(500, ErrorCode.INTERNAL_SERVER_ERROR, 'Unexpected error.'))
      // A response the deadline answered first is dropped here: sendNodeResponse writes nothing to
      // a response that has ended.
      .then((response) => sendNodeResponse(response, res, req, true))
      .catch(() => res.destroy());
  }

  /**
   * What `node:http` hands an upgrade request (its 'upgrade' event): the same exact-path decision
   * as for requests. Only `/graphql` upgrades, within admission; anything else is answered with a
   * written status and the socket closed — never left hanging, and never served as if it were a
   * plain request.
   */
  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A client that resets mid-handshake must not become an unhandled 'error' event.
    socket.on('error', () => socket.destroy());
    const headers = { 'x-request-id': requestIdFrom(req.headers['x-request-id']) };
    const route = routeOf(pathOf(req.url ?? '/'));
    if (!route || !routes[route]) {
      refuseUpgrade(socket, 404, ErrorCode.NOT_FOUND, 'Not found.', headers);
      return;
    }
    if (route !== 'graphql' || !options.upgrade) {
      const message = `Only ${ROUTES.graphql} takes an upgrade (GraphQL over WebSocket).`;
      refuseUpgrade(socket, 400, ErrorCode.BAD_REQUEST, message, headers);
      return;
    }
    const ticket = admission.enter(0);
    if (typeof ticket === 'string') {
      options.onOverload?.(ticket);
      refuseUpgrade(socket, 503, ErrorCode.OVERLOADED, OVERLOADED_MESSAGE, {
        ...headers,
        'retry-after': String(OVERLOAD_RETRY_AFTER_SECONDS),
      });
      return;
    }
    // The handshake is the work admitted; each operation on the connection is admitted on its own.
    try {
      options.upgrade(req, socket, head);
    } finally {
      ticket.done();
    }
  }

  // whatwg-node builds `fetch` as an arrow over the adapter, to be handed around, but types it as
  // overloaded methods: only taken as it is does it keep the overloads tests call it with.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  return { listener, fetch: adapter.fetch, upgrade };
}

export type Edge = ReturnType<typeof createEdge>;

/** How much a request asks the server to read: its declared body, or its query string. */
function bodyBytesOf(method: string, target: string, contentLength: string | string[] | null | undefined): number {
  if (method === 'GET') return target.length;
  const declared = Number(contentLength);
  return Number.isSafeInteger(declared) && declared > 0 ? declared : 0;
}
