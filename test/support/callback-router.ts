import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The router's side of Apollo's HTTP callback protocol, as Apollo Router implements it: a callback
 * endpoint on loopback that records every message and answers 204 with `subscription-protocol:
 * callback/1.0` (or, per subscription, whatever a test tells it to), and a way to subscribe the
 * layer with it.
 */
export interface CallbackMessage {
  id: string;
  action: 'check' | 'next' | 'complete';
  verifier: string;
  payload?: { data?: Record<string, unknown> | null; errors?: unknown[] };
  errors?: { message: string; extensions?: Record<string, unknown> }[];
  /** The request's headers, as received. */
  headers: IncomingMessage['headers'];
  /** The path it was POSTed to. */
  path: string;
  at: number;
}

export interface CallbackRouter {
  /** `http://127.0.0.1:<port>/callback` */
  publicUrl: string;
  messages: CallbackMessage[];
  /** Messages of one subscription. */
  of(id: string): CallbackMessage[];
  /** Answers `status` (and `headers`) to the next `count` messages of subscription `id`; then 204 again. */
  answer(id: string, status: number, count?: number, headers?: Record<string, string>): void;
  /** Answers 404 to every later message of `id` (the router dropped it). */
  drop(id: string): void;
  /** Resolves with the first message matching. */
  waitFor(match: (m: CallbackMessage) => boolean, timeoutMs?: number): Promise<CallbackMessage>;
  /** POSTs a subscription to the layer with this router's callback extension. */
  subscribe(
    graphqlUrl: string,
    query: string,
    variables?: Record<string, unknown>,
    options?: { headers?: Record<string, string>; heartbeatIntervalMs?: number; id?: string; callbackUrl?: string },
  ): Promise<{ id: string; status: number; body: unknown; answeredAt: number }>;
  close(): Promise<void>;
}

export async function startCallbackRouter(): Promise<CallbackRouter> {
  const messages: CallbackMessage[] = [];
  const scripted = new Map<string, { status: number; count: number; headers: Record<string, string> }[]>();
  const dropped = new Set<string>();
  const waiters = new Set<() => void>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Omit<
        CallbackMessage,
        'headers' | 'path' | 'at'
      >;
      messages.push({ ...body, headers: req.headers, path: req.url ?? '', at: Date.now() });
      for (const wake of waiters) wake();
      const script = scripted.get(body.id)?.[0];
      if (script) {
        if (--script.count <= 0) scripted.get(body.id)?.shift();
        res.writeHead(script.status, script.headers).end();
        return;
      }
      if (dropped.has(body.id)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(204, { 'subscription-protocol': 'callback/1.0' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const publicUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;

  return {
    publicUrl,
    messages,
    of: (id) => messages.filter((m) => m.id === id),
    answer(id, status, count = 1, headers = {}) {
      scripted.set(id, [...(scripted.get(id) ?? []), { status, count, headers }]);
    },
    drop: (id) => dropped.add(id),
    waitFor(match, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(match);
          if (!found) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no matching callback message within ${timeoutMs} ms: ${JSON.stringify(messages.map((m) => [m.id, m.action]))}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async subscribe(graphqlUrl, query, variables = {}, options = {}) {
      const id = options.id ?? randomUUID();
      const res = await fetch(graphqlUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          // As Apollo Router sends it.
          accept: 'application/json;callbackSpec=1.0',
          ...options.headers,
        },
        body: JSON.stringify({
          query,
          variables,
          extensions: {
            subscription: {
              callbackUrl: options.callbackUrl ?? `${publicUrl}/${id}`,
              subscriptionId: id,
              verifier: `verifier-${id}`,
              heartbeatIntervalMs: options.heartbeatIntervalMs ?? 5000,
            },
          },
        }),
      });
      const answeredAt = Date.now();
      const text = await res.text();
      return { id, status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined, answeredAt };
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
