import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SAMPLE_CONTACT_ID, startSandbox, type RunningSandbox } from '../src/sandbox/index.js';
import { postGraphQL, startLayerProcess, startProbe, type RunningProcess } from './support/process.js';
import { subscribe, type Subscription } from './support/sse.js';
import { codesOf } from './support/stack.js';

/**
 * What probing the built server from outside found, replayed as an attacker would send it, against
 * the process `npm start` runs.
 */
const CONTACT_QUERY = `{ contact(id: "${SAMPLE_CONTACT_ID}") { id firstName contactDetails } }`;

/** A chain of fragments, each spreading the next twice: 2^n spreads in a document of a few kB. */
function fragmentChain(n: number): string {
  let document = `query { contact(id: "${SAMPLE_CONTACT_ID}") { ...F0 } }\n`;
  for (let i = 0; i < n; i++) document += `fragment F${i} on Contact { ...F${i + 1} ...F${i + 1} }\n`;
  return `${document}fragment F${n} on Contact { id }\n`;
}

describe('caller authentication cannot be skipped', () => {
  const key = 'tk_live_security_0123456789abcdef';
  const token = 'gateway-token-0123456789abcdefghij';
  let telli: RunningSandbox;
  let layer: RunningProcess;
  beforeAll(async () => {
    telli = await startSandbox({ apiKeys: [key] });
    layer = await startLayerProcess({ TELLI_API_KEY: key, TELLI_BASE_URL: telli.url, CALLER_TOKENS: token });
  });
  afterAll(async () => {
    await layer.server.stop();
    await telli.close();
  });
  beforeEach(() => telli.resetStats());

  it('serves no GraphQL at a URL whose path is not exactly /graphql, whatever its query string says', async () => {
    const body = JSON.stringify({ query: CONTACT_QUERY });
    const json = { 'content-type': 'application/json' };
    const attempts: [string, RequestInit][] = [
      ['/health?/graphql', { method: 'POST', headers: json, body }],
      ['/health?x=/graphql/', { method: 'POST', headers: json, body }],
      [`/health?query=${encodeURIComponent(CONTACT_QUERY)}&/graphql`, { headers: { 'x-graphql-yoga-csrf': '1' } }],
      ['/readiness?/graphql', { method: 'POST', headers: json, body }],
      ['/metrics?/graphql', { method: 'POST', headers: json, body }],
      ['/graphql/', { method: 'POST', headers: json, body }],
      ['/x/graphql', { method: 'POST', headers: json, body }],
      ['//graphql', { method: 'POST', headers: json, body }],
      ['/graphql?x=/health', { method: 'POST', headers: json, body }],
    ];
    for (const [path, init] of attempts) {
      const res = await fetch(`${layer.url}${path}`, init);
      const text = await res.text();
      expect(text, path).not.toContain('Ada');
      expect(text, path).not.toContain('"data"');
      if (path.startsWith('/graphql?')) expect(res.status, path).toBe(401);
      if (path === '/graphql/' || path === '/x/graphql' || path === '//graphql') expect(res.status, path).toBe(404);
    }
    // A Host header that holds a path does not move a request to another route either.
    const viaHost = (path: string, host: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = httpRequest(
          `${layer.url}${path}`,
          { method: 'POST', headers: { ...json, host }, setHost: false },
          (res) => {
            let text = '';
            res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const hostToGraphql = await viaHost('/health', 'layer.test/graphql?');
    expect(hostToGraphql.text).not.toContain('Ada');
    expect(hostToGraphql.status).toBe(200);
    expect((await viaHost('/graphql', 'layer.test/health?')).status).toBe(401);
    // /readiness checks telli's key; nothing read a contact.
    expect(Object.keys(telli.stats.calls).filter((endpoint) => endpoint !== 'GET /v1/verify-api-key')).toEqual([]);
  });

  it('answers an operation only with a valid token; the GraphiQL page itself (no data) is open', async () => {
    const anonymous = await postGraphQL(layer.graphqlUrl, { query: CONTACT_QUERY });
    expect(anonymous.status).toBe(401);
    expect(codesOf(anonymous.body)).toEqual(['UNAUTHENTICATED']);
    const viaGet = await fetch(`${layer.graphqlUrl}?query=${encodeURIComponent(CONTACT_QUERY)}`, {
      headers: { 'x-graphql-yoga-csrf': '1', accept: 'application/json' },
    });
    expect(viaGet.status).toBe(401);
    expect(telli.totalCalls()).toBe(0);

    const page = await fetch(layer.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('graphiql');
    expect(html).not.toContain(SAMPLE_CONTACT_ID);
    expect(telli.totalCalls()).toBe(0);

    const authed = await postGraphQL(layer.graphqlUrl, { query: CONTACT_QUERY }, { 'x-caller-token': token });
    expect(authed.status).toBe(200);
    expect(authed.body.data?.['contact']).toMatchObject({ id: SAMPLE_CONTACT_ID, firstName: 'Ada' });
  });
});

describe('pre-execution checks do work bounded by the document', () => {
  let layer: RunningProcess;
  let roomy: RunningProcess;
  beforeAll(async () => {
    layer = await startLayerProcess({});
    // Token limit raised, so that the 1000-fragment chain reaches the cost walk.
    roomy = await startLayerProcess({ QUERY_MAX_TOKENS: '100000' });
  });
  afterAll(async () => {
    await layer.server.stop();
    await roomy.server.stop();
  });

  it('refuses fragment chains of 40 and 1000 at once, /health answering throughout', async () => {
    const cases: [RunningProcess, number, string][] = [
      [layer, 20, 'COST_LIMIT_EXCEEDED'],
      [layer, 40, 'COST_LIMIT_EXCEEDED'],
      [layer, 1000, 'QUERY_TOO_COMPLEX'],
      [roomy, 1000, 'COST_LIMIT_EXCEEDED'],
    ];
    for (const [server, n, code] of cases) {
      const health = startProbe(`${server.url}/health`);
      await new Promise((resolve) => setTimeout(resolve, 200)); // the probe is polling
      const t0 = performance.now();
      const res = await postGraphQL(server.graphqlUrl, { query: fragmentChain(n) });
      const ms = performance.now() - t0;
      const latencies = await health.stop();
      expect({ n, status: res.status, codes: codesOf(res.body) }).toEqual({ n, status: 400, codes: [code] });
      // Before: n = 20 blocked the event loop for 4 s, n = 40 hung the process. Generous bounds
      // for a loaded 2-core machine; what they catch is a walk that grows with 2^n.
      expect(ms, `n=${n}`).toBeLessThan(2000);
      expect(Math.max(...latencies), `n=${n}`).toBeLessThan(2000);
    }
  });

  it('says which limit a document that repeats one field 4900 times hits', async () => {
    const res = await postGraphQL(layer.graphqlUrl, { query: `{ ${Array(4900).fill('__typename').join(' ')} }` });
    expect(res.status).toBe(400);
    expect(codesOf(res.body)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(res.body.errors?.[0]?.message).toMatch(/repeats fields too often/);
  });

  it('weighs contactsPage(first:) as the page telli can list, clamped, not as the raw number', async () => {
    for (const first of [2999, 2147483647]) {
      const res = await postGraphQL(layer.graphqlUrl, { query: `{ contactsPage(first: ${first}) { nodes { id } } }` });
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
      expect((res.body.data?.['contactsPage'] as { nodes: unknown[] }).nodes).toHaveLength(100);
    }
  });

  it('answers a lone surrogate in an external id as BAD_USER_INPUT, not as a masked error', async () => {
    const body = `{"query":"query ($e: String!) { contactByExternalId(externalId: $e) { id } }","variables":{"e":"a\\ud800b"}}`;
    const res = await postGraphQL(layer.graphqlUrl, body);
    expect(codesOf(res.body)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors?.[0]?.message).toMatch(/lone surrogate/);
  });
});

describe('forwarded telli keys', () => {
  let telli: RunningSandbox;
  let layer: RunningProcess;
  beforeAll(async () => {
    telli = await startSandbox();
    layer = await startLayerProcess({ TELLI_AUTH: 'forward', TELLI_BASE_URL: telli.url });
  });
  afterAll(async () => {
    await layer.server.stop();
    await telli.close();
  });

  it('tells a missing key from a malformed one (over-long, non-ASCII), and calls telli for neither', async () => {
    const messageFor = async (headers: Record<string, string>) => {
      const res = await postGraphQL(layer.graphqlUrl, { query: CONTACT_QUERY }, headers);
      expect(codesOf(res.body)).toEqual(['UNAUTHENTICATED']);
      return res.body.errors?.[0]?.message;
    };
    expect(await messageFor({})).toMatch(/^Send your telli API key/);
    expect(await messageFor({ authorization: `Bearer ${'k'.repeat(600)}` })).toMatch(
      /must be `Bearer <telli API key>`/,
    );
    expect(await messageFor({ authorization: 'Bearer schlüssel-ä' })).toMatch(/must be `Bearer <telli API key>`/);
    expect(await messageFor({ authorization: 'Basic dXNlcjpwYXNz' })).toMatch(/must be `Bearer <telli API key>`/);
    expect(telli.totalCalls()).toBe(0);
  });
});

describe('graceful shutdown with a drain period', () => {
  it('keeps answering, /readiness 503, for SHUTDOWN_DRAIN_MS after SIGTERM, then exits 0', async () => {
    const layer = await startLayerProcess({ SHUTDOWN_DRAIN_MS: '1500' });
    expect((await fetch(`${layer.url}/readiness`)).status).toBe(200);
    const t0 = performance.now();
    layer.server.child.kill('SIGTERM');
    await layer.server.waitForLine((l) => l['msg'] === 'draining: /readiness is 503, still answering');
    const readiness = await fetch(`${layer.url}/readiness`);
    expect(readiness.status).toBe(503);
    expect(await readiness.json()).toMatchObject({
      ready: false,
      checks: { server: expect.stringMatching(/not serving/) },
    });
    expect((await fetch(`${layer.url}/health`)).status).toBe(200);
    const query = await postGraphQL(layer.graphqlUrl, { query: CONTACT_QUERY });
    expect(query.body.data?.['contact']).toMatchObject({ firstName: 'Ada' });
    expect(query.headers.get('connection')).toBe('close');
    expect(await layer.server.exited).toBe(0);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1400);
  });
});

describe('a client that sends its body slowly', () => {
  it('is answered at the deadline, and holds its admission slot no longer than its connection', async () => {
    const layer = await startLayerProcess({ REQUEST_DEADLINE_MS: '800', MAX_OPERATIONS_IN_FLIGHT: '2' });
    try {
      // Two requests that declare a body and send only half of it, holding both slots.
      const slow = [0, 1].map(
        () =>
          new Promise<{ status: number; body: string; ms: number }>((resolve, reject) => {
            const t0 = performance.now();
            const body = JSON.stringify({ query: '{ __typename }' });
            const req = httpRequest(
              layer.graphqlUrl,
              {
                method: 'POST',
                headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
              },
              (res) => {
                let text = '';
                res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
                res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, ms: performance.now() - t0 }));
              },
            );
            req.on('error', reject);
            req.write(body.slice(0, 10));
          }),
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      const third = await postGraphQL(layer.graphqlUrl, { query: '{ __typename }' });
      expect(third.status).toBe(503);
      expect(codesOf(third.body)).toEqual(['OVERLOADED']);

      for (const res of await Promise.all(slow)) {
        expect(res.status).toBe(504);
        expect(JSON.parse(res.body)).toMatchObject({ errors: [{ extensions: { code: 'UPSTREAM_TIMEOUT' } }] });
        expect(res.ms).toBeLessThan(800 + 500);
      }
      // The 504 closes each trickling connection, and that frees its slot (its body would never end).
      await expect
        .poll(async () => (await postGraphQL(layer.graphqlUrl, { query: '{ __typename }' })).status, {
          timeout: 5000,
          interval: 200,
        })
        .toBe(200);
    } finally {
      await layer.server.stop();
    }
  });
});

describe('open subscriptions and admission control', () => {
  it('a subscription whose stream has started holds no operation slot, whatever its deadline', async () => {
    const layer = await startLayerProcess({ REQUEST_DEADLINE_MS: '1000', MAX_OPERATIONS_IN_FLIGHT: '1' });
    const subscriptions: Subscription[] = [];
    try {
      // Each stream outlives the deadline and the single slot; neither holds it once it has started.
      for (let i = 0; i < 2; i++) {
        subscriptions.push(
          await subscribe(fetch, layer.graphqlUrl, 'subscription { contactStatusChanged { status } }'),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 1300));
      const query = await postGraphQL(layer.graphqlUrl, { query: CONTACT_QUERY });
      expect(query.status).toBe(200);
      expect(query.body.data?.['contact']).toMatchObject({ firstName: 'Ada' });
      // Still open past the deadline: no 504 cut the streams.
      for (const subscription of subscriptions) {
        expect(subscription.status).toBe(200);
        const open = new Promise((resolve) => setTimeout(() => resolve('open'), 50));
        expect(await Promise.race([subscription.completed.then(() => 'completed'), open])).toBe('open');
      }
    } finally {
      await Promise.all(subscriptions.map((subscription) => subscription.close()));
      await layer.server.stop();
    }
  });
});
