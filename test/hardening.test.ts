import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_OPERATION_NAMES, OTHER_OPERATIONS } from '../src/http/use-metrics.js';
import { operationCost, V2_READ_COST } from '../src/schema/core/cost.js';
import { schema } from '../src/schema/index.js';
import type { SandboxContact } from '../src/sandbox/index.js';
import { parse } from 'graphql';
import { freePort, waitForHttp } from './support/net.js';
import { postGraphQL, startServerProcess } from './support/process.js';
import { codesOf, createTestStack, unknownId, useSharedStack, type TestStack } from './support/stack.js';

/** A fresh object each time: fetch implementations may add headers to the object they are given. */
const json = () => ({ 'content-type': 'application/json' });

function post(stack: TestStack, body: string, headers: Record<string, string> = json(), path = '/graphql') {
  return stack.app.fetch(`http://layer.test${path}`, { method: 'POST', headers, body });
}

describe('query limits (before any upstream call)', () => {
  let stack: TestStack;
  let contacts: SandboxContact[];
  useSharedStack((s, c) => ((stack = s), (contacts = c)));

  it('rejects 5000 contacts requested through aliases with COST_LIMIT_EXCEEDED, HTTP 400, no telli call', async () => {
    const fields = Array.from({ length: 50 }, (_, i) => `a${i}: contacts(ids: $ids${i}) { id }`).join(' ');
    const vars = Array.from({ length: 50 }, (_, i) => `$ids${i}: [ID!]!`).join(', ');
    const variables = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [`ids${i}`, Array.from({ length: 100 }, (_, j) => unknownId(i * 100 + j))]),
    );
    // The same document with small variables first: validation is cached, the cost check is not.
    const small = Object.fromEntries(Object.keys(variables).map((k) => [k, [unknownId(1)]]));
    const cheap = await post(stack, JSON.stringify({ query: `query (${vars}) { ${fields} }`, variables: small }));
    expect(cheap.status).toBe(200);
    stack.sandbox.resetStats();
    const full = await post(stack, JSON.stringify({ query: `query (${vars}) { ${fields} }`, variables }));
    expect(full.status).toBe(400);
    const body = (await full.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(body.errors[0]?.extensions).toMatchObject({ code: 'COST_LIMIT_EXCEEDED', cost: 5050, maxCost: 3000 });
    expect(body.errors[0]?.message).toMatch(/cost 5050 exceeds the limit of 3000/);
    expect(stack.sandbox.transport.requests).toBe(0);
  });

  it('counts contacts per id for literal lists, variables, _entities and fragments', () => {
    const cost = (query: string, variables: Record<string, unknown> = {}) =>
      operationCost(schema, parse(query), undefined, variables);
    expect(cost('{ contact(id: "x") { id firstName } }')).toBe(3);
    expect(cost('{ contacts(ids: ["a", "b", "c"]) { id } }')).toBe(4);
    expect(cost('query ($ids: [ID!]!) { contacts(ids: $ids) { id } }', { ids: Array(250).fill('x') })).toBe(251);
    expect(
      cost('query ($r: [_Any!]!) { _entities(representations: $r) { __typename } }', { r: Array(40).fill({}) }),
    ).toBe(41);
    expect(cost('{ ...F ...F } fragment F on Query { contacts(ids: ["a", "b"]) { id } }')).toBe(6);
  });

  it('weighs fields only telli v2 has by the contacts they are read for (one v2 call each)', () => {
    const cost = (query: string) => operationCost(schema, parse(query), undefined, {});
    // contact 1, properties 1 + 1 contact × V2_READ_COST, key 1
    expect(cost('{ contact(id: "x") { properties { key } } }')).toBe(3 + V2_READ_COST);
    // contacts 3, updatedAt 1 + 3 × V2_READ_COST, properties 1 + 3 × V2_READ_COST, key 1
    expect(cost('{ contacts(ids: ["a", "b", "c"]) { updatedAt properties { key } } }')).toBe(6 + 6 * V2_READ_COST);
    expect(
      cost(
        'query { _entities(representations: [{}, {}]) { ... on Contact { ...P } } } fragment P on Contact { properties { key } }',
      ),
    ).toBe(4 + 2 * V2_READ_COST);
    // A v2 list page brings the v2 records along: no extra calls to weigh.
    expect(cost('{ contactsPage(first: 50) { edges { node { properties { key } } } } }')).toBe(54);
  });

  it('rejects properties for 300 contacts with COST_LIMIT_EXCEEDED before any telli call', async () => {
    const ids = contacts.slice(0, 300).map((c) => c.id);
    stack.sandbox.resetStats();
    const res = await post(
      stack,
      JSON.stringify({
        query: 'query ($ids: [ID!]!) { contacts(ids: $ids) { id properties { key } } }',
        variables: { ids },
      }),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0]?.extensions).toMatchObject({
      code: 'COST_LIMIT_EXCEEDED',
      cost: 300 + 3 + 300 * V2_READ_COST,
    });
    expect(stack.sandbox.transport.requests).toBe(0);
  });

  it('rejects more than 100 aliases with QUERY_TOO_COMPLEX', async () => {
    const id = (contacts[0] as SandboxContact).id;
    const fields = Array.from({ length: 101 }, (_, i) => `a${i}: contact(id: "${id}") { id }`).join(' ');
    const res = await stack.http(`{ ${fields} }`);
    expect(res.status).toBe(400);
    expect(codesOf(res.body)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(stack.sandbox.transport.requests).toBe(0);
  });

  it('rejects a document of more than 5000 tokens with QUERY_TOO_COMPLEX', async () => {
    const ids = Array.from({ length: 5001 }, (_, i) => `"${unknownId(i)}"`).join(' ');
    const res = await stack.http(`{ contacts(ids: [${ids}]) { id } }`);
    expect(res.status).toBe(400);
    expect(codesOf(res.body)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(stack.sandbox.transport.requests).toBe(0);
  });

  it('rejects nesting deeper than the configured depth', async () => {
    const shallow = await createTestStack({ env: { QUERY_MAX_DEPTH: '1' } });
    try {
      const res = await shallow.http(`{ contact(id: "${unknownId(1)}") { id } }`);
      expect(res.status).toBe(400);
      expect(codesOf(res.body)).toEqual(['QUERY_TOO_COMPLEX']);
      expect(shallow.sandbox.transport.requests).toBe(0);
    } finally {
      await shallow.close();
    }
  });

  it('answers a body over the limit with 413 and malformed JSON with 400', async () => {
    const big = JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(1024 * 1024) } });
    const tooBig = await post(stack, big, { ...json(), 'content-length': String(Buffer.byteLength(big)) });
    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toMatchObject({ errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
    const malformed = await post(stack, '{"query": "{ __typename }"');
    expect(malformed.status).toBe(400);
  });
});

describe('caller authentication', () => {
  const tokens = ['gateway-token-aaaaaaaaaaaaaaaaaaaaaaaa', 'gateway-token-bbbbbbbbbbbbbbbbbbbbbbbb'];
  let stack: TestStack;
  beforeAll(async () => {
    stack = await createTestStack({ env: { CALLER_TOKENS: tokens.join(','), CALLER_TOKEN_HEADER: 'x-caller-token' } });
  });
  afterAll(() => stack.close());

  it('refuses a request without a token with 401 before parsing anything', async () => {
    const res = await post(stack, 'this is not even JSON');
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
    expect(stack.sandbox.transport.requests).toBe(0);
  });

  it('refuses a wrong token, accepts each configured token (rotation)', async () => {
    const query = JSON.stringify({ query: '{ __typename }' });
    expect((await post(stack, query, { ...json(), 'x-caller-token': `${tokens[0]}x` })).status).toBe(401);
    expect((await post(stack, query, { ...json(), 'x-caller-token': tokens[0] as string })).status).toBe(200);
    expect((await post(stack, query, { ...json(), 'x-caller-token': tokens[1] as string })).status).toBe(200);
  });

  it('keeps /health open', async () => {
    expect((await stack.app.fetch('http://layer.test/health')).status).toBe(200);
  });
});

describe('introspection switched off', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await createTestStack({ env: { INTROSPECTION: 'false' } });
  });
  afterAll(() => stack.close());

  it('refuses introspection, hides field suggestions and GraphiQL, but keeps _service for gateways', async () => {
    const intro = await stack.raw('{ __schema { types { name } } }');
    expect(intro.errors?.length).toBeGreaterThan(0);
    expect(intro.data).toBeUndefined();
    const typo = await stack.raw(`{ contac(id: "${unknownId(1)}") { id } }`);
    expect(JSON.stringify(typo.errors)).not.toMatch(/Did you mean/);
    const page = await stack.app.fetch('http://layer.test/graphql', { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toContain('graphiql');
    const service = await stack.raw('{ _service { sdl } }');
    expect(service.errors).toBeUndefined();
  });
});

describe('CSRF prevention (on by default)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await createTestStack();
  });
  afterAll(() => stack.close());

  it('refuses "simple" POSTs without the CSRF header; JSON POSTs, headed simple POSTs and GET queries pass', async () => {
    const get = (headers: Record<string, string> = {}) =>
      stack.app.fetch('http://layer.test/graphql?query=%7B__typename%7D', {
        headers: { accept: 'application/json', ...headers },
      });
    // A GET runs a query (or a subscription) only, and carries no credential a cross-site page has not.
    expect((await get()).status).toBe(200);
    expect((await get({ 'x-graphql-yoga-csrf': '1' })).status).toBe(200);
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const refused = await post(stack, '{"query":"{ __typename }"}', { 'content-type': contentType });
      expect({ contentType, status: refused.status }).toEqual({ contentType, status: 403 });
      expect(codesOf((await refused.json()) as Parameters<typeof codesOf>[0])).toEqual(['CSRF_HEADER_REQUIRED']);
    }
    expect(
      (await post(stack, '{"query":"{ __typename }"}', { 'content-type': 'text/plain', 'x-graphql-yoga-csrf': '1' }))
        .status,
    ).not.toBe(403);
    expect((await post(stack, '{"query":"{ __typename }"}')).status).toBe(200);
  });

  it('refuses mutations over GET, with or without the CSRF header, and unsupported methods', async () => {
    for (const csrf of [{}, { 'x-graphql-yoga-csrf': '1' }] as Record<string, string>[]) {
      const viaGet = await stack.app.fetch('http://layer.test/graphql?query=mutation%7B__typename%7D', {
        headers: { accept: 'application/graphql-response+json', ...csrf },
      });
      expect(viaGet.status).toBe(405);
    }
    const put = await stack.app.fetch('http://layer.test/graphql', {
      method: 'PUT',
      headers: json(),
      body: '{"query":"{ __typename }"}',
    });
    expect(put.status).toBe(405);
  });
});

describe('readiness', () => {
  it('is 200 when telli is reachable, checks telli at most once per cache period, 503 when it is not', async () => {
    const ready = await createTestStack({ env: { READINESS_CACHE_MS: '60000' } });
    const stack = ready;
    const setServing = (serving: boolean) => ready.layer.setServing(serving);
    try {
      const probe = async () => {
        const res = await ready.app.fetch('http://layer.test/readiness');
        return { status: res.status, body: (await res.json()) as { ready: boolean; checks: Record<string, string> } };
      };
      const results = await Promise.all([probe(), probe(), probe(), probe(), probe()]);
      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(results[0]?.body.checks).toEqual({ config: 'ok', server: 'ok', telli: 'ok', events: 'ok' });
      expect(stack.sandbox.stats.calls).toEqual({ 'GET /v1/verify-api-key': 1 });
      setServing(false);
      expect((await probe()).status).toBe(503);
    } finally {
      await ready.close();
    }
  });

  it('reports telli down, or a rejected server key, as 503 without leaking the key', async () => {
    const down = await createTestStack({ serverApiKey: 'tk_wrong_key_1234567', env: { READINESS_CACHE_MS: '1' } });
    const stack = down;
    try {
      const rejected = await down.app.fetch('http://layer.test/readiness');
      expect(rejected.status).toBe(503);
      const text = await rejected.text();
      expect(text).toContain('telli rejected the API key');
      expect(text).not.toContain('tk_wrong_key_1234567');
      await stack.sandbox.close();
      await new Promise((resolve) => setTimeout(resolve, 5)); // past READINESS_CACHE_MS
      const unreachable = await down.app.fetch('http://layer.test/readiness');
      expect(unreachable.status).toBe(503);
      expect(await unreachable.text()).toContain('unreachable (ECONNREFUSED)');
    } finally {
      await down.close();
    }
  });
});

describe('metrics', () => {
  it('with METRICS_TOKEN, answers /metrics only to that bearer token (401 otherwise)', async () => {
    const token = 'scrape-token-0123456789abcdef';
    const stack = await createTestStack({ env: { METRICS: 'true', METRICS_TOKEN: token } });
    try {
      const scrape = (headers: Record<string, string>) => stack.app.fetch('http://layer.test/metrics', { headers });
      const missing = await scrape({});
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toBe('Bearer');
      expect(await missing.text()).not.toContain('graphql_');
      expect((await scrape({ authorization: 'Bearer scrape-token-0123456789abcdeX' })).status).toBe(401);
      expect((await scrape({ authorization: token })).status).toBe(401);
      const ok = await scrape({ authorization: `Bearer ${token}` });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('telli_graphql_requests_in_flight');
      // GraphQL itself is unaffected by the scrape token.
      expect((await post(stack, JSON.stringify({ query: '{ telliService { name } }' }))).status).toBe(200);
    } finally {
      await stack.close();
    }
  });

  it('keeps label values bounded: URL path without the query string, capped operation names, schema coordinates for errors', async () => {
    const stack = await createTestStack({ env: { METRICS: 'true' } });
    try {
      const csrf = { 'x-graphql-yoga-csrf': '1' };
      // Introspection is tooling traffic, not API use: not counted.
      await post(stack, JSON.stringify({ query: 'query Intro { __schema { queryType { name } } }' }));
      // 30 GET requests, each with its own query string.
      for (let i = 0; i < 30; i++) {
        const query = encodeURIComponent(`query Get${i % 3} { telliService { name } }`);
        const res = await stack.app.fetch(`http://layer.test/graphql?query=${query}&n=${i}`, { headers: csrf });
        expect(res.status).toBe(200);
      }
      // More distinct operation names than the bound.
      for (let i = 0; i < MAX_OPERATION_NAMES + 20; i++) {
        await post(stack, JSON.stringify({ query: `query Op${i} { telliService { name } }` }));
      }
      // Two failing list entries: one error path label, with the index folded.
      await post(stack, JSON.stringify({ query: 'query Bad { contacts(ids: ["x", "y"]) { id } }' }));
      const text = await (await stack.app.fetch('http://layer.test/metrics')).text();

      const httpUrls = new Set(
        [...text.matchAll(/^graphql_yoga_http_duration_count\{[^}]*url="([^"]*)"/gm)].map((m) => m[1]),
      );
      expect([...httpUrls]).toEqual(['/graphql']);
      expect(text).not.toContain('operationName="Intro"');
      const names = new Set(
        [...text.matchAll(/^graphql_envelop_request\{[^}]*operationName="([^"]*)"/gm)].map((m) => m[1]),
      );
      expect(names.size).toBe(MAX_OPERATION_NAMES + 1);
      expect(names.has(OTHER_OPERATIONS)).toBe(true);
      // Get0–Get2 and Op0–Op196 fill the bound; Op197–Op219 and Bad are counted as one label value.
      const overflow = MAX_OPERATION_NAMES + 20 - (MAX_OPERATION_NAMES - 3) + 1;
      expect(text).toMatch(
        new RegExp(`^graphql_envelop_request\\{[^}]*operationName="${OTHER_OPERATIONS}"[^}]*\\} ${overflow}$`, 'm'),
      );
      const errorLine = text
        .split('\n')
        .find((l) => l.startsWith('graphql_envelop_error_result{') && l.includes('path='));
      expect(errorLine).toContain('path="Query.contacts"');
      expect(errorLine).toContain('phase="execute"');
      expect(errorLine).toMatch(/ 2$/);
    } finally {
      await stack.close();
    }
  });

  it('exposes GraphQL, error, upstream, retry, batch, loader-cache and in-flight metrics in Prometheus format', async () => {
    const stack = await createTestStack({ env: { METRICS: 'true' } });
    try {
      const [a, b] = [...stack.sandbox.contacts.values()] as [SandboxContact, SandboxContact];
      stack.sandbox.injectFault({ fault: { kind: 'status', status: 503 }, times: 1 });
      await post(
        stack,
        JSON.stringify({
          query: `query Dashboard { x: contact(id: "${a.id}") { id } y: contact(id: "${a.id}") { id } z: contacts(ids: ["${b.id}", "bad"]) { id } }`,
        }),
      );
      const res = await stack.app.fetch('http://layer.test/metrics');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const text = await res.text();
      expect(text).toMatch(/graphql_envelop_request_duration_count\{[^}]*operationName="Dashboard"[^}]*\} 1/);
      expect(text).toMatch(/graphql_yoga_http_duration_count\{/);
      expect(text).toContain('telli_graphql_errors_total{code="BAD_USER_INPUT"} 1');
      expect(text).toMatch(
        /telli_upstream_request_duration_seconds_count\{endpoint="POST \/v1\/get-contacts-batch",status="503"\} 1/,
      );
      expect(text).toMatch(
        /telli_upstream_request_duration_seconds_count\{endpoint="POST \/v1\/get-contacts-batch",status="200"\} 1/,
      );
      expect(text).toContain(
        'telli_upstream_retries_total{endpoint="POST /v1/get-contacts-batch",reason="HTTP 503"} 1',
      );
      expect(text).toMatch(/telli_upstream_batch_size_sum 2/);
      // One shared call (retried once), carrying one caller: the operation's loader batch.
      expect(text).toMatch(/telli_upstream_batch_callers_sum 1\n/);
      expect(text).toMatch(/telli_upstream_batch_wait_seconds_count 1\n/);
      expect(text).toContain('telli_loader_cache_total{loader="contactById",result="hit"} 1');
      expect(text).toContain('telli_loader_cache_total{loader="contactById",result="miss"} 2');
      expect(text).toMatch(/telli_graphql_requests_in_flight \d/);
      // The GraphQL series are the README's list, no more: the plugin's other defaults cost CPU
      // on every request (one walks every document with TypeInfo).
      const graphqlSeries = new Set([...text.matchAll(/^# TYPE (graphql_\w+) /gm)].map((m) => m[1]));
      expect([...graphqlSeries].sort()).toEqual([
        'graphql_envelop_error_result',
        'graphql_envelop_request',
        'graphql_envelop_request_duration',
        'graphql_yoga_http_duration',
      ]);
    } finally {
      await stack.close();
    }
  });
});

describe('structured logs', () => {
  it('puts the request id on every line of the request, echoes it, sends it to telli, never logs keys', async () => {
    const stack = await createTestStack();
    try {
      const id = (stack.sandbox.contacts.values().next().value as SandboxContact).id;
      const res = await post(stack, JSON.stringify({ query: `query One { contact(id: "${id}") { id status } }` }), {
        ...json(),
        'x-request-id': 'req-abc-123',
      });
      expect(res.headers.get('x-request-id')).toBe('req-abc-123');
      expect(stack.sandbox.stats.requestIds).toEqual(['req-abc-123']);
      const lines = stack.logs.lines().filter((l) => l['component'] !== 'yoga');
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.every((l) => l['requestId'] === 'req-abc-123')).toBe(true);
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: 'graphql operation', operationName: 'One', errors: 0 }),
      );
      expect(stack.logs.text()).not.toContain(stack.sandbox.apiKey);
      const generated = await post(stack, JSON.stringify({ query: '{ __typename }' }), {
        ...json(),
        'x-request-id': 'bad id with spaces',
      });
      expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await stack.close();
    }
  });

  it('honours LOG_LEVEL', async () => {
    // The built server, as `npm start` runs it, with something to warn about at start-up (caller
    // tokens are ignored in sandbox mode) and an operation to log at info.
    const logsAt = async (level: string) => {
      const port = await freePort();
      const server = startServerProcess({
        PORT: String(port),
        LOG_LEVEL: level,
        CALLER_TOKENS: 'caller-token-0123456789abcdef',
      });
      const closed = once(server.child, 'close'); // every line read, not just the process gone
      try {
        await waitForHttp(`http://127.0.0.1:${port}/health`);
        const res = await postGraphQL(`http://127.0.0.1:${port}/graphql`, { query: 'query Logged { __typename }' });
        expect(res.status).toBe(200);
      } finally {
        await server.stop();
        await closed;
      }
      return server.lines;
    };
    const warning = { level: 'warn', msg: 'CALLER_TOKENS is ignored in sandbox mode (demo data only)' };
    const info = await logsAt('info');
    expect(info).toContainEqual(expect.objectContaining(warning));
    expect(info).toContainEqual(expect.objectContaining({ level: 'info', operationName: 'Logged' }));
    const warn = await logsAt('warn');
    expect(warn).toContainEqual(expect.objectContaining(warning));
    expect(warn.filter((l) => !['warn', 'error', 'fatal'].includes(String(l['level'])))).toEqual([]);
  });
});
