import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startLayerProcess, type RunningProcess } from './support/process.js';
import { upgradeAnswer } from './support/net.js';

/**
 * Which web pages may use the layer from a browser, against the built server (`dist/server.js`):
 * by default none but its own — no CORS header for any other origin, and a WebSocket upgrade from
 * another origin's page refused — and with CORS_ORIGINS, the listed origins exactly. What a
 * browser would do with the answers follows from the headers asserted here (the Fetch standard);
 * clients that are not browsers send no `Origin` and are unaffected.
 */
const LISTED = 'https://app.example.com';
const ALSO_LISTED = 'http://localhost:5173';
const FOREIGN = 'https://evil.example';
const QUERY = JSON.stringify({ query: '{ telliService { name } }' });

let closed: RunningProcess;
let open: RunningProcess;
beforeAll(async () => {
  [closed, open] = await Promise.all([
    startLayerProcess({}),
    // Written as an operator might: spaces, a trailing slash, upper case; read as origins.
    startLayerProcess({ CORS_ORIGINS: ` HTTPS://App.Example.com/ , ${ALSO_LISTED}` }),
  ]);
});
afterAll(async () => {
  await Promise.all([closed, open].map((p) => p?.server.stop()));
});

/** A browser's preflight of a JSON POST with a bearer token, from a page of `origin`. */
const preflight = (server: RunningProcess, origin: string) =>
  fetch(server.graphqlUrl, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type',
    },
  });

/** A JSON POST as a page of `origin` sends it once its preflight passed. */
const post = (server: RunningProcess, origin: string) =>
  fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { origin, 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: QUERY,
  });

/** The CORS headers of an answer (all of them start alike). */
const corsHeaders = (res: Response) =>
  Object.fromEntries([...res.headers].filter(([name]) => name.startsWith('access-control-')));

/** Runs a query over GraphQL over WebSocket with graphql-ws's client, `ws` sending `origin`. */
async function queryOverWebSocket(server: RunningProcess, origin: string | undefined) {
  class OriginWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, origin === undefined ? {} : { origin });
    }
  }
  const client = createClient({
    url: server.graphqlUrl.replace(/^http/, 'ws'),
    webSocketImpl: OriginWebSocket,
    retryAttempts: 0,
    lazy: true,
  });
  try {
    return await new Promise<unknown>((resolve, reject) => {
      let result: unknown;
      client.subscribe(
        { query: '{ telliService { name } }' },
        { next: (r) => (result = r), error: reject, complete: () => resolve(result) },
      );
    });
  } finally {
    await client.dispose();
  }
}
const SERVICE = { data: { telliService: { name: 'telli-graphql' } } };

describe('without CORS_ORIGINS', () => {
  it('gives a preflight from another origin no CORS header, so a browser sends nothing', async () => {
    const res = await preflight(closed, FOREIGN);
    await res.arrayBuffer();
    expect({ status: res.status, cors: corsHeaders(res) }).toEqual({ status: 204, cors: {} });
  });

  it('gives a POST from another origin no CORS header, so its page cannot read the answer', async () => {
    const res = await post(closed, FOREIGN);
    // Runs as for any client that is not a browser (a server ignores CORS); the browser keeps it.
    expect(await res.json()).toEqual(SERVICE);
    expect(corsHeaders(res)).toEqual({});
  });

  it('refuses a WebSocket upgrade from another origin’s page with 403 ORIGIN_NOT_ALLOWED', async () => {
    const answer = await upgradeAnswer(closed.graphqlUrl, { origin: FOREIGN });
    expect({ status: answer.status, code: codeOf(answer.body) }).toEqual({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
    // An opaque origin (a sandboxed frame, a file: page) is another origin too.
    expect((await upgradeAnswer(closed.graphqlUrl, { origin: 'null' })).status).toBe(403);
  });

  it('takes a WebSocket without Origin (not a browser) and one from its own origin', async () => {
    expect((await upgradeAnswer(closed.graphqlUrl)).status).toBe(101);
    expect((await upgradeAnswer(closed.graphqlUrl, { origin: closed.url })).status).toBe(101);
    // Behind a TLS-terminating proxy a page of the same host is https: while the layer is not.
    const https = closed.url.replace(/^http:/, 'https:');
    expect((await upgradeAnswer(closed.graphqlUrl, { origin: https })).status).toBe(101);
    await expect(queryOverWebSocket(closed, undefined)).resolves.toEqual(SERVICE);
    await expect(queryOverWebSocket(closed, closed.url)).resolves.toEqual(SERVICE);
  });
});

describe('with CORS_ORIGINS', () => {
  it('answers a listed origin’s preflight with that origin, credentials and the headers clients send', async () => {
    const res = await preflight(open, LISTED);
    await res.arrayBuffer();
    expect(res.status).toBe(204);
    const headers = corsHeaders(res);
    expect(headers).toMatchObject({
      'access-control-allow-origin': LISTED,
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, POST',
    });
    const allowed = (headers['access-control-allow-headers'] ?? '').split(', ');
    expect(allowed).toEqual(
      expect.arrayContaining([
        'content-type',
        'authorization',
        'x-graphql-yoga-csrf',
        'apollo-require-preflight',
        'x-apollo-operation-name',
      ]),
    );
  });

  it('lets a listed origin’s page read a POST’s answer, and each listed origin gets its own', async () => {
    for (const origin of [LISTED, ALSO_LISTED]) {
      const res = await post(open, origin);
      expect(await res.json()).toEqual(SERVICE);
      expect(corsHeaders(res)).toMatchObject({
        'access-control-allow-origin': origin,
        'access-control-allow-credentials': 'true',
      });
    }
  });

  it('gives an origin it does not list no CORS header, `null` included', async () => {
    for (const origin of [FOREIGN, 'null', 'https://app.example.com:8443', 'http://app.example.com']) {
      const before = await preflight(open, origin);
      await before.arrayBuffer();
      const res = await post(open, origin);
      await res.arrayBuffer();
      expect({ origin, preflight: before.status, cors: [corsHeaders(before), corsHeaders(res)] }).toEqual({
        origin,
        preflight: 204,
        cors: [{}, {}],
      });
    }
  });

  it('says a GET answer varies with Origin, so no cache hands one origin’s answer to another', async () => {
    const res = await fetch(`${open.graphqlUrl}?query=${encodeURIComponent('{ telliService { name } }')}`, {
      headers: { origin: LISTED, accept: 'application/graphql-response+json' },
    });
    await res.arrayBuffer();
    expect(res.headers.get('access-control-allow-origin')).toBe(LISTED);
    expect((res.headers.get('vary') ?? '').split(', ')).toContain('origin');
  });

  it('takes a WebSocket from a listed origin’s page, and refuses one from another', async () => {
    expect((await upgradeAnswer(open.graphqlUrl, { origin: LISTED })).status).toBe(101);
    await expect(queryOverWebSocket(open, ALSO_LISTED)).resolves.toEqual(SERVICE);
    expect((await upgradeAnswer(open.graphqlUrl, { origin: FOREIGN })).status).toBe(403);
    await expect(queryOverWebSocket(open, FOREIGN)).rejects.toBeDefined();
  });
});

function codeOf(body: string): unknown {
  const parsed = JSON.parse(body) as { errors?: { extensions?: { code?: unknown } }[] };
  return parsed.errors?.[0]?.extensions?.code;
}
