import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { parse, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { CloseCode, handleProtocols, makeServer, type SubscribePayload } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { ErrorCode } from '../../error-codes.js';
import type { Logger } from '../../logger.js';
import { upgradeOriginAllowed } from '../origins.js';
import { refuseUpgrade } from '../responses.js';
import type { WireResult, WireSlot } from './wire.js';

/**
 * GraphQL over WebSocket (`graphql-transport-ws`, the graphql-ws library's protocol: Apollo's
 * GraphQLWsLink, urql's and Relay's usual setups, Apollo Router's and Cosmo's subgraph
 * subscriptions), by upgrade on `/graphql` itself. The edge decides which upgrades reach this.
 *
 * Each operation on a connection goes down the GraphQL route as a request of its own (see
 * `wire.ts`): a JSON POST carrying the connection's credentials, so caller auth, trusted
 * documents, the limits and the subscription rules are the HTTP route's, not a second copy. The
 * credentials are those of the upgrade request — what gateways send — or, for each header the
 * upgrade lacks, the `connectionParams` entry under the header's name: a browser's WebSocket
 * cannot set headers. With caller tokens, the token is also checked when the connection opens,
 * before `connection_ack`: without a valid one the connection closes with 4403 and a reason
 * naming the header (a browser sees the code and reason of a completed handshake only; an HTTP
 * refusal of the upgrade reaches it as a bare 1006).
 *
 * A WebSocket carries no ambient credential: a page can only send credentials it already has, as
 * with a fetch. But browsers apply no CORS to it, so an upgrade from a page of another origin is
 * refused unless CORS_ORIGINS lists it (`origins.ts`): with the layer's own telli key, such a
 * page could otherwise run anything. Operations of every kind run, mutations too (Apollo's
 * GraphQLWsLink may send everything over the socket).
 */
export interface WebSocketTransportOptions {
  /** Runs one operation request through the GraphQL route (the edge's `fetch`, with the connection's peer). */
  run(request: Request, context: { req: IncomingMessage; wire: WireSlot }): Response | Promise<Response>;
  /** The GraphQL schema (graphql-ws hands it back to `execute`/`subscribe`, which do not use it). */
  schema: GraphQLSchema;
  /** With caller tokens: the header and its check (`useCallerAuth`'s). */
  callerAuth: { header: string; isValid(token: string | null | undefined): boolean } | undefined;
  /**
   * Headers an operation takes from the upgrade request, else from `connectionParams` (lower-case):
   * the credentials, and the request id.
   */
  forwardedHeaders: readonly string[];
  /** Largest message a client may send (`MAX_BODY_BYTES`); larger closes the connection (1009). */
  maxPayloadBytes: number;
  /**
   * Origins (`CORS_ORIGINS`) whose pages may open a connection besides the layer's own; an upgrade
   * from another page is refused (403), see `origins.ts`.
   */
  allowedOrigins: ReadonlySet<string>;
  /** Connections open at once; more are refused at the upgrade (503). */
  maxConnections: number;
  logger: Logger;
  /** A ping every this many ms; a client that has not answered the previous one by then is cut. */
  keepAliveMs?: number;
  /** Told the number of open connections whenever it changes (metrics). */
  onConnections?(open: number): void;
}

export interface WebSocketTransport {
  /** Takes over an upgrade on `/graphql` the edge admitted. */
  handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Connections open now. */
  connections(): number;
  /**
   * Shutdown: refuses new upgrades; once every operation of a connection has ended (the hub
   * completes the subscriptions first, so clients get `complete`), closes it with 1001 "Going
   * away", which clients take as a cue to reconnect elsewhere; cuts what is left after `timeoutMs`.
   */
  close(timeoutMs: number): Promise<void>;
}

/** What graphql-ws keeps per connection (`ctx.extra`). */
interface Connection {
  socket: WebSocket;
  request: IncomingMessage;
  /** The credentials every operation of the connection carries, settled at `connection_init`. */
  headers: Headers;
  /** Operations running (or streaming), by id: aborting one stops its telli work. */
  operations: Map<string, AbortController>;
}

/** What an operation's own id is passed as (graphql-ws's `contextValue`, which nothing else reads). */
interface Operation {
  connection: Connection;
  id: string;
  payload: SubscribePayload;
}

/**
 * graphql-ws asks for a document only to choose between its `execute` and `subscribe`. Both run
 * the operation down the GraphQL route here, which parses, validates and picks the operation
 * itself (and may find it in the trusted-documents manifest, with no document sent at all).
 */
const ROUTED_OPERATION = parse('subscription { __typename }');

/** What `Headers` accepts as a value (RFC 9110 field-value, no line breaks), not empty. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]+$/;

/**
 * graphql-ws types what `execute` and `subscribe` return as graphql-js results; ours are already
 * the JSON an answer carries, which `onNext` sends as it is.
 */
const routed = (result: Promise<WireResult | AsyncIterableIterator<WireResult>>) =>
  result as Promise<ExecutionResult | AsyncIterableIterator<ExecutionResult>>;

/** A reason fits a close frame in 123 bytes. */
const closeReason = (text: string) => Buffer.from(text).subarray(0, 123).toString();

export function createWebSocketTransport(options: WebSocketTransportOptions): WebSocketTransport {
  const log = options.logger.child({ component: 'websocket' });
  const keepAliveMs = options.keepAliveMs ?? 12_000;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxPayloadBytes,
    // A client without the subprotocol completes its handshake and is closed with 4406.
    handleProtocols: (protocols) => handleProtocols(protocols) || false,
    // Compression would cost CPU per message for events of a few hundred bytes.
    perMessageDeflate: false,
  });
  const open = new Set<Connection>();
  let closing = false;
  const changed = () => options.onConnections?.(open.size);

  const server = makeServer<Record<string, unknown> | undefined, Connection>({
    onConnect(ctx) {
      const connection = ctx.extra;
      connection.headers = forwardedHeadersOf(connection.request, ctx.connectionParams, options.forwardedHeaders);
      const auth = options.callerAuth;
      if (!auth || auth.isValid(connection.headers.get(auth.header))) return true;
      connection.socket.close(
        CloseCode.Forbidden,
        closeReason(`Missing or invalid ${auth.header}: send it as a header of the upgrade, or in connectionParams.`),
      );
      return false;
    },
    onSubscribe: (ctx, id, payload) => ({
      schema: options.schema,
      document: ROUTED_OPERATION,
      contextValue: { connection: ctx.extra, id, payload } satisfies Operation,
    }),
    execute: (args) => routed(runOperation(args.contextValue as Operation)),
    subscribe: (args) => routed(runOperation(args.contextValue as Operation)),
    // Results are already the JSON an HTTP answer carries (wire.ts): sent as they are.
    onNext: (_ctx, _id, _payload, _args, result) => result,
    onComplete(ctx, id) {
      ctx.extra.operations.delete(id);
    },
  });

  /** One operation down the GraphQL route; never throws (graphql-ws would close the connection). */
  async function runOperation(operation: Operation): Promise<WireResult | AsyncIterableIterator<WireResult>> {
    const { connection, id, payload } = operation;
    const controller = new AbortController();
    connection.operations.set(id, controller);
    const body = JSON.stringify({
      // graphql-ws requires a string: an empty one names a trusted document by its id instead.
      ...(payload.query && { query: payload.query }),
      ...(payload.variables && { variables: payload.variables }),
      ...(payload.operationName && { operationName: payload.operationName }),
      ...(payload.extensions && { extensions: payload.extensions }),
    });
    const headers = new Headers(connection.headers);
    headers.set('content-type', 'application/json');
    headers.set('accept', 'application/graphql-response+json');
    headers.set('content-length', String(Buffer.byteLength(body)));
    const request = new Request(`http://${connection.request.headers.host ?? 'localhost'}/graphql`, {
      method: 'POST',
      headers,
      body,
      signal: controller.signal,
    });
    const wire: WireSlot = {};
    try {
      const response = await options.run(request, { req: connection.request, wire });
      if (!wire.result) return await refusalOf(response);
      if (!(Symbol.asyncIterator in wire.result)) return wire.result;
      // The client completes the subscription, or the connection goes: its telli work stops too.
      const stream = wire.result;
      const end = stream.return?.bind(stream);
      stream.return = async () => {
        controller.abort();
        return end ? end() : { value: undefined, done: true };
      };
      return stream;
    } catch (error) {
      log.error({ err: error, operationId: id }, 'a WebSocket operation failed');
      return { errors: [{ message: 'Unexpected error.', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } }] };
    }
  }

  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const connection: Connection = { socket, request, headers: new Headers(), operations: new Map() };
    open.add(connection);
    changed();
    let alive = true;
    socket.on('pong', () => (alive = true));
    const ping = setInterval(() => {
      if (!alive) {
        socket.terminate();
        return;
      }
      alive = false;
      socket.ping();
    }, keepAliveMs);
    // A protocol error of the client's (a frame over maxPayload, say): ws closes the socket.
    socket.on('error', (error) => log.debug({ err: error.message }, 'WebSocket closed on a protocol error'));
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (receive) =>
          socket.on('message', (data: Buffer, isBinary: boolean) => {
            receive(isBinary ? '' : data.toString()).catch((error: unknown) => {
              log.error({ err: error }, 'a WebSocket message could not be handled');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      connection,
    );
    socket.once('close', (code: number, reason: Buffer) => {
      clearInterval(ping);
      for (const controller of connection.operations.values()) controller.abort();
      open.delete(connection);
      changed();
      void closed(code, reason.toString());
    });
  });

  return {
    handleUpgrade(req, socket, head) {
      if (!upgradeOriginAllowed(req, options.allowedOrigins)) {
        refuseUpgrade(
          socket,
          403,
          ErrorCode.ORIGIN_NOT_ALLOWED,
          'A WebSocket from a web page of another origin is refused: the operator lists the origins allowed in CORS_ORIGINS.',
        );
        return;
      }
      if (closing) {
        refuseUpgrade(socket, 503, ErrorCode.OVERLOADED, 'The server is shutting down; connect again.', {
          'retry-after': '1',
        });
        return;
      }
      if (open.size >= options.maxConnections) {
        refuseUpgrade(
          socket,
          503,
          ErrorCode.OVERLOADED,
          `This server has ${options.maxConnections} WebSocket connections open, its limit; retry shortly.`,
          { 'retry-after': '1' },
        );
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    },
    connections: () => open.size,
    async close(timeoutMs) {
      closing = true;
      const deadline = Date.now() + timeoutMs;
      await Promise.all(
        [...open].map(async (connection) => {
          while (connection.operations.size > 0 && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
          // `complete` was handed to the socket before `onComplete` returned; the close frame follows it.
          connection.socket.close(1001, 'Going away');
        }),
      );
      while (open.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      for (const connection of open) connection.socket.terminate();
      wss.close();
    },
  };
}

/**
 * The headers an operation carries: each of `names` from the upgrade request, else the
 * `connectionParams` entry of that name (any case; a string that is a valid header value).
 * Nothing else of either travels.
 */
export function forwardedHeadersOf(
  request: IncomingMessage,
  connectionParams: Record<string, unknown> | undefined,
  names: readonly string[],
): Headers {
  const headers = new Headers();
  const params = new Map(Object.entries(connectionParams ?? {}).map(([key, value]) => [key.toLowerCase(), value]));
  for (const name of names) {
    const fromUpgrade = request.headers[name];
    const value = typeof fromUpgrade === 'string' ? fromUpgrade : params.get(name);
    if (typeof value === 'string' && HEADER_VALUE.test(value)) headers.set(name, value);
  }
  return headers;
}

/** An HTTP refusal of the route (401, 413, 503, 504…) as the result a wire sends. */
async function refusalOf(response: Response): Promise<WireResult> {
  try {
    const body = (await response.json()) as WireResult;
    if (Array.isArray(body.errors) && body.errors.length > 0) return body;
  } catch {
    // not JSON: fall through
  }
  return {
    errors: [
      {
        message: `The request was refused (HTTP ${response.status}).`,
        extensions: { code: ErrorCode.BAD_REQUEST },
      },
    ],
  };
}
