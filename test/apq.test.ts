import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { codesOf, useSharedStack, type GraphQLResponse, type TestStack } from './support/stack.js';

/**
 * Automatic Persisted Queries as Apollo Server answers them (its request pipeline is the
 * reference: messages, codes, statuses, headers), through the production wiring. Apollo Client's
 * own PersistedQueryLink against the built server is test/compat/apollo-client-apq.test.ts; many
 * instances sharing registrations through Redis is test/apq-redis.e2e.test.ts.
 */
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/** Every GraphQL answer's, APQ's handshake answers included: no cache keeps one. */
const NO_STORE = 'private, no-store';
const BATCH = 'POST /v1/get-contacts-batch';

interface Reply {
  status: number;
  headers: Headers;
  body: GraphQLResponse;
}

async function post(stack: TestStack, body: unknown): Promise<Reply> {
  const res = await stack.app.fetch('http://layer.test/graphql', {
    method: 'POST',
    // What Apollo Client sends.
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json;q=0.9',
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as GraphQLResponse };
}

async function get(stack: TestStack, params: Record<string, unknown>): Promise<Reply> {
  const query = new URLSearchParams(
    Object.entries(params).map(([name, value]) => [name, typeof value === 'string' ? value : JSON.stringify(value)]),
  );
  const res = await stack.app.fetch(`http://layer.test/graphql?${query.toString()}`, {
    headers: { accept: 'application/graphql-response+json', 'x-graphql-yoga-csrf': '1' },
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as GraphQLResponse };
}

const hashOnly = (query: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } });
const withHash = (query: string, hash = sha256(query)) => ({
  query,
  extensions: { persistedQuery: { version: 1, sha256Hash: hash } },
});

/** Apollo Server's answer to a hash it cannot run: 200, its message and code, never cached. */
function expectApolloAnswer(reply: Reply, message: string, code: string) {
  expect(reply.status).toBe(200);
  expect(reply.body).toEqual({ errors: [{ message, extensions: { code } }] });
  expect(reply.headers.get('cache-control')).toBe(NO_STORE);
}

describe('PERSISTED_OPERATIONS=off (the default): APQ clients are told to send documents', () => {
  let stack: TestStack;
  useSharedStack((s) => (stack = s));

  it('a hash alone is PersistedQueryNotSupported, over POST and GET, and calls nothing', async () => {
    const query = '{ telliService { name } }';
    expectApolloAnswer(
      await post(stack, hashOnly(query)),
      'PersistedQueryNotSupported',
      'PERSISTED_QUERY_NOT_SUPPORTED',
    );
    expectApolloAnswer(
      await get(stack, { extensions: hashOnly(query).extensions }),
      'PersistedQueryNotSupported',
      'PERSISTED_QUERY_NOT_SUPPORTED',
    );
    expect(stack.sandbox.stats.calls).toEqual({});
  });

  it('a document beside its hash runs (the hash adds nothing), and is not remembered', async () => {
    const query = '{ telliService { name } }';
    const ran = await post(stack, withHash(query));
    expect(ran.body).toEqual({ data: { telliService: { name: 'telli-graphql' } } });
    expect((await post(stack, hashOnly(query))).body.errors?.[0]?.message).toBe('PersistedQueryNotSupported');
  });
});

describe('PERSISTED_OPERATIONS=allow without a manifest: APQ registers what clients send', () => {
  let stack: TestStack;
  let contactId: string;
  useSharedStack((s, contacts) => ((stack = s), (contactId = contacts[0]!.id)), {
    env: { PERSISTED_OPERATIONS: 'allow' },
  });

  it('unknown hash → PersistedQueryNotFound; the document with its hash runs and registers; then the hash alone runs', async () => {
    const query = `query Registered { contact(id: "${contactId}") { id firstName } }`;
    expectApolloAnswer(await post(stack, hashOnly(query)), 'PersistedQueryNotFound', 'PERSISTED_QUERY_NOT_FOUND');
    const registering = await post(stack, withHash(query));
    expect(registering.status).toBe(200);
    expect(registering.body.errors).toBeUndefined();
    const byHash = await post(stack, hashOnly(query));
    expect(byHash).toMatchObject({ status: 200, body: registering.body });
    // Apollo Client's useGETForHashedQueries: the hash alone fits in a URL.
    expect((await get(stack, { extensions: hashOnly(query).extensions })).body).toEqual(registering.body);
    expect(stack.sandbox.stats.calls).toEqual({ [BATCH]: 3 });
  });

  it('a hash that is not the sha256 of the document: 400, nothing runs, nothing registers', async () => {
    const query = `query Hijack { contact(id: "${contactId}") { id } }`;
    const victim = sha256('query Victim { telliService { name } }');
    const refused = await post(stack, withHash(query, victim));
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      errors: [{ message: 'provided sha does not match query', extensions: { code: 'PERSISTED_QUERY_MISMATCH' } }],
    });
    expect(stack.sandbox.stats.calls).toEqual({});
    const lookup = await post(stack, { extensions: { persistedQuery: { version: 1, sha256Hash: victim } } });
    expect(lookup.body.errors?.[0]?.message).toBe('PersistedQueryNotFound');
  });

  it('a document that does not validate is not registered', async () => {
    const query = '{ nope }';
    expect(codesOf((await post(stack, withHash(query))).body)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect((await post(stack, hashOnly(query))).body.errors?.[0]?.message).toBe('PersistedQueryNotFound');
  });

  it('a malformed persistedQuery beside a document is PERSISTED_QUERY_INVALID_ID, not silently ignored', async () => {
    const query = '{ telliService { name } }';
    const reply = await post(stack, {
      query,
      extensions: { persistedQuery: { version: 2, sha256Hash: sha256(query) } },
    });
    expect(reply.status).toBe(400);
    expect(codesOf(reply.body)).toEqual(['PERSISTED_QUERY_INVALID_ID']);
  });

  it('a subscription registers too, once it has started', async () => {
    const query = 'subscription Live { callEnded { occurredAt } }';
    const res = await stack.app.fetch('http://layer.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(withHash(query)),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await reader.read(); // the stream is open: the subscription started
    await reader.cancel();
    const byHash = await stack.app.fetch('http://layer.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(hashOnly(query)),
    });
    expect(byHash.status).toBe(200);
    expect(byHash.headers.get('content-type')).toMatch(/text\/event-stream/);
    // An unknown hash would be an error event at once; a registered one opens the subscription.
    const byHashReader = byHash.body!.getReader();
    const first = new TextDecoder().decode((await byHashReader.read()).value);
    await byHashReader.cancel();
    expect(first).not.toMatch(/errors|PersistedQuery/);
  });
});

describe('the store is bounded (APQ_MAX_ENTRIES, APQ_MAX_BYTES): the least recently used go first', () => {
  let stack: TestStack;
  useSharedStack((s) => (stack = s), {
    env: { PERSISTED_OPERATIONS: 'allow', APQ_MAX_ENTRIES: '2', APQ_MAX_BYTES: '200' },
  });
  const known = async (query: string) => (await post(stack, hashOnly(query))).body.errors === undefined;

  it('keeps at most APQ_MAX_ENTRIES documents', async () => {
    const [a, b, c] = ['query A { __typename }', 'query B { __typename }', 'query C { __typename }'];
    for (const query of [a!, b!, c!]) await post(stack, withHash(query));
    expect([await known(a!), await known(b!), await known(c!)]).toEqual([false, true, true]);
  });

  it('a document larger than APQ_MAX_BYTES runs, unregistered', async () => {
    const query = `query Long { ${Array.from({ length: 20 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    expect(Buffer.byteLength(query)).toBeGreaterThan(200);
    expect((await post(stack, withHash(query))).body.data).toMatchObject({ a0: 'Query' });
    expect(await known(query)).toBe(false);
  });
});
