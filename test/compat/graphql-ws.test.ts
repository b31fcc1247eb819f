/**
 * graphql-ws clients (`graphql-transport-ws`: Apollo's GraphQLWsLink, urql's and Relay's usual
 * setups, gateways' WebSocket subgraph transports) by upgrade on `/graphql` itself. In Node the
 * client runs over `ws`; a gateway puts its headers on the upgrade request, a browser can only put
 * them in `connectionParams`. Everything is the library's default except `retryAttempts: 0`: a
 * refusal must show at once, not after five reconnects with backoff.
 */
import type { FormattedExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningProcess } from '../support/process.js';
import {
  openSubscriptions,
  startSandboxLayer,
  startTelliLayer,
  STATUS_CHANGED,
  until,
  type StatusChangedData,
  type TelliLayer,
} from './support.js';

const TOKEN = 'gateway-token-compat-graphql-ws-0123456789';

/** A `WebSocket` for graphql-ws that sends `headers` with the upgrade request, as a gateway does. */
function webSocketWithHeaders(headers: Record<string, string>): unknown {
  return class extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  };
}

interface Watched {
  client: Client;
  results: FormattedExecutionResult<StatusChangedData, unknown>[];
  errors: unknown[];
  completed: boolean;
  closes: { code: number; reason: string }[];
  dispose(): Promise<void>;
}

/** Subscribes to one contact's status changes and records everything the client reports. */
function watch(
  graphqlUrl: string,
  contactId: string,
  options: { headers?: Record<string, string>; connectionParams?: Record<string, string> } = {},
): Watched {
  const closes: { code: number; reason: string }[] = [];
  const client = createClient({
    url: graphqlUrl.replace(/^http/, 'ws'),
    webSocketImpl: options.headers ? webSocketWithHeaders(options.headers) : WebSocket,
    ...(options.connectionParams && { connectionParams: options.connectionParams }),
    retryAttempts: 0,
    on: {
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string | Buffer };
        closes.push({ code, reason: String(reason) });
      },
    },
  });
  const watched: Watched = {
    client,
    results: [],
    errors: [],
    completed: false,
    closes,
    async dispose() {
      unsubscribe();
      await client.dispose();
    },
  };
  const unsubscribe = client.subscribe<StatusChangedData>(
    { query: STATUS_CHANGED, variables: { ids: [contactId] } },
    {
      next: (result) => watched.results.push(result),
      error: (error) => watched.errors.push(error),
      complete: () => (watched.completed = true),
    },
  );
  return watched;
}

/** What the client reported: an Error, the `ws` error event (`message`), or a close event. */
const describeError = (error: unknown): string => {
  if (error instanceof Error) return error.message;
  if (typeof error !== 'object' || error === null) return String(error);
  const { message, code, reason } = error as { message?: unknown; code?: unknown; reason?: unknown };
  if (typeof message === 'string') return message;
  if (code !== undefined) return `close ${String(code)} ${String(reason)}`;
  return JSON.stringify(error);
};

/** Waits for the subscription to be open on the server, or for the client to report why not. */
async function opened(layer: RunningProcess, sub: Watched, count = 1): Promise<void> {
  await until(
    async () => sub.errors.length > 0 || sub.completed || (await openSubscriptions(layer)) >= count,
    'the subscription to open',
  );
  expect(sub.errors.map(describeError)).toEqual([]);
}

describe('graphql-ws by upgrade on /graphql (server key, no caller auth)', () => {
  let telli: TelliLayer;
  beforeAll(async () => {
    telli = await startTelliLayer();
  });
  afterAll(async () => {
    await telli?.close();
  });

  it('receives a status change, and the server forgets the subscription when the client leaves', async () => {
    const contact = telli.contacts[6]!;
    const sub = watch(telli.layer.graphqlUrl, contact.id);
    try {
      await opened(telli.layer, sub);
      await telli.statusChanged(contact.id, 'new');
      await until(() => sub.results.length > 0 || sub.errors.length > 0, 'the first event');
      expect(sub.errors.map(describeError)).toEqual([]);
      expect(sub.results[0]).toEqual({
        data: {
          contactStatusChanged: { contact: { id: contact.id, firstName: contact.firstName }, webhookStatus: 'new' },
        },
      });
    } finally {
      await sub.dispose();
    }
    await until(async () => (await openSubscriptions(telli.layer)) === 0, 'the subscription to close');
  });

  it('an upgrade on any other path is refused with a 4xx status at once', async () => {
    for (const path of ['/health', '/graphql/', '/graphql/x', '/nope', '/webhooks/telli']) {
      const status = await new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(`${telli.layer.url.replace(/^http/, 'ws')}${path}`, 'graphql-transport-ws');
        const timer = setTimeout(() => reject(new Error(`upgrade on ${path} left hanging`)), 5000);
        socket.once('unexpected-response', (_request, response) => {
          clearTimeout(timer);
          resolve(response.statusCode ?? 0);
          socket.terminate();
        });
        socket.once('open', () => {
          clearTimeout(timer);
          socket.terminate();
          resolve(101);
        });
        socket.once('error', () => undefined);
      });
      expect({ path, status }).toEqual({ path, status: expect.toSatisfy((s: number) => s >= 400 && s < 500) });
    }
  });
});

describe('graphql-ws with caller auth (CALLER_TOKENS)', () => {
  let telli: TelliLayer;
  beforeAll(async () => {
    telli = await startTelliLayer({
      env: { CALLER_TOKENS: TOKEN, SUBSCRIPTIONS_MAX_PER_CALLER: '1', SUBSCRIPTIONS_MAX_PER_PEER: '1' },
    });
  });
  afterAll(async () => {
    await telli?.close();
  });

  async function receivesEvent(sub: Watched, contactId: string) {
    try {
      await opened(telli.layer, sub);
      await telli.statusChanged(contactId, 'new');
      await until(() => sub.results.length > 0 || sub.errors.length > 0, 'the first event');
      expect(sub.errors.map(describeError)).toEqual([]);
      expect(sub.results[0]?.data?.contactStatusChanged.contact.id).toBe(contactId);
    } finally {
      await sub.dispose();
    }
    await until(async () => (await openSubscriptions(telli.layer)) === 0, 'the subscription to close');
  }

  it('takes the caller token from the upgrade request headers (what gateways send)', async () => {
    const contact = telli.contacts[7]!;
    await receivesEvent(
      watch(telli.layer.graphqlUrl, contact.id, { headers: { 'x-caller-token': TOKEN } }),
      contact.id,
    );
  });

  it('takes the caller token from connectionParams under the header name (what browsers can send)', async () => {
    const contact = telli.contacts[8]!;
    await receivesEvent(
      watch(telli.layer.graphqlUrl, contact.id, { connectionParams: { 'x-caller-token': TOKEN } }),
      contact.id,
    );
  });

  it('without a valid token: closed with 4403 and a reason that names the header, before anything starts', async () => {
    const contact = telli.contacts[9]!;
    for (const options of [{}, { connectionParams: { 'x-caller-token': 'wrong-token-0123456789abcdef' } }]) {
      const sub = watch(telli.layer.graphqlUrl, contact.id, options);
      try {
        await until(() => sub.closes.length > 0 || sub.errors.length > 0, 'the refusal');
        expect(sub.closes[0]).toEqual({ code: 4403, reason: expect.stringContaining('x-caller-token') });
        expect(sub.results).toEqual([]);
        expect(await openSubscriptions(telli.layer)).toBe(0);
      } finally {
        await sub.dispose();
      }
    }
  });

  it('a gateway with its caller token is not limited per caller or per peer (one caller, one address, many clients)', async () => {
    const [a, b] = [telli.contacts[10]!, telli.contacts[11]!];
    const first = watch(telli.layer.graphqlUrl, a.id, { headers: { 'x-caller-token': TOKEN } });
    const second = watch(telli.layer.graphqlUrl, b.id, { headers: { 'x-caller-token': TOKEN } });
    try {
      await opened(telli.layer, first);
      await opened(telli.layer, second, 2);
    } finally {
      await first.dispose();
      await second.dispose();
    }
    await until(async () => (await openSubscriptions(telli.layer)) === 0, 'the subscriptions to close');
  });
});

describe('graphql-ws forwarding the caller’s telli key (TELLI_AUTH=forward)', () => {
  let telli: TelliLayer;
  beforeAll(async () => {
    telli = await startTelliLayer({ auth: 'forward', env: { SUBSCRIPTIONS_MAX_PER_CALLER: '1' } });
  });
  afterAll(async () => {
    await telli?.close();
  });

  it('takes the telli key from connectionParams.authorization, and re-reads the contact with it', async () => {
    const contact = telli.contacts[12]!;
    const sub = watch(telli.layer.graphqlUrl, contact.id, {
      connectionParams: { authorization: `Bearer ${telli.key}` },
    });
    try {
      await opened(telli.layer, sub);
      await telli.statusChanged(contact.id, 'new');
      await until(() => sub.results.length > 0 || sub.errors.length > 0, 'the first event');
      expect(sub.errors.map(describeError)).toEqual([]);
      expect(sub.results[0]?.data?.contactStatusChanged.contact).toEqual({
        id: contact.id,
        firstName: contact.firstName,
      });
    } finally {
      await sub.dispose();
    }
    await until(async () => (await openSubscriptions(telli.layer)) === 0, 'the subscription to close');
  });

  it('the per-caller subscription limit holds over WebSocket too (TOO_MANY_SUBSCRIPTIONS)', async () => {
    const [a, b] = [telli.contacts[10]!, telli.contacts[11]!];
    const connectionParams = { authorization: `Bearer ${telli.key}` };
    const first = watch(telli.layer.graphqlUrl, a.id, { connectionParams });
    let second: Watched | undefined;
    try {
      await opened(telli.layer, first);
      // The second starts only once the first holds the caller's one slot: started together,
      // either could win it.
      second = watch(telli.layer.graphqlUrl, b.id, { connectionParams });
      const refused = second;
      await until(
        () => refused.errors.length > 0 || refused.results.length > 0,
        'the second subscription to be refused',
      );
      const codes = [...refused.errors, ...refused.results]
        .flatMap((e) => (Array.isArray(e) ? e : ((e as { errors?: unknown[] }).errors ?? [])))
        .map((e) => (e as { extensions?: { code?: string } }).extensions?.code);
      expect(codes).toContain('TOO_MANY_SUBSCRIPTIONS');
    } finally {
      await first.dispose();
      await second?.dispose();
    }
  });
});

describe('graphql-ws on shutdown', () => {
  let layer: RunningProcess;
  beforeAll(async () => {
    layer = await startSandboxLayer();
  });
  afterAll(async () => {
    await layer?.server.stop();
  });

  it('SIGTERM completes the open subscription: the client sees complete, not an error', async () => {
    const sub = watch(layer.graphqlUrl, '3c90c3cc-0d44-4b50-8888-8dd25736052a');
    try {
      await opened(layer, sub);
      await layer.server.stop('SIGTERM');
      await until(() => sub.completed || sub.errors.length > 0, 'the subscription to end');
      expect(sub.errors.map(describeError)).toEqual([]);
      expect(sub.completed).toBe(true);
    } finally {
      await sub.dispose();
    }
  });
});
