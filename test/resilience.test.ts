import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { createDemoContacts, type SandboxContact } from '../src/sandbox/index.js';
import { createTelliClient, parseRetryAfter, TelliNetworkError } from '../src/telli/index.js';
import {
  codesOf,
  createTestStack,
  expectNoLeaks,
  unknownId,
  UPSTREAM_BODY,
  type GraphQLResponse,
  type TestStack,
  type TestStackOptions,
} from './support/stack.js';

/**
 * Fault injection over real loopback HTTP: the sandbox answers 429/503, hangs, resets sockets or
 * sends broken JSON on demand. Every case checks codes, surviving data, call counts, and that
 * neither the response nor the logs carry the key, telli's URL or an upstream body.
 */
const BATCH_PATH = '/v1/get-contacts-batch';

async function stackFor(options: TestStackOptions = {}) {
  const stack = await createTestStack(options);
  const contacts = [...stack.sandbox.contacts.values()];
  return { stack, contacts };
}

/** The process stays healthy after a fault: /health and a normal query both work. */
async function expectHealthy(stack: TestStack, contact: SandboxContact) {
  stack.sandbox.clearFaults();
  expect((await stack.app.fetch('http://layer.test/health')).status).toBe(200);
  const res = await stack.raw(`{ contact(id: "${contact.id}") { id } }`);
  expect(res).toEqual({ data: { contact: { id: contact.id } } });
}

const elapsed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
  const t0 = performance.now();
  const result = await work();
  return [result, performance.now() - t0];
};

describe('retries (429, 5xx, resets) with backoff', () => {
  let stack: TestStack;
  let contacts: SandboxContact[];
  beforeAll(async () => ({ stack, contacts } = await stackFor({ env: { TELLI_MAX_ATTEMPTS: '3' } })));
  afterAll(() => stack.close());
  afterEach(async () => {
    expectNoLeaks(stack);
    await expectHealthy(stack, contacts[0] as SandboxContact);
    stack.sandbox.resetStats();
  });

  const one = (c: SandboxContact) => stack.http(`{ contact(id: "${c.id}") { id firstName } }`);

  it('429 with Retry-After: 1, then success: data returned after two calls, having waited', async () => {
    const c = contacts[1] as SandboxContact;
    stack.sandbox.injectFault({ fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' } }, times: 1 });
    const [res, ms] = await elapsed(() => one(c));
    expect(res.body).toEqual({ data: { contact: { id: c.id, firstName: c.firstName } } });
    expect(stack.sandbox.transport.requests).toBe(2);
    expect(ms).toBeGreaterThanOrEqual(950);
  });

  it('429 whose Retry-After is beyond the deadline fails fast with RATE_LIMITED and retryAfterSeconds', async () => {
    stack.sandbox.injectFault({ fault: { kind: 'status', status: 429, headers: { 'retry-after': '120' } } });
    const [res, ms] = await elapsed(() => one(contacts[2] as SandboxContact));
    expect(res.status).toBe(200);
    expect(codesOf(res.body)).toEqual(['RATE_LIMITED']);
    expect(res.body.errors?.[0]?.extensions?.['retryAfterSeconds']).toBe(120);
    expect(stack.sandbox.transport.requests).toBe(1);
    expect(ms).toBeLessThan(1000);
    expectNoLeaks(stack, res.body);
  });

  it('503 forever: bounded attempts, then UPSTREAM_UNAVAILABLE, promptly, HTTP 200', async () => {
    stack.sandbox.injectFault({ fault: { kind: 'status', status: 503, body: UPSTREAM_BODY } });
    const [res, ms] = await elapsed(() => one(contacts[3] as SandboxContact));
    expect(res.status).toBe(200);
    expect(codesOf(res.body)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(res.body.data).toEqual({ contact: null });
    expect(stack.sandbox.transport.requests).toBe(3);
    expect(ms).toBeLessThan(1000);
    expectNoLeaks(stack, res.body);
  });

  it('502 and 504 are retried too', async () => {
    const c = contacts[4] as SandboxContact;
    stack.sandbox.injectFault({ fault: { kind: 'status', status: 502 }, times: 1 });
    stack.sandbox.injectFault({ fault: { kind: 'status', status: 504 }, times: 1 });
    const res = await one(c);
    expect(res.body.data).toEqual({ contact: { id: c.id, firstName: c.firstName } });
    expect(stack.sandbox.transport.requests).toBe(3);
  });

  it('other 4xx are never retried (and, being our bug, stay masked)', async () => {
    stack.sandbox.injectFault({ fault: { kind: 'status', status: 400, body: UPSTREAM_BODY } });
    const res = await one(contacts[5] as SandboxContact);
    expect(codesOf(res.body)).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(res.body.errors?.[0]?.message).toBe('Unexpected error.');
    expect(stack.sandbox.transport.requests).toBe(1);
    expect(stack.logs.lines().some((l) => l['level'] === 'error' && l['requestId'])).toBe(true);
    expectNoLeaks(stack, res.body);
  });

  it('a connection reset is retried; data arrives', async () => {
    const c = contacts[6] as SandboxContact;
    stack.sandbox.injectFault({ fault: { kind: 'reset' }, times: 1 });
    const res = await one(c);
    expect(res.body).toEqual({ data: { contact: { id: c.id, firstName: c.firstName } } });
    expect(stack.sandbox.transport.requests).toBe(2);
  });

  it('resets forever end in UPSTREAM_UNAVAILABLE after the bounded attempts', async () => {
    stack.sandbox.injectFault({ fault: { kind: 'reset' } });
    const res = await one(contacts[7] as SandboxContact);
    expect(codesOf(res.body)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(stack.sandbox.transport.requests).toBe(3);
  });

  it('malformed JSON is a contract break: UPSTREAM_INVALID_RESPONSE, not retried', async () => {
    stack.sandbox.injectFault({ fault: { kind: 'malformed' } });
    const res = await one(contacts[8] as SandboxContact);
    expect(codesOf(res.body)).toEqual(['UPSTREAM_INVALID_RESPONSE']);
    expect(stack.sandbox.transport.requests).toBe(1);
    expect(JSON.stringify(res.body)).not.toContain('oops');
  });

  it('a contract-breaking contact among good ones fails alone', async () => {
    const [bad, good] = [contacts[9], contacts[10]] as [SandboxContact, SandboxContact];
    stack.sandbox.setRawV1(bad.id, { contact_id: bad.id, contact_details: [UPSTREAM_BODY] });
    try {
      const res = await stack.raw(`{ contacts(ids: ["${bad.id}", "${good.id}"]) { id firstName } }`);
      expect(codesOf(res)).toEqual(['UPSTREAM_INVALID_RESPONSE']);
      expect(res.data).toEqual({ contacts: [null, { id: good.id, firstName: good.firstName }] });
      expectNoLeaks(stack, res);
    } finally {
      stack.sandbox.setRawV1(bad.id, undefined);
    }
  });

  it('one failing chunk among three fails only its own contacts', async () => {
    const marker = unknownId(777_777);
    const a = [...contacts.slice(0, 200).map((c) => c.id), ...Array.from({ length: 800 }, (_, i) => unknownId(i))];
    const b = [marker, ...Array.from({ length: 999 }, (_, i) => unknownId(10_000 + i))];
    const c = [(contacts[250] as SandboxContact).id, ...Array.from({ length: 499 }, (_, i) => unknownId(20_000 + i))];
    stack.sandbox.injectFault({
      match: (req) => req.url === BATCH_PATH && req.body.includes(marker),
      fault: { kind: 'status', status: 503 },
    });
    const res = await stack.raw(
      'query ($a: [ID!]!, $b: [ID!]!, $c: [ID!]!) { a: contacts(ids: $a) { id } b: contacts(ids: $b) { id } c: contacts(ids: $c) { id } }',
      { a, b, c },
    );
    const errors = res.errors ?? [];
    expect(errors).toHaveLength(1000);
    expect(new Set(errors.map((e) => e.extensions?.['code']))).toEqual(new Set(['UPSTREAM_UNAVAILABLE']));
    expect(new Set(errors.map((e) => e.path?.[0]))).toEqual(new Set(['b']));
    const data = res.data as Record<string, ({ id: string } | null)[]>;
    expect(data['a']?.slice(0, 200).map((x) => x?.id)).toEqual(a.slice(0, 200));
    expect(data['c']?.[0]?.id).toBe(c[0]);
    expect(stack.sandbox.transport.requests).toBe(2 + 3); // two good chunks, three attempts at the bad one
  });
});

describe('timeouts and the request deadline', () => {
  it('a hang past TELLI_TIMEOUT_MS gives UPSTREAM_TIMEOUT after one attempt', async () => {
    const { stack, contacts } = await stackFor({ env: { TELLI_TIMEOUT_MS: '300' } });
    try {
      stack.sandbox.injectFault({ fault: { kind: 'hang' }, times: 1 });
      const [res, ms] = await elapsed(() => stack.http(`{ contact(id: "${contacts[0]?.id}") { id } }`));
      expect(res.status).toBe(200);
      expect(codesOf(res.body)).toEqual(['UPSTREAM_TIMEOUT']);
      expect(stack.sandbox.transport.requests).toBe(1);
      expect(ms).toBeGreaterThanOrEqual(250);
      expect(ms).toBeLessThan(2000);
      expectNoLeaks(stack, res.body);
      await expectHealthy(stack, contacts[1] as SandboxContact);
    } finally {
      await stack.close();
    }
  });

  it('the per-request deadline cuts a hang short even when the attempt timeout is long', async () => {
    const { stack, contacts } = await stackFor({ env: { TELLI_TIMEOUT_MS: '30000', REQUEST_DEADLINE_MS: '400' } });
    try {
      stack.sandbox.injectFault({ fault: { kind: 'hang' }, times: 1 });
      const [res, ms] = await elapsed(() => stack.raw(`{ contact(id: "${contacts[0]?.id}") { id } }`));
      expect(codesOf(res)).toEqual(['UPSTREAM_TIMEOUT']);
      expect(ms).toBeLessThan(2000);
      await expectHealthy(stack, contacts[1] as SandboxContact);
    } finally {
      await stack.close();
    }
  });

  it('retries stop at the deadline: backoff that would overrun it is not started', async () => {
    const { stack, contacts } = await stackFor({
      env: {
        TELLI_MAX_ATTEMPTS: '10',
        TELLI_RETRY_BASE_MS: '200',
        TELLI_RETRY_MAX_MS: '200',
        REQUEST_DEADLINE_MS: '500',
      },
      deps: { random: () => 1 },
    });
    try {
      stack.sandbox.injectFault({ fault: { kind: 'status', status: 503 } });
      const [res, ms] = await elapsed(() => stack.raw(`{ contact(id: "${contacts[0]?.id}") { id } }`));
      expect(codesOf(res)).toEqual(['UPSTREAM_UNAVAILABLE']);
      expect(stack.sandbox.transport.requests).toBeLessThanOrEqual(3);
      expect(ms).toBeLessThan(1500);
    } finally {
      await stack.close();
    }
  });
});

describe('connection refused', () => {
  it('is retried up to the attempt limit, then UPSTREAM_UNAVAILABLE', async () => {
    const { stack } = await stackFor();
    const closedUrl = stack.sandbox.url;
    await stack.close(); // nothing listens there any more
    const attempts: (string | undefined)[] = [];
    const client = createTelliClient({
      ...parseConfig({}).telli,
      baseUrl: closedUrl,
      timeoutMs: 1000,
      retryBaseDelayMs: 5,
      hooks: { onAttempt: (e) => attempts.push(e.error instanceof TelliNetworkError ? e.error.code : undefined) },
    });
    const result = await client.getContactsBatch([unknownId(1)], { apiKey: 'k' });
    expect(result.get(unknownId(1))).toBeInstanceOf(TelliNetworkError);
    expect(attempts).toEqual(['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED']);
    await client.close();
  });
});

describe('concurrency limit toward telli', () => {
  it('queues excess calls instead of failing them, never exceeding the limit', async () => {
    const { stack, contacts } = await stackFor({ env: { TELLI_MAX_CONCURRENCY: '2' }, sandbox: { latencyMs: 40 } });
    try {
      const picked = contacts.slice(0, 8);
      // v2 reads (`updatedAt`): one call per contact, so 8 operations need 8 calls. (Concurrent v1
      // reads would share calls through the group commit of shared reads.)
      const responses = await Promise.all(picked.map((c) => stack.raw(`{ contact(id: "${c.id}") { id updatedAt } }`)));
      expect(responses.map((r) => (r.data?.['contact'] as { id: string }).id)).toEqual(picked.map((c) => c.id));
      expect(stack.sandbox.transport.requests).toBe(8);
      expect(stack.sandbox.transport.maxInFlight).toBeLessThanOrEqual(2);
    } finally {
      await stack.close();
    }
  });
});

describe('credentials', () => {
  it("server key mode: telli rejecting the server's own key is the operator's fault, said without the key, and logged loudly", async () => {
    const { stack, contacts } = await stackFor({ serverApiKey: 'tk_live_wrong_server_key_123' });
    try {
      const res = await stack.http(`{ contact(id: "${contacts[0]?.id}") { id } other: contact(id: "nope") { id } }`);
      expect(res.status).toBe(200);
      expect(codesOf(res.body).sort()).toEqual(['BAD_USER_INPUT', 'TELLI_SERVER_KEY_REJECTED']);
      expect(res.text).not.toContain('401');
      const alert = stack.logs.lines().find((l) => l['alert'] === 'telli-server-key-rejected');
      expect(alert).toMatchObject({ level: 'fatal' });
      expect(stack.sandbox.stats.unauthorized).toBe(1); // 401 is not retried
      expect(stack.logs.text()).not.toContain('tk_live_wrong_server_key_123');
      expect(res.text).not.toContain('tk_live_wrong_server_key_123');
    } finally {
      await stack.close();
    }
  });

  describe('forwarded key mode', () => {
    const keyA = 'tk_tenant_a_0123456789';
    const keyB = 'tk_tenant_b_9876543210';
    const tenantB = createDemoContacts(20, 4242);
    let stack: TestStack;
    let contactsA: SandboxContact[];
    beforeAll(async () => {
      ({ stack, contacts: contactsA } = await stackFor({
        auth: 'forward',
        sandbox: { apiKeys: [keyA], tenants: { [keyB]: tenantB } },
      }));
    });
    afterAll(() => stack.close());
    afterEach(() => {
      for (const key of [keyA, keyB]) expect(stack.logs.text()).not.toContain(key);
      stack.sandbox.resetStats();
    });

    const as = (key: string | undefined, query: string) =>
      stack.raw(query, undefined, key === undefined ? {} : { authorization: `Bearer ${key}` });

    it('a request without a key gets UNAUTHENTICATED and makes no upstream call', async () => {
      const res = await as(undefined, `{ contact(id: "${contactsA[0]?.id}") { id } }`);
      expect(codesOf(res)).toEqual(['UNAUTHENTICATED']);
      expect(res.data).toEqual({ contact: null });
      expect(stack.sandbox.transport.requests).toBe(0);
    });

    it('a malformed Authorization header counts as no key', async () => {
      const res = await stack.raw(`{ contact(id: "${contactsA[0]?.id}") { id } }`, undefined, {
        authorization: 'Basic abc',
      });
      expect(codesOf(res)).toEqual(['UNAUTHENTICATED']);
      expect(stack.sandbox.transport.requests).toBe(0);
    });

    it("sends the caller's key, and each tenant sees only its own contacts", async () => {
      const [a, b] = [contactsA[1], tenantB[1]] as [SandboxContact, SandboxContact];
      const query = `{ a: contact(id: "${a.id}") { id firstName } b: contact(id: "${b.id}") { id firstName } }`;
      const [asA, asB] = await Promise.all([as(keyA, query), as(keyB, query)]);
      expect(asA).toEqual({ data: { a: { id: a.id, firstName: a.firstName }, b: null } });
      expect(asB).toEqual({ data: { a: null, b: { id: b.id, firstName: b.firstName } } });
      expect(stack.sandbox.stats.callsByKey).toEqual({ [keyA]: 1, [keyB]: 1 });
    });

    it('telli rejecting a forwarded key gives UNAUTHENTICATED', async () => {
      const res: GraphQLResponse = await as('tk_revoked_key_000', `{ contact(id: "${contactsA[0]?.id}") { id } }`);
      expect(codesOf(res)).toEqual(['UNAUTHENTICATED']);
      expect(res.errors?.[0]?.message).toBe('telli rejected the API key you sent.');
      expect(stack.logs.text()).not.toContain('tk_revoked_key_000');
    });
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP-dates, ignores garbage', () => {
    const now = Date.parse('2026-11-26T12:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Thu, 26 Nov 2026 12:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Thu, 26 Nov 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
