import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, request as httpRequest, type RequestListener, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A loopback port nobody listens on right now, for a process that must be told its port up front
 * (a Redis, a server whose start-up line is not logged). Anything started in-process listens on
 * port 0 instead (see `listen`).
 */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Serves `handler` on a free loopback port; `url` is its `/graphql` endpoint (a layer, a subgraph). */
export async function listen(handler: RequestListener): Promise<{ server: Server; url: string }> {
  const server = createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql` };
}

/** Resolves once `url` answers at all (any status), polling every 50 ms; rejects after `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await (await fetch(url)).arrayBuffer();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`, { cause: error });
      await sleep(50);
    }
  }
}

/**
 * What a WebSocket upgrade of `url` (a `/graphql` endpoint) is answered with: 101 when the
 * handshake goes through (the socket is then dropped), else the refusal's status and body.
 * `headers` adds to the handshake's (an `Origin`, say).
 */
export function upgradeAnswer(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(url, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        'sec-websocket-version': '13',
        'sec-websocket-protocol': 'graphql-transport-ws',
        ...headers,
      },
    });
    const timer = setTimeout(() => reject(new Error(`the upgrade of ${url} was left hanging`)), 5000);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('upgrade', (res, socket) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: res.statusCode ?? 101, body: '' });
    });
    req.on('error', reject);
    req.end();
  });
}
