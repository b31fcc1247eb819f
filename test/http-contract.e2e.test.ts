import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SAMPLE_CONTACT_ID, startSandbox, type RunningSandbox } from '../src/sandbox/index.js';
import { postGraphQL, ROOT, startLayerProcess, type GraphQLBody, type RunningProcess } from './support/process.js';
import { codesOf } from './support/stack.js';

/**
 * The HTTP contract users see, proven on the process `npm start` runs (`node dist/server.js`,
 * built once per test run as `npm start` builds it): the GraphQL-over-HTTP audits, syntax and
 * validation errors, every refusal's status and code, the limits, masking, and the UPSTREAM_*
 * codes from real faults of a telli-compatible server.
 */
const JSON_ONLY = { accept: 'application/json' };

describe('the shipped bundle', () => {
  it('holds exactly one copy of graphql (else Yoga masks the parser errors of the other copy)', async () => {
    const bundle = await readFile(`${ROOT}dist/server.js`, 'utf8');
    // graphql's classes, each defined once per copy of the library in the bundle.
    expect(bundle.match(/class _GraphQLError\b/g)).toHaveLength(1);
    expect(bundle.match(/return\s*"GraphQLSchema"/g)).toHaveLength(1);
    expect(bundle.match(/return\s*"GraphQLObjectType"/g)).toHaveLength(1);
  });
});

describe('npm start in sandbox mode', () => {
  let layer: RunningProcess;
  beforeAll(async () => {
    layer = await startLayerProcess({});
  });
  afterAll(() => layer.server.stop());

  describe('GraphQL over HTTP (graphql-http serverAudits)', () => {
    // Every audit, MAYs included: GETs need no header (they run queries and subscriptions only).
    for (const audit of serverAudits({ url: () => layer.graphqlUrl, fetchFn: fetch })) {
      it(audit.name, async () => {
        const result = await audit.fn();
        if (result.status === 'ok') return;
        expect.fail(
          `${result.status}: ${result.reason}${'response' in result ? `\n${JSON.stringify(result.response)}` : ''}`,
        );
      });
    }
  });

  it("answers a syntax error with the parser's message and GRAPHQL_PARSE_FAILED: 400, or 200 for application/json", async () => {
    for (const [accept, status] of [
      ['application/graphql-response+json', 400],
      ['application/json', 200],
    ] as const) {
      const res = await postGraphQL(layer.graphqlUrl, { query: '{' }, { accept });
      expect(res.status).toBe(status);
      expect(res.body.data).toBeUndefined();
      expect(res.body.errors).toEqual([
        expect.objectContaining({
          message: 'Syntax Error: Expected Name, found <EOF>.',
          extensions: { code: 'GRAPHQL_PARSE_FAILED' },
        }),
      ]);
    }
    // A syntax error is the caller's, not ours: nothing is logged as an error. The marker's access
    // line comes after whatever the syntax errors logged, so nothing is still in the pipe.
    await postGraphQL(layer.graphqlUrl, { query: '{ __typename }' }, { 'x-request-id': 'contract-syntax-marker' });
    await layer.server.waitForLine(
      (l) => l['requestId'] === 'contract-syntax-marker' && l['msg'] === 'graphql operation',
    );
    expect(layer.server.lines.filter((l) => l['level'] === 'error' || l['level'] === 'fatal')).toEqual([]);
  });

  it('answers a validation error with GRAPHQL_VALIDATION_FAILED (400, or 200 for application/json)', async () => {
    const strict = await postGraphQL(layer.graphqlUrl, { query: '{ contact { nope } }' });
    expect(strict.status).toBe(400);
    expect(codesOf(strict.body)).toContain('GRAPHQL_VALIDATION_FAILED');
    const lenient = await postGraphQL(layer.graphqlUrl, { query: '{ nope }' }, JSON_ONLY);
    expect(lenient.status).toBe(200);
    expect(codesOf(lenient.body)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('gives every refusal a status, a stable code and a message of its own', async () => {
    const graphql = layer.graphqlUrl;
    const raw = async (url: string, init: RequestInit) => {
      const res = await fetch(url, init);
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: JSON.parse(text) as GraphQLBody };
    };
    const cases: [string, Promise<{ status: number; body: GraphQLBody; headers: Headers }>, number, string][] = [
      ['unknown path', raw(`${layer.url}/nope`, {}), 404, 'NOT_FOUND'],
      ['trailing slash', raw(`${graphql}/`, { method: 'POST', body: '{}' }), 404, 'NOT_FOUND'],
      [
        'PUT',
        raw(graphql, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: '{"query":"{ __typename }"}',
        }),
        405,
        'METHOD_NOT_ALLOWED',
      ],
      [
        'mutation over GET',
        raw(`${graphql}?query=${encodeURIComponent('mutation { __typename }')}`, {
          headers: { 'x-graphql-yoga-csrf': '1', accept: 'application/json' },
        }),
        405,
        'METHOD_NOT_ALLOWED',
      ],
      [
        'mutation over GET without the CSRF header',
        raw(`${graphql}?query=${encodeURIComponent('mutation { __typename }')}`, { headers: JSON_ONLY }),
        405,
        'METHOD_NOT_ALLOWED',
      ],
      [
        'text/plain POST without the CSRF header',
        raw(graphql, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"query":"{ __typename }"}' }),
        403,
        'CSRF_HEADER_REQUIRED',
      ],
      [
        'an unknown media type',
        raw(graphql, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<q/>' }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        'an Accept nothing satisfies',
        raw(graphql, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/csv' },
          body: '{"query":"{ __typename }"}',
        }),
        406,
        'NOT_ACCEPTABLE',
      ],
      [
        'malformed JSON',
        raw(graphql, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":' }),
        400,
        'BAD_REQUEST',
      ],
      [
        'a missing required variable',
        raw(graphql, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
          body: JSON.stringify({ query: 'query ($ids: [ID!]!) { contacts(ids: $ids) { id } }' }),
        }),
        400,
        'BAD_USER_INPUT',
      ],
      [
        'an operationName the document lacks',
        raw(graphql, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
          body: JSON.stringify({ query: 'query A { __typename }', operationName: 'B' }),
        }),
        400,
        'OPERATION_RESOLUTION_FAILURE',
      ],
    ];
    for (const [name, pending, status, code] of cases) {
      const res = await pending;
      expect({ name, status: res.status, codes: codesOf(res.body) }).toEqual({ name, status, codes: [code] });
      const message = res.body.errors?.[0]?.message ?? '';
      expect(message.length, name).toBeGreaterThan(0);
      // Our own words: never the JSON parser's, never an originalError.
      expect(JSON.stringify(res.body), name).not.toMatch(/originalError|Unexpected end of JSON|SyntaxError/);
    }
  });

  it('enforces the limits before execution: 413, QUERY_TOO_COMPLEX, COST_LIMIT_EXCEEDED', async () => {
    const big = JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(1024 * 1024) } });
    const tooBig = await postGraphQL(layer.graphqlUrl, big);
    expect(tooBig.status).toBe(413);
    expect(codesOf(tooBig.body)).toEqual(['PAYLOAD_TOO_LARGE']);

    const chunked = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        layer.graphqlUrl,
        { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write('{"query":"{ __typename }","variables":{"pad":"');
      for (let i = 0; i < 20; i++) req.write('x'.repeat(64 * 1024));
      req.end('"}}');
    });
    expect(chunked).toBe(413);

    const aliases = Array.from({ length: 101 }, (_, i) => `a${i}: telliService { name }`).join(' ');
    const tooManyAliases = await postGraphQL(layer.graphqlUrl, { query: `{ ${aliases} }` });
    expect(tooManyAliases.status).toBe(400);
    expect(codesOf(tooManyAliases.body)).toEqual(['QUERY_TOO_COMPLEX']);

    const ids = Array.from({ length: 1000 }, () => SAMPLE_CONTACT_ID);
    const tooCostly = await postGraphQL(layer.graphqlUrl, {
      query:
        'query ($ids: [ID!]!) { a: contacts(ids: $ids) { id } b: contacts(ids: $ids) { id } c: contacts(ids: $ids) { id } }',
      variables: { ids },
    });
    expect(tooCostly.status).toBe(400);
    expect(codesOf(tooCostly.body)).toEqual(['COST_LIMIT_EXCEEDED']);
    expect(tooCostly.body.errors?.[0]?.extensions).toMatchObject({ cost: 3003, maxCost: 3000 });
  });

  it('answers a GET query without any custom header, and serves GraphiQL to browsers', async () => {
    const get = await fetch(
      `${layer.graphqlUrl}?query=${encodeURIComponent(`{ contact(id: "${SAMPLE_CONTACT_ID}") { firstName } }`)}`,
      { headers: { accept: 'application/graphql-response+json' } },
    );
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ data: { contact: { firstName: 'Ada' } } });
    const page = await fetch(layer.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('graphiql');
  });
});

describe('npm start against a telli-compatible server that fails', () => {
  const key = 'tk_live_contract_0123456789abcdef';
  const UPSTREAM_BODY = 'telli-internal-detail-9c1e';
  let telli: RunningSandbox;
  let layer: RunningProcess;
  beforeAll(async () => {
    telli = await startSandbox({ apiKeys: [key] });
    layer = await startLayerProcess({
      TELLI_API_KEY: key,
      TELLI_BASE_URL: telli.url,
      TELLI_TIMEOUT_MS: '300',
      TELLI_RETRY_BASE_MS: '10',
      TELLI_RETRY_MAX_MS: '20',
      // One contact's batch answer is ~0.6 kB; 30 contacts' is far more.
      TELLI_MAX_RESPONSE_BYTES: '8000',
    });
  });
  afterAll(async () => {
    await layer.server.stop();
    await telli.close();
  });
  beforeEach(() => {
    telli.clearFaults();
    telli.resetStats();
  });

  const one = () =>
    postGraphQL(layer.graphqlUrl, { query: `{ contact(id: "${SAMPLE_CONTACT_ID}") { id firstName } }` });

  it('maps telli faults to UPSTREAM_* codes on the field, HTTP 200, nothing of telli in the answer', async () => {
    const faults = [
      [{ kind: 'status', status: 503, body: UPSTREAM_BODY }, 'UPSTREAM_UNAVAILABLE'],
      [{ kind: 'status', status: 429, headers: { 'retry-after': '120' } }, 'RATE_LIMITED'],
      [{ kind: 'hang' }, 'UPSTREAM_TIMEOUT'],
      [{ kind: 'malformed' }, 'UPSTREAM_INVALID_RESPONSE'],
      [{ kind: 'reset' }, 'UPSTREAM_UNAVAILABLE'],
    ] as const;
    for (const [fault, code] of faults) {
      telli.clearFaults();
      telli.injectFault({ fault });
      const res = await one();
      expect({ fault: fault.kind, status: res.status, codes: codesOf(res.body) }).toEqual({
        fault: fault.kind,
        status: 200,
        codes: [code],
      });
      expect(res.body.data).toEqual({ contact: null });
      const text = JSON.stringify(res.body);
      expect(text).not.toContain(UPSTREAM_BODY);
      expect(text).not.toContain(new URL(telli.url).host);
    }
  });

  it('masks an unexpected failure as INTERNAL_SERVER_ERROR and logs it with the request id, without the key', async () => {
    // telli refusing a request we built is our bug, not the caller's.
    telli.injectFault({ fault: { kind: 'status', status: 400, body: UPSTREAM_BODY } });
    const res = await postGraphQL(
      layer.graphqlUrl,
      { query: `{ contact(id: "${SAMPLE_CONTACT_ID}") { id } }` },
      { 'x-request-id': 'contract-masked-1' },
    );
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }),
    ]);
    const logged = await layer.server.waitForLine(
      (l) => l['requestId'] === 'contract-masked-1' && l['level'] === 'error',
    );
    expect(logged['msg']).toBe('unexpected error (masked for the client)');
    expect(layer.server.stdout()).not.toContain(key);
  });

  it('refuses a telli answer larger than TELLI_MAX_RESPONSE_BYTES as UPSTREAM_INVALID_RESPONSE', async () => {
    const ids = [...telli.contacts.keys()].slice(0, 30);
    const res = await postGraphQL(layer.graphqlUrl, {
      query: 'query ($ids: [ID!]!) { contacts(ids: $ids) { id } }',
      variables: { ids },
    });
    expect(res.status).toBe(200);
    expect(new Set(codesOf(res.body))).toEqual(new Set(['UPSTREAM_INVALID_RESPONSE']));
    // A small answer still passes.
    expect((await one()).body).toEqual({ data: { contact: { id: SAMPLE_CONTACT_ID, firstName: 'Ada' } } });
  });
});
