import type { IncomingMessage } from 'node:http';
import type { CORSOptions } from 'graphql-yoga';
import { CSRF_HEADER } from './use-csrf-prevention.js';

/**
 * Which web pages may use the layer from a browser: those of its own origin (GraphiQL), and those
 * of the origins `CORS_ORIGINS` lists. A browser sends any page's requests to whatever address it
 * can reach — a layer on a developer's 127.0.0.1, one on an internal network — so without this a
 * page of any site the user visits could run operations there (mutations too, with the layer's own
 * telli key in server-key mode) and read the answers.
 *
 * HTTP: CORS is what lets a page read an answer, or send a JSON POST at all (its preflight). Only a
 * listed origin gets CORS headers, echoed exactly; any other gets none, and its browser keeps the
 * answer from it. Servers, gateways and other non-browser clients ignore CORS.
 *
 * WebSocket: browsers apply no CORS to a WebSocket, but say whose page opens it in `Origin`; an
 * upgrade from a page of another, unlisted origin is refused before the handshake. A client that
 * is not a browser sends no `Origin` (graphql-ws over `ws`, Node's own WebSocket, gateways).
 */

/** Request headers a listed origin's page may send besides the credentials (what GraphQL clients send). */
const CORS_REQUEST_HEADERS = [
  'accept',
  'content-type',
  'authorization',
  CSRF_HEADER,
  // Apollo Client's and Apollo Router's CSRF-prevention header, and its client awareness headers.
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'apollographql-client-name',
  'apollographql-client-version',
  'x-request-id',
  // W3C trace context, from browser OpenTelemetry instrumentation.
  'traceparent',
  'tracestate',
];

/** Response headers a listed origin's page may read besides the CORS-safelisted ones. */
const CORS_EXPOSED_HEADERS = ['x-request-id', 'retry-after', 'etag'];

/** How long a browser may reuse a preflight's answer (Chromium caps it at 2 hours). */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * Yoga's `cors` option: CORS headers for a listed origin only, none for any other (none at all
 * without `CORS_ORIGINS`). Yoga answers every preflight 204 before any plugin runs, so an unlisted
 * origin's preflight is a 204 without CORS headers — refused by the browser, and not mistaken for
 * another refusal (without this option, CSRF prevention would answer it). Yoga's own origin list
 * is not used: it names its only origin to every requester, and answers an unlisted one
 * `Access-Control-Allow-Origin: null`, which with credentials admits the pages whose origin is
 * `null` (sandboxed frames, `file:`).
 */
export function corsOption(
  origins: readonly string[],
  credentialHeaders: readonly string[],
): (request: Request) => CORSOptions {
  const listed = new Set(origins);
  const allowedHeaders = [...new Set([...CORS_REQUEST_HEADERS, ...credentialHeaders])];
  return (request) => {
    const origin = request.headers.get('origin');
    if (origin === null || !listed.has(origin)) return false;
    return {
      origin,
      credentials: true,
      methods: ['GET', 'POST'],
      allowedHeaders,
      exposedHeaders: CORS_EXPOSED_HEADERS,
      maxAge: PREFLIGHT_MAX_AGE_SECONDS,
    };
  };
}

/**
 * Whether an upgrade may open a WebSocket: no `Origin` (not a browser), the layer's own origin (its
 * host and port are the `Host` the browser sent with it), or a listed one. The scheme is not
 * compared: behind a TLS-terminating proxy a same-origin page is `https:` while the layer speaks
 * plain HTTP. Behind a proxy that rewrites `Host`, list the public origin.
 */
export function upgradeOriginAllowed(req: IncomingMessage, listed: ReadonlySet<string>): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (listed.has(origin)) return true;
  const host = req.headers.host;
  if (!host) return false;
  const page = URL.parse(origin);
  const self = URL.parse(`${page?.protocol ?? 'http:'}//${host}`);
  return page !== null && self !== null && page.origin !== 'null' && page.host === self.host;
}
