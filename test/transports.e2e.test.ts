import { createServer, request, type ServerOptions } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { FormattedExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startSandbox, type RunningSandbox, type SandboxContact } from '../src/sandbox/index.js';
import { startCallbackRouter, type CallbackRouter } from './support/callback-router.js';
import { startLayerProcess, type RunningProcess } from './support/process.js';
import { upgradeAnswer as upgradeAnswerOf } from './support/net.js';
import { deliverStatusChanged, subscribe, testSecret } from './support/sse.js';

/**
 * The wires a subscription (or any operation) can arrive on besides SSE, against the built server
 * (`dist/server.js`, what `npm start` runs) in telli mode over a sandbox on loopback: GraphQL over
 * WebSocket, Apollo's multipart protocol and Apollo's HTTP callback protocol (with a router of our
 * own that records every callback). The real client libraries on their defaults are the compat
 * suite's (test/compat/); these pin down each wire's edges: refusals, framing, limits, failures.
 */
const STATUS_CHANGED = `subscription ($ids: [ID!]) {
  contactStatusChanged(contactIds: $ids) { contact { id firstName } webhookStatus }
}`;

interface TelliMode {
  telli: RunningSandbox;
  layer: RunningProcess;
  key: string;
  contacts: SandboxContact[];
  statusChanged(contactId: string, status?: string): Promise<void>;
  openSubscriptions(): Promise<number>;
  metric(name: string): Promise<string>;
  close(): Promise<void>;
}

async function startTelliMode(env: Record<string, string> = {}, auth: 'server' | 'forward' = 'server') {
  const key = `tk_live_transports_${randomBytes(8).toString('hex')}`;
  const secret = testSecret();
  const telli = await startSandbox({ apiKeys: [key] });
  const layer = await startLayerProcess({
    ...(auth === 'server' ? { TELLI_API_KEY: key } : { TELLI_AUTH: 'forward' }),
    TELLI_BASE_URL: telli.url,
    TELLI_WEBHOOK_SECRET: secret,
    ...env,
  });
  const metric = async (name: string) => {
    const text = await (await fetch(`${layer.url}/metrics`)).text();
    return text
      .split('\n')
      .filter((line) => line.startsWith(name))
      .join('\n');
  };
  const mode: TelliMode = {
    telli,
    layer,
    key,
    contacts: [...telli.contacts.values()],
    async statusChanged(contactId, status = 'new') {
      expect((await deliverStatusChanged(layer.url, secret, contactId, status)).status).toBe(200);
    },
    openSubscriptions: async () => Number((await metric('telli_subscriptions_open')).split(' ').at(-1) ?? 0),
    metric,
    async close() {
      await layer.server.stop();
      await telli.close();
    },
  };
  return mode;
}

async function until(probe: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A graphql-ws client on its defaults, but with no reconnects (a refusal shows at once). */
function wsClient(graphqlUrl: string, options: { connectionParams?: Record<string, string>; lazy?: boolean } = {}) {
  const closes: { code: number; reason: string }[] = [];
  const client = createClient({
    url: graphqlUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    // A non-lazy client reports its socket's close here (console.error by default).
    onNonLazyError: () => undefined,
    ...options,
    on: {
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: Buffer | string };
        closes.push({ code, reason: String(reason) });
      },
    },
  });
  return { client, closes };
}

/** Runs one operation over the socket: every result, and the error the client reported, if any. */
async function run(client: Client, query: string, variables: Record<string, unknown> = {}, extensions = {}) {
  const results: FormattedExecutionResult[] = [];
  const error = await new Promise<unknown>((resolve) =>
    client.subscribe(
      { query, variables, extensions },
      { next: (r) => results.push(r as FormattedExecutionResult), error: resolve, complete: () => resolve(undefined) },
    ),
  );
  return { results, error };
}
const codes = (result: FormattedExecutionResult | undefined) =>
  (result?.errors ?? []).map((e) => e.extensions?.['code']);

/** What an upgrade request to `path` is answered with (`upgrade`: the protocol asked for). */
const upgradeAnswer = (url: string, path: string, upgrade = 'websocket') =>
  upgradeAnswerOf(`${url}${path}`, { upgrade });

describe('GraphQL over WebSocket', () => {
  // Node reads `shouldUpgradeCallback` from 22.21 / 24.9 on (the image's Node); older ones hand the
  // edge every upgrade, which refuses one that is not a WebSocket's (the next test).
  const nodeChoosesUpgrades =
    typeof (
      createServer({ shouldUpgradeCallback: () => false } as ServerOptions) as { shouldUpgradeCallback?: unknown }
    ).shouldUpgradeCallback === 'function';
  let mode: TelliMode;
  beforeAll(async () => {
    mode = await startTelliMode({ MAX_BODY_BYTES: '65536' });
  });
  afterAll(() => mode?.close());
  beforeEach(() => mode.telli.resetStats());

  it('answers an upgrade anywhere but /graphql, or of another protocol, with a status and closes it', async () => {
    const notFound = await upgradeAnswer(mode.layer.url, '/nope');
    expect(notFound.status).toBe(404);
    expect(JSON.parse(notFound.body)).toMatchObject({ errors: [{ extensions: { code: 'NOT_FOUND' } }] });
    const health = await upgradeAnswer(mode.layer.url, '/health');
    expect(health.status).toBe(400);
    expect(JSON.parse(health.body)).toMatchObject({ errors: [{ message: expect.stringContaining('/graphql') }] });
    expect((await upgradeAnswer(mode.layer.url, '/graphql?x=1/health')).status).toBe(101);
    if (!nodeChoosesUpgrades) expect((await upgradeAnswer(mode.layer.url, '/graphql', 'h2c')).status).toBe(400);
  });

  it.skipIf(!nodeChoosesUpgrades)(
    'serves a request whose Upgrade is not a WebSocket (h2c, as Java’s HttpClient and curl --http2 send) as a plain request',
    async () => {
      const h2c = (path: string, method = 'GET', body?: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = request(`${mode.layer.url}${path}`, {
            method,
            headers: {
              connection: 'Upgrade, HTTP2-Settings',
              upgrade: 'h2c',
              'http2-settings': 'AAMAAABkAAQCAAAAAAIAAAAA',
              ...(body && { 'content-type': 'application/json' }),
            },
          });
          const timer = setTimeout(() => reject(new Error(`${method} ${path} left hanging`)), 5000);
          req.on('response', (res) => {
            let text = '';
            res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
            res.on('end', () => {
              clearTimeout(timer);
              resolve({ status: res.statusCode ?? 0, body: text });
            });
          });
          req.on('upgrade', (res, socket) => {
            clearTimeout(timer);
            socket.destroy();
            resolve({ status: res.statusCode ?? 101, body: '' });
          });
          req.on('error', reject);
          req.end(body);
        });
      expect((await h2c('/health')).status).toBe(200);
      const get = await h2c(`/graphql?query=${encodeURIComponent('{ telliService { name } }')}`);
      expect({ status: get.status, body: JSON.parse(get.body) as unknown }).toEqual({
        status: 200,
        body: { data: { telliService: { name: 'telli-graphql' } } },
      });
      const post = await h2c('/graphql', 'POST', JSON.stringify({ query: '{ telliService { name } }' }));
      expect({ status: post.status, body: JSON.parse(post.body) as unknown }).toEqual({
        status: 200,
        body: { data: { telliService: { name: 'telli-graphql' } } },
      });
    },
  );

  it('closes a connection without the graphql-transport-ws subprotocol with 4406', async () => {
    const socket = new WebSocket(`${mode.layer.url.replace(/^http/, 'ws')}/graphql`);
    const code = await new Promise<number>((resolve) =>
      socket.once('close', (closeCode: number) => resolve(closeCode)),
    );
    expect(code).toBe(4406);
  });

  it('runs queries and mutations too, under the HTTP route’s rules and limits', async () => {
    const { client } = wsClient(mode.layer.graphqlUrl);
    try {
      const contact = mode.contacts[3] as SandboxContact;
      const query = await run(client, 'query ($id: ID!) { contact(id: $id) { id firstName } }', { id: contact.id });
      expect(query).toEqual({
        results: [{ data: { contact: { id: contact.id, firstName: contact.firstName } } }],
        error: undefined,
      });

      const mutation = await run(
        client,
        'mutation ($input: UpdateContactInput!) { updateContact(input: $input) { contact { id lastName } userErrors { code } } }',
        { input: { id: contact.id, lastName: 'Socket' } },
      );
      expect(mutation.results[0]?.data).toEqual({
        updateContact: { contact: { id: contact.id, lastName: 'Socket' }, userErrors: [] },
      });
      expect(Object.keys(mode.telli.stats.calls).some((call) => !/^GET |get-contacts-batch/.test(call))).toBe(true);

      const ids = Array.from({ length: 1000 }, () => contact.id);
      const costly = await run(
        client,
        'query ($ids: [ID!]!) { a: contacts(ids: $ids) { id } b: contacts(ids: $ids) { id } c: contacts(ids: $ids) { id } }',
        { ids },
      );
      expect(codes(costly.results[0])).toEqual(['COST_LIMIT_EXCEEDED']);
      expect(codes((await run(client, '{ nope }')).results[0])).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      // Masked as over HTTP: no internals (`extensions.http`) on the wire.
      expect(JSON.stringify(costly.results)).not.toContain('"http"');
    } finally {
      await client.dispose();
    }
  });

  it('closes a connection whose message is over MAX_BODY_BYTES (1009)', async () => {
    const { client, closes } = wsClient(mode.layer.graphqlUrl);
    try {
      const { error } = await run(client, 'query ($pad: String) { __typename }', { pad: 'x'.repeat(70_000) });
      expect(error).toBeDefined();
      expect(closes.map((c) => c.code)).toContain(1009);
    } finally {
      await client.dispose();
    }
  });

  it('counts open connections; a subscription’s slot is freed when its client completes it', async () => {
    const { client } = wsClient(mode.layer.graphqlUrl);
    try {
      const results: unknown[] = [];
      const end = client.subscribe(
        { query: STATUS_CHANGED },
        { next: (r) => results.push(r), error: () => undefined, complete: () => undefined },
      );
      await until(async () => (await mode.openSubscriptions()) === 1, 'the subscription to open');
      expect(await mode.metric('telli_websocket_connections')).toMatch(/telli_websocket_connections 1$/m);
      end();
      await until(async () => (await mode.openSubscriptions()) === 0, 'the subscription to close');
    } finally {
      await client.dispose();
    }
    await until(
      async () => /telli_websocket_connections 0$/m.test(await mode.metric('telli_websocket_connections')),
      'the connection to be counted closed',
    );
  });
});

describe('GraphQL over WebSocket: trusted documents, forwarded keys and connection limits', () => {
  let only: TelliMode;
  let forward: TelliMode;
  beforeAll(async () => {
    [only, forward] = await Promise.all([
      startTelliMode({
        PERSISTED_OPERATIONS: 'only',
        PERSISTED_DOCUMENTS_PATH: 'schema/persisted-documents.json',
        SUBSCRIPTIONS_MAX: '1',
      }),
      startTelliMode({}, 'forward'),
    ]);
  });
  afterAll(() => Promise.all([only?.close(), forward?.close()]));

  it('PERSISTED_OPERATIONS=only holds over the socket: a document is refused, a manifest id runs', async () => {
    const { client } = wsClient(only.layer.graphqlUrl);
    try {
      const contact = only.contacts[5] as SandboxContact;
      const document = await run(client, 'query ($id: ID!) { contact(id: $id) { id } }', { id: contact.id });
      expect(codes(document.results[0])).toEqual(['PERSISTED_QUERY_ONLY']);
      const byId = await run(
        client,
        '',
        { id: contact.id },
        {
          persistedQuery: {
            version: 1,
            sha256Hash: '5c43e8acc430fc0ca2d8203640de35b7bdf27ec8e135f1a217d5ad3c5b660815',
          },
        },
      );
      expect(byId.results[0]?.data).toEqual({ contact: expect.objectContaining({ id: contact.id }) });
    } finally {
      await client.dispose();
    }
  });

  it('takes no more connections than SUBSCRIPTIONS_MAX (503 at the upgrade)', async () => {
    await until(
      async () => /telli_websocket_connections 0$/m.test(await only.metric('telli_websocket_connections')),
      'the earlier connections to close',
    );
    const first = new WebSocket(`${only.layer.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    await new Promise((resolve, reject) => first.once('open', resolve).once('error', reject));
    try {
      const second = await upgradeAnswer(only.layer.url, '/graphql');
      expect(second.status).toBe(503);
      expect(JSON.parse(second.body)).toMatchObject({ errors: [{ extensions: { code: 'OVERLOADED' } }] });
    } finally {
      first.close();
    }
  });

  it('a made-up forwarded key gets UNAUTHENTICATED and holds no slot; a real one subscribes', async () => {
    const { client } = wsClient(forward.layer.graphqlUrl, {
      connectionParams: { Authorization: 'Bearer made-up-key-0123' },
    });
    try {
      expect(codes((await run(client, STATUS_CHANGED)).results[0])).toEqual(['UNAUTHENTICATED']);
      expect(await forward.openSubscriptions()).toBe(0);
    } finally {
      await client.dispose();
    }
  });
});

/** Reads a multipart stream as it arrives. */
async function readMultipart(res: Response) {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  let ended = false;
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
    } catch {
      // aborted
    }
    ended = true;
  })();
  return {
    text: () => text,
    ended: () => ended,
    /** The JSON of every part so far. */
    parts: () =>
      text
        .split('\r\n--graphql')
        .map((part) => part.split('\r\n\r\n')[1])
        .filter((json): json is string => json !== undefined)
        .map((json) => JSON.parse(json) as Record<string, unknown>),
  };
}

describe("Apollo's multipart subscription protocol", () => {
  let mode: TelliMode;
  beforeAll(async () => {
    mode = await startTelliMode();
  });
  afterAll(() => mode?.close());

  const post = (accept: string, variables: Record<string, unknown>, signal?: AbortSignal) =>
    fetch(mode.layer.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept },
      body: JSON.stringify({ query: STATUS_CHANGED, variables }),
      ...(signal && { signal }),
    });

  it('frames events as Apollo Router does: boundary graphql, a {} heartbeat at once, {"payload": …} parts', async () => {
    const contact = mode.contacts[8] as SandboxContact;
    const controller = new AbortController();
    // Apollo Router documents the quoted form.
    const res = await post(
      'multipart/mixed;subscriptionSpec="1.0", application/json',
      { ids: [contact.id] },
      controller.signal,
    );
    try {
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('multipart/mixed;boundary="graphql";subscriptionSpec=1.0');
      expect(res.headers.get('cache-control')).toBe('private, no-store');
      const stream = await readMultipart(res);
      await until(() => stream.text().length > 0, 'the first heartbeat');
      expect(stream.text()).toBe('\r\n--graphql\r\ncontent-type: application/json\r\n\r\n{}\r\n--graphql');
      await mode.statusChanged(contact.id, 'reached');
      await until(() => stream.parts().length > 1, 'the event');
      expect(stream.parts()[1]).toEqual({
        payload: {
          data: {
            contactStatusChanged: {
              contact: { id: contact.id, firstName: contact.firstName },
              webhookStatus: 'reached',
            },
          },
        },
      });
    } finally {
      controller.abort();
    }
    await until(async () => (await mode.openSubscriptions()) === 0, 'the subscription to close when the client leaves');
  });

  it('answers a subscription that cannot start with JSON errors; prefers SSE when both are accepted', async () => {
    const refused = await post('multipart/mixed;subscriptionSpec=1.0,application/json;q=0.9', { ids: [] });
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await refused.json()) as FormattedExecutionResult).errors?.[0]?.extensions?.['code']).toBe(
      'BAD_USER_INPUT',
    );
    const controller = new AbortController();
    const both = await post('text/event-stream, multipart/mixed;subscriptionSpec=1.0', {}, controller.signal);
    expect(both.headers.get('content-type')).toMatch(/^text\/event-stream/);
    controller.abort();
    // Plain multipart/mixed without the spec is incremental delivery, which subscriptions do not get.
    const plain = await post('multipart/mixed', {});
    expect(plain.status).toBe(406);
    expect(JSON.stringify(await plain.json())).toContain('subscriptionSpec=1.0');
  });
});

describe("Apollo's HTTP callback protocol", () => {
  let mode: TelliMode;
  let router: CallbackRouter;
  beforeAll(async () => {
    [mode, router] = await Promise.all([startTelliMode(), startCallbackRouter()]);
  });
  afterAll(async () => {
    await mode?.close();
    await router?.close();
  });

  it('checks before it answers {"data":null}, then sends events, heartbeats, and stops on a 404', async () => {
    const contact = mode.contacts[9] as SandboxContact;
    const sub = await router.subscribe(
      mode.layer.graphqlUrl,
      STATUS_CHANGED,
      { ids: [contact.id] },
      { heartbeatIntervalMs: 1000 },
    );
    expect({ status: sub.status, body: sub.body }).toEqual({ status: 200, body: { data: null } });
    const [check] = router.of(sub.id);
    expect(check).toMatchObject({ action: 'check', verifier: `verifier-${sub.id}`, path: `/callback/${sub.id}` });
    expect(check?.at).toBeLessThanOrEqual(sub.answeredAt);
    // Exactly `application/json`: Hive Gateway parses nothing else.
    expect(check?.headers['content-type']).toBe('application/json');
    expect(check?.headers['subscription-protocol']).toBe('callback/1.0');
    await until(async () => (await mode.openSubscriptions()) === 1, 'the subscription to open');

    await mode.statusChanged(contact.id, 'reached');
    const next = await router.waitFor((m) => m.id === sub.id && m.action === 'next');
    expect(next.payload).toEqual({
      data: {
        contactStatusChanged: { contact: { id: contact.id, firstName: contact.firstName }, webhookStatus: 'reached' },
      },
    });
    // Heartbeats at 0.8 × heartbeatIntervalMs: two more checks within ~2 s.
    await until(() => router.of(sub.id).filter((m) => m.action === 'check').length >= 3, 'heartbeats', 5000);

    router.drop(sub.id);
    await until(async () => (await mode.openSubscriptions()) === 0, 'the subscription to end after a 404', 5000);
    expect(router.of(sub.id).filter((m) => m.action === 'complete')).toEqual([]);
  });

  it('retries a message the router answers 5xx, and delivers it', async () => {
    const contact = mode.contacts[10] as SandboxContact;
    const sub = await router.subscribe(
      mode.layer.graphqlUrl,
      STATUS_CHANGED,
      { ids: [contact.id] },
      { heartbeatIntervalMs: 0 },
    );
    expect(sub.status).toBe(200);
    const delivered = async () =>
      Number(
        /action="next",outcome="delivered"\} (\d+)/.exec(
          await mode.metric('telli_subscription_callbacks_total'),
        )?.[1] ?? 0,
      );
    const before = await delivered();
    router.answer(sub.id, 503, 2);
    await mode.statusChanged(contact.id, 'pending');
    await until(() => router.of(sub.id).filter((m) => m.action === 'next').length >= 3, 'the retried next');
    expect(await mode.openSubscriptions()).toBe(1);
    await until(async () => (await delivered()) === before + 1, 'the next to count as delivered');
    router.drop(sub.id);
    await until(async () => (await mode.openSubscriptions()) === 0, 'the subscription to end', 8000);
  });

  it('subscribes nothing when the check is not confirmed (404, or a redirect, which is not followed)', async () => {
    for (const [status, headers] of [
      [404, {}],
      [307, { location: `${router.publicUrl}/elsewhere` }],
    ] as const) {
      const id = `refused-${status}`;
      router.answer(id, status, 1, headers);
      const sub = await router.subscribe(mode.layer.graphqlUrl, STATUS_CHANGED, {}, { id });
      expect({ status: sub.status, body: sub.body }).toEqual({
        status: 400,
        body: {
          errors: [{ message: expect.stringContaining('did not confirm'), extensions: { code: 'BAD_REQUEST' } }],
        },
      });
      expect(router.of(id).map((m) => m.action)).toEqual(['check']);
    }
    expect(router.messages.some((m) => m.path.endsWith('/elsewhere'))).toBe(false);
    expect(await mode.openSubscriptions()).toBe(0);
  });

  it('refuses a malformed callback extension before anything runs', async () => {
    for (const options of [
      { heartbeatIntervalMs: 10 },
      { callbackUrl: 'ftp://127.0.0.1/callback/x' },
      { callbackUrl: 'not a url' },
    ]) {
      const before = router.messages.length;
      const sub = await router.subscribe(mode.layer.graphqlUrl, STATUS_CHANGED, {}, options);
      expect({ options, status: sub.status }).toEqual({ options, status: 400 });
      expect(sub.body).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
      expect(router.messages.length).toBe(before);
    }
  });
});

describe('which callback URLs a caller may name', () => {
  let router: CallbackRouter;
  let forward: TelliMode;
  let pinned: TelliMode;
  beforeAll(async () => {
    router = await startCallbackRouter();
    [forward, pinned] = await Promise.all([
      startTelliMode({}, 'forward'),
      startTelliMode({ SUBSCRIPTION_CALLBACK_URLS: router.publicUrl }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([forward?.close(), pinned?.close()]);
    await router?.close();
  });

  it('none with forwarded keys and no caller tokens, unless SUBSCRIPTION_CALLBACK_URLS names them', async () => {
    const sub = await router.subscribe(
      forward.layer.graphqlUrl,
      STATUS_CHANGED,
      {},
      {
        headers: { authorization: `Bearer ${forward.key}` },
      },
    );
    expect(sub.status).toBe(400);
    expect(JSON.stringify(sub.body)).toContain('SUBSCRIPTION_CALLBACK_URLS');
    expect(router.of(sub.id)).toEqual([]);
  });

  it('with SUBSCRIPTION_CALLBACK_URLS, only URLs under a prefix: same origin, path segment by segment', async () => {
    const { port } = new URL(router.publicUrl);
    for (const callbackUrl of [
      `http://127.0.0.1:${Number(port) + 1}/callback/x`,
      `http://localhost:${port}/callback/x`,
      `${router.publicUrl}s/x`,
    ]) {
      const sub = await router.subscribe(pinned.layer.graphqlUrl, STATUS_CHANGED, {}, { callbackUrl });
      expect({ callbackUrl, status: sub.status }).toEqual({ callbackUrl, status: 400 });
    }
    const allowed = await router.subscribe(pinned.layer.graphqlUrl, STATUS_CHANGED, {});
    expect(allowed.status).toBe(200);
    router.drop(allowed.id);
    await until(async () => (await pinned.openSubscriptions()) === 0, 'the subscription to end', 8000);
  });
});

describe('SIGTERM completes subscriptions on every wire', () => {
  let mode: TelliMode;
  let router: CallbackRouter;
  beforeAll(async () => {
    [mode, router] = await Promise.all([startTelliMode({ SHUTDOWN_GRACE_MS: '5000' }), startCallbackRouter()]);
  });
  afterAll(async () => {
    await mode?.close();
    await router?.close();
  });

  it('WebSocket clients get complete and then 1001; multipart streams end with --graphql--; routers get complete; SSE too', async () => {
    // Not lazy: a lazy client closes the socket itself once its last subscription completed.
    const { client, closes } = wsClient(mode.layer.graphqlUrl, { lazy: false });
    let wsCompleted = false;
    const wsErrors: unknown[] = [];
    client.subscribe(
      { query: STATUS_CHANGED },
      { next: () => undefined, error: (e) => wsErrors.push(e), complete: () => (wsCompleted = true) },
    );
    const multipart = await readMultipart(
      await fetch(mode.layer.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'multipart/mixed;subscriptionSpec=1.0' },
        body: JSON.stringify({ query: STATUS_CHANGED }),
      }),
    );
    const callback = await router.subscribe(mode.layer.graphqlUrl, STATUS_CHANGED);
    expect(callback.status).toBe(200);
    const sse = await subscribe(fetch, mode.layer.graphqlUrl, STATUS_CHANGED);
    await until(async () => (await mode.openSubscriptions()) === 4, 'four subscriptions to open');

    const exited = mode.layer.server.stop('SIGTERM');
    await router.waitFor((m) => m.id === callback.id && m.action === 'complete');
    await until(() => wsCompleted || wsErrors.length > 0, 'the WebSocket subscription to complete');
    expect(wsErrors).toEqual([]);
    await until(() => closes.length > 0, 'the WebSocket to close');
    expect(closes[0]?.code).toBe(1001);
    await until(() => multipart.ended(), 'the multipart stream to end');
    expect(multipart.text().endsWith('\r\n--graphql--\r\n')).toBe(true);
    expect(await sse.completed).toBe(true);
    expect(await exited).toBe(0);
    await client.dispose();
  });
});
