import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDemoContacts, type SandboxContact } from '../../src/sandbox/index.js';
import { codesOf, createTestStack, unknownId, type TestStack } from '../support/stack.js';

/**
 * Reads shared across GraphQL requests (src/telli/coalescing.ts and each resource's share of it):
 * single-flight always, a TTL cache when configured. Everything goes through `createLayer`
 * (test/support/stack.ts) against the sandbox over loopback; upstream calls are the sandbox's own
 * counts. Sandbox latency makes concurrent requests overlap. Group commit, the v1 batch read's
 * sharing, has its own file (group-commit.test.ts).
 */
const BATCH = 'POST /v1/get-contacts-batch';
const FIELDS = 'id firstName';

const contactQuery = (id: string) => `{ contact(id: "${id}") { ${FIELDS} } }`;
const expected = (c: SandboxContact) => ({ data: { contact: { id: c.id, firstName: c.firstName } } });

describe('single-flight across requests', () => {
  let stack: TestStack;
  let contacts: SandboxContact[];
  beforeAll(async () => {
    stack = await createTestStack({ sandbox: { latencyMs: 80 } });
    contacts = [...stack.sandbox.contacts.values()];
  });
  afterAll(() => stack.close());
  afterEach(() => stack.sandbox.resetStats());

  it('K concurrent requests for the same contact make one upstream call', async () => {
    const c = contacts[3] as SandboxContact;
    const K = 20;
    const responses = await Promise.all(Array.from({ length: K }, () => stack.raw(contactQuery(c.id))));
    for (const res of responses) expect(res).toEqual(expected(c));
    expect(stack.sandbox.stats.calls[BATCH]).toBe(1);
    expect(stack.sandbox.transport.requests).toBe(1);
  });

  it('coalesces per id: ids already in flight join, only the rest go upstream', async () => {
    const [a, b, c] = contacts.slice(10, 13) as [SandboxContact, SandboxContact, SandboxContact];
    const first = stack.raw(`{ contacts(ids: ["${a.id}", "${b.id}"]) { ${FIELDS} } }`);
    // The second request is sent once the first call is at telli (held there by the latency).
    await expect.poll(() => stack.sandbox.transport.inFlight, { interval: 1 }).toBe(1);
    const second = stack.raw(`{ contacts(ids: ["${b.id}", "${c.id}"]) { ${FIELDS} } }`);
    const [one, two] = await Promise.all([first, second]);
    const shown = (x: SandboxContact) => ({ id: x.id, firstName: x.firstName });
    expect(one).toEqual({ data: { contacts: [shown(a), shown(b)] } });
    expect(two).toEqual({ data: { contacts: [shown(b), shown(c)] } });
    expect(stack.sandbox.stats.batchSizes).toEqual([2, 1]);
  });

  it('a caller that goes away leaves the shared call; the others still get the contact', async () => {
    const c = contacts[20] as SandboxContact;
    const gone = new AbortController();
    const leaving = Promise.resolve(
      stack.app.fetch('http://layer.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: contactQuery(c.id) }),
        signal: gone.signal,
      }),
    ).then(
      (res) => res.text(),
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
    const staying = stack.raw(contactQuery(c.id));
    await new Promise((resolve) => setTimeout(resolve, 10));
    gone.abort();
    expect(await staying).toEqual(expected(c));
    await leaving;
    expect(stack.sandbox.stats.calls[BATCH]).toBe(1);
  });

  it('is not a cache: the next request after the call finished asks telli again', async () => {
    const c = contacts[30] as SandboxContact;
    expect(await stack.raw(contactQuery(c.id))).toEqual(expected(c));
    expect(await stack.raw(contactQuery(c.id))).toEqual(expected(c));
    expect(stack.sandbox.stats.calls[BATCH]).toBe(2);
  });
});

describe('credentials are never shared', () => {
  const keyA = 'tk_tenant_a_0123456789';
  const keyB = 'tk_tenant_b_9876543210';
  let stack: TestStack;
  let shared: SandboxContact;
  beforeAll(async () => {
    // Both tenants hold the same contact ids, so only the key tells their reads apart.
    stack = await createTestStack({
      auth: 'forward',
      sandbox: { apiKeys: [keyA], tenants: { [keyB]: createDemoContacts() }, latencyMs: 80 },
      env: { TELLI_CACHE_TTL_MS: '60000' },
    });
    shared = [...stack.sandbox.contacts.values()][5] as SandboxContact;
  });
  afterAll(() => stack.close());
  afterEach(() => stack.sandbox.resetStats());

  const as = (key: string) => stack.raw(contactQuery(shared.id), undefined, { authorization: `Bearer ${key}` });

  it('concurrent requests with two keys make one call per key, never one for both', async () => {
    const responses = await Promise.all([as(keyA), as(keyB), as(keyA), as(keyB), as(keyA), as(keyB)]);
    for (const res of responses) expect(res).toEqual(expected(shared));
    expect(stack.sandbox.stats.callsByKey).toEqual({ [keyA]: 1, [keyB]: 1 });
  });

  it('a contact cached for one key is not served to another', async () => {
    // The previous test filled the cache for both keys; a third key has its own (empty) scope.
    const keyC = 'tk_revoked_key_000';
    const res = await as(keyC);
    expect(codesOf(res)).toEqual(['UNAUTHENTICATED']);
    expect(stack.sandbox.stats.unauthorized).toBe(1);
    expect(await as(keyA)).toEqual(expected(shared));
    expect(stack.sandbox.transport.requests).toBe(1); // only keyC's refused call
  });
});

describe('the optional TTL cache', () => {
  it('is off by default: sequential reads each call telli', async () => {
    const stack = await createTestStack();
    try {
      const c = [...stack.sandbox.contacts.values()][1] as SandboxContact;
      for (let i = 0; i < 3; i++) expect(await stack.raw(contactQuery(c.id))).toEqual(expected(c));
      expect(stack.sandbox.stats.calls[BATCH]).toBe(3);
    } finally {
      await stack.close();
    }
  });

  describe('with a TTL', () => {
    let clock = 1_000_000;
    let stack: TestStack;
    let contacts: SandboxContact[];
    beforeAll(async () => {
      stack = await createTestStack({
        env: { TELLI_CACHE_TTL_MS: '5000', TELLI_CACHE_MAX_ENTRIES: '3' },
        deps: { now: () => clock },
      });
      contacts = [...stack.sandbox.contacts.values()];
    });
    afterAll(() => stack.close());
    afterEach(() => stack.sandbox.resetStats());

    it('repeated reads within the TTL make no upstream call; after it, one', async () => {
      const c = contacts[2] as SandboxContact;
      expect(await stack.raw(contactQuery(c.id))).toEqual(expected(c));
      clock += 4_000;
      expect(await stack.raw(contactQuery(c.id))).toEqual(expected(c));
      expect(await stack.raw(`{ again: contact(id: "${c.id.toUpperCase()}") { id } }`)).toEqual({
        data: { again: { id: c.id } },
      });
      expect(stack.sandbox.stats.calls[BATCH]).toBe(1);
      clock += 1_001;
      expect(await stack.raw(contactQuery(c.id))).toEqual(expected(c));
      expect(stack.sandbox.stats.calls[BATCH]).toBe(2);
    });

    it('a batch asks telli only for the ids it does not hold', async () => {
      const [a, b] = contacts.slice(40, 42) as [SandboxContact, SandboxContact];
      await stack.raw(contactQuery(a.id));
      await stack.raw(`{ contacts(ids: ["${a.id}", "${b.id}"]) { id } }`);
      expect(stack.sandbox.stats.batchSizes).toEqual([1, 1]);
    });

    it('keeps at most maxEntries contacts, dropping the least recently used', async () => {
      const [a, b, c, d] = contacts.slice(50, 54) as SandboxContact[] as [
        SandboxContact,
        SandboxContact,
        SandboxContact,
        SandboxContact,
      ];
      for (const x of [a, b, c]) await stack.raw(contactQuery(x.id));
      await stack.raw(contactQuery(a.id)); // a is now the most recently used
      await stack.raw(contactQuery(d.id)); // evicts b
      stack.sandbox.resetStats();
      for (const x of [a, c, d]) await stack.raw(contactQuery(x.id));
      expect(stack.sandbox.totalCalls()).toBe(0);
      await stack.raw(contactQuery(b.id));
      expect(stack.sandbox.totalCalls()).toBe(1);
    });

    it('never caches "not found" or errors', async () => {
      const missing = unknownId(777);
      for (let i = 0; i < 2; i++) expect(await stack.raw(contactQuery(missing))).toEqual({ data: { contact: null } });
      const broken = contacts[60] as SandboxContact;
      stack.sandbox.setItemError(broken.id, 'internal error');
      expect(codesOf(await stack.raw(contactQuery(broken.id)))).toEqual(['UPSTREAM_ITEM_ERROR']);
      stack.sandbox.setItemError(broken.id, undefined);
      expect(await stack.raw(contactQuery(broken.id))).toEqual(expected(broken));
      expect(stack.sandbox.stats.calls[BATCH]).toBe(4);
    });
  });
});
