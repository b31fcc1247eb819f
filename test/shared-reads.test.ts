import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDemoContacts, startSandbox, type RunningSandbox, type SandboxContact } from '../src/sandbox/index.js';
import {
  Cancellation,
  createCoalescingClient,
  createTelliClient,
  TelliContractError,
  TelliTimeoutError,
  type CallOptions,
  type TelliClient,
  type TelliClientOptions,
} from '../src/telli/index.js';
import { parseConfig } from '../src/config.js';
import { PARTIAL_CALLS_IN_FLIGHT } from '../src/telli/group-commit.js';
import { codesOf, createTestStack, unknownId, type TestStack } from './support/stack.js';

/**
 * Reads shared across GraphQL requests (src/telli/coalescing.ts): single-flight always, a TTL
 * cache when configured. Everything goes through `createLayer` against the sandbox over loopback;
 * upstream calls are the sandbox's own counts. Sandbox latency makes concurrent requests overlap.
 */
const BATCH = 'POST /v1/get-contacts-batch';
/** Shared reads with no cache that collect ids as soon as one batch call of the key is in flight. */
const ONE_CALL_AT_A_TIME = { ttlMs: 0, maxEntries: 0, partialCallsInFlight: 1 };

/** A telli client with the layer's defaults (a long attempt timeout), over `baseUrl`. */
const clientFor = (baseUrl: string, options: Partial<TelliClientOptions> = {}) =>
  createTelliClient({ ...parseConfig({}).telli, timeoutMs: 30_000, ...options, baseUrl });
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

/**
 * Group commit (src/telli/group-commit.ts): while a key has a call in flight, ids other callers ask
 * for collect into its next call. The client-level tests drive `createCoalescingClient` directly,
 * so which reads overlap is decided by the test, not by timing; the GraphQL tests show the same
 * through `createLayer`. Upstream calls are the sandbox's counts throughout.
 */
describe('group commit across requests', () => {
  let sandbox: RunningSandbox;
  let inner: TelliClient;
  let shared: TelliClient;
  let contacts: SandboxContact[];
  const key = (): CallOptions => ({ apiKey: sandbox.apiKey, requestId: 'test' });
  beforeAll(async () => {
    sandbox = await startSandbox({ latencyMs: 60 });
    contacts = [...sandbox.contacts.values()];
  });
  beforeEach(() => {
    // A fresh client per test: the duration estimate that bounds the hold starts from its default.
    inner = clientFor(sandbox.url, { retryBaseDelayMs: 10, retryMaxDelayMs: 20 });
    // One partial call per key in flight before ids collect, so that each test can say exactly
    // which call carries what; the last test of this block checks the production number.
    shared = createCoalescingClient(inner, ONE_CALL_AT_A_TIME);
    sandbox.resetStats();
    sandbox.clearFaults();
  });
  afterEach(() => inner.close());
  afterAll(() => sandbox.close());

  const idsOf = (from: number, count: number) => Array.from({ length: count }, (_, i) => unknownId(from + i));

  it('K overlapping reads make ceil(K/1000) calls plus the one already in flight', async () => {
    const calls: { ids: number; callers: number }[] = [];
    shared = createCoalescingClient(inner, {
      ...ONE_CALL_AT_A_TIME,
      hooks: { onSharedBatch: ({ ids, callers }) => calls.push({ ids, callers }) },
    });
    const ids = idsOf(1, 2500);
    const reads = ids.map((id) => shared.getContactsBatch([id], key()));
    // The first read went out at once; the next 1000 filled a call that left as soon as it was
    // full, and so did the next 1000; the last 499 waited for the first call and went together.
    const results = await Promise.all(reads);
    results.forEach((result, i) => expect(result.get(ids[i] as string)).toBeNull());
    expect([...sandbox.stats.batchSizes].sort((a, b) => a - b)).toEqual([1, 499, 1000, 1000]);
    // In the order they were sent, with one caller per id.
    expect(calls).toEqual([1, 1000, 1000, 499].map((n) => ({ ids: n, callers: n })));
  });

  it('an idle key sends a read at once, alone', async () => {
    const c = contacts[0] as SandboxContact;
    const result = await shared.getContactsBatch([c.id], key());
    expect(result.get(c.id)).toMatchObject({ id: c.id, firstName: c.firstName });
    expect(sandbox.stats.batchSizes).toEqual([1]);
    // Nothing in flight any more: the next read goes out at once too, never joining the last one.
    await shared.getContactsBatch([c.id], key());
    expect(sandbox.stats.batchSizes).toEqual([1, 1]);
  });

  it('two keys never share a call', async () => {
    const other = 'tk_second_tenant_0123456789';
    const tenant = await startSandbox({
      apiKeys: ['tk_first_tenant_0123456789'],
      tenants: { [other]: createDemoContacts(20, 4242) },
      latencyMs: 60,
    });
    const client = clientFor(tenant.url);
    try {
      const reads = createCoalescingClient(client, ONE_CALL_AT_A_TIME);
      const a = [...tenant.contacts.values()].slice(0, 10);
      const b = createDemoContacts(20, 4242).slice(0, 10);
      const pending = a.flatMap((ca, i) => [
        reads.getContactsBatch([ca.id], { apiKey: 'tk_first_tenant_0123456789' }),
        reads.getContactsBatch([(b[i] as SandboxContact).id], { apiKey: other }),
      ]);
      const results = await Promise.all(pending);
      // Each tenant sees only its own contacts: a call mixing keys would answer null for the other's.
      results.forEach((result, i) => {
        const c = (i % 2 === 0 ? a : b)[i >> 1] as SandboxContact;
        expect(result.get(c.id)).toMatchObject({ id: c.id, firstName: c.firstName });
      });
      expect(tenant.stats.callsByKey).toEqual({ tk_first_tenant_0123456789: 2, [other]: 2 });
    } finally {
      await client.close();
      await tenant.close();
    }
  });

  it('a call that fails fails only the callers it carried', async () => {
    const [first, second, third] = contacts.slice(10, 13) as [SandboxContact, SandboxContact, SandboxContact];
    sandbox.injectFault({
      match: (req) => req.body.includes(first.id),
      fault: { kind: 'status', status: 503 },
    });
    const alone = shared.getContactsBatch([first.id], key());
    const together = [shared.getContactsBatch([second.id], key()), shared.getContactsBatch([third.id], key())];
    expect((await alone).get(first.id)).toMatchObject({ kind: 'http', status: 503 });
    const [two, three] = await Promise.all(together);
    expect(two?.get(second.id)).toMatchObject({ id: second.id });
    expect(three?.get(third.id)).toMatchObject({ id: third.id });
    expect(sandbox.stats.batchSizes).toEqual([2]); // the failing call's three attempts were faulted
    expect(sandbox.transport.requests).toBe(3 + 1);
  });

  it('a caller that gives up while its ids wait leaves the next call; the others are answered', async () => {
    const [first, leaving, staying] = contacts.slice(20, 23) as [SandboxContact, SandboxContact, SandboxContact];
    const giveUp = new Cancellation();
    const reads = [
      shared.getContactsBatch([first.id], key()),
      shared.getContactsBatch([leaving.id], { ...key(), signal: giveUp }),
      shared.getContactsBatch([staying.id], key()),
    ];
    giveUp.abort();
    const [one, gone, three] = await Promise.all(reads);
    expect(gone?.get(leaving.id)).toBeInstanceOf(TelliTimeoutError);
    expect(one?.get(first.id)).toMatchObject({ id: first.id });
    expect(three?.get(staying.id)).toMatchObject({ id: staying.id });
    expect(sandbox.stats.batchSizes).toEqual([1, 1]); // `leaving` was never sent
  });

  it('a caller that gives up on a call in flight leaves it alone; the call goes on for the others', async () => {
    const c = contacts[25] as SandboxContact;
    const giveUp = new Cancellation();
    const leaving = shared.getContactsBatch([c.id], { ...key(), signal: giveUp });
    const staying = shared.getContactsBatch([c.id], key());
    giveUp.abort();
    expect((await leaving).get(c.id)).toBeInstanceOf(TelliTimeoutError);
    expect((await staying).get(c.id)).toMatchObject({ id: c.id, firstName: c.firstName });
    expect(sandbox.stats.batchSizes).toEqual([1]);
  });

  it('a call every caller has left is not joined: the next caller starts afresh', async () => {
    const c = contacts[26] as SandboxContact;
    const giveUp = new Cancellation();
    const leaving = shared.getContactsBatch([c.id], { ...key(), signal: giveUp });
    giveUp.abort();
    expect((await leaving).get(c.id)).toBeInstanceOf(TelliTimeoutError);
    // Joining the abandoned call would answer UPSTREAM_TIMEOUT here too.
    const next = await shared.getContactsBatch([c.id], key());
    expect(next.get(c.id)).toMatchObject({ id: c.id, firstName: c.firstName });
  });

  it('retries serve the latest deadline among the callers still waiting', async () => {
    const c = contacts[27] as SandboxContact;
    sandbox.injectFault({ fault: { kind: 'status', status: 503 }, times: 2 });
    // Alone, a caller whose deadline has passed gets one attempt and no retry (resilience tests);
    // joined by one that can still wait, the call retries until telli answers, for both.
    const late = shared.getContactsBatch([c.id], { ...key(), deadline: Date.now() - 1 });
    const patient = shared.getContactsBatch([c.id], { ...key(), deadline: Date.now() + 60_000 });
    expect((await late).get(c.id)).toMatchObject({ id: c.id });
    expect((await patient).get(c.id)).toMatchObject({ id: c.id });
    expect(sandbox.transport.requests).toBe(3);
  });

  it('a malformed item fails only its own caller', async () => {
    const [first, broken, fine] = contacts.slice(30, 33) as [SandboxContact, SandboxContact, SandboxContact];
    sandbox.setRawV1(broken.id, { contact_id: broken.id, contact_details: ['not', 'an', 'object'] });
    try {
      const reads = [
        shared.getContactsBatch([first.id], key()),
        shared.getContactsBatch([broken.id], key()),
        shared.getContactsBatch([unknownId(4242), fine.id], key()),
      ];
      const [one, two, three] = await Promise.all(reads);
      expect(one?.get(first.id)).toMatchObject({ id: first.id });
      expect(two?.get(broken.id)).toBeInstanceOf(TelliContractError);
      expect(three?.get(unknownId(4242))).toBeNull();
      expect(three?.get(fine.id)).toMatchObject({ id: fine.id });
      expect(sandbox.stats.batchSizes).toEqual([1, 3]);
    } finally {
      sandbox.setRawV1(broken.id, undefined);
    }
  });

  it('an entry that cannot be attributed to an id does not fail the other callers of its call', async () => {
    // telli may leave out ids it has no contact for (its docs do not say), and then an entry
    // without a contact id could be any of them. The sandbox always answers every id, so this
    // upstream does what telli may: it omits unknown ids, and answers `culprit` with no id.
    const [lead, culprit, absent] = [unknownId(1), unknownId(2), unknownId(3)];
    const sizes: number[] = [];
    const upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const ids = (JSON.parse(body) as { contact_ids: string[] }).contact_ids;
        sizes.push(ids.length);
        const items = ids.flatMap((id) => {
          if (id === lead) return [{ status: 'success', contact: { contact_id: lead, first_name: 'Lead' } }];
          if (id === culprit) return [{ status: 'success', contact: { first_name: 'Nobody' } }];
          return [];
        });
        setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(items)), 30);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const client = clientFor(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
    try {
      const reads = createCoalescingClient(client, ONE_CALL_AT_A_TIME);
      const call = { apiKey: 'tk_any_0123456789' };
      const [one, two, three] = await Promise.all([
        reads.getContactsBatch([lead], call),
        reads.getContactsBatch([culprit], call),
        reads.getContactsBatch([absent], call),
      ]);
      expect(one.get(lead)).toMatchObject({ firstName: 'Lead' });
      expect(two.get(culprit)).toBeInstanceOf(TelliContractError);
      // In the shared call `absent` was as suspect as `culprit`; asked alone, it is simply absent.
      expect(three.get(absent)).toBeNull();
      expect(sizes).toEqual([1, 2, 1, 1]);
    } finally {
      await client.close();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });

  it('a write during the re-ask of an ambiguous id keeps that answer out of the contact cache', async () => {
    // As above, `target` is ambiguous in the shared call and asked again alone; the contact is
    // written (forget) while that re-ask is in flight, so its answer may predate the write.
    const [lead, culprit, target] = [unknownId(11), unknownId(12), unknownId(13)];
    const sizes: number[] = [];
    let names = ['Before', 'After'];
    let aloneArrived!: () => void;
    const alone = new Promise<void>((resolve) => (aloneArrived = resolve));
    const upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const ids = (JSON.parse(body) as { contact_ids: string[] }).contact_ids;
        sizes.push(ids.length);
        const items = ids.flatMap((id): unknown[] => {
          if (id === lead) return [{ status: 'success', contact: { contact_id: lead } }];
          if (id === culprit) return [{ status: 'success', contact: { first_name: 'Nobody' } }];
          if (id === target && ids.length === 1) {
            aloneArrived();
            const [name = 'After', ...rest] = names;
            names = rest;
            return [{ status: 'success', contact: { contact_id: target, first_name: name } }];
          }
          return [];
        });
        setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(items)), 50);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const client = clientFor(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
    try {
      const reads = createCoalescingClient(client, { ttlMs: 60_000, maxEntries: 100, partialCallsInFlight: 1 });
      const call = { apiKey: 'tk_any_0123456789' };
      const answered = Promise.all([lead, culprit, target].map((id) => reads.getContactsBatch([id], call)));
      await alone;
      reads.forget(call.apiKey, target);
      expect((await answered)[2]?.get(target)).toMatchObject({ firstName: 'Before' });
      // Not served from the cache: telli is asked again, and has the written contact.
      expect((await reads.getContactsBatch([target], call)).get(target)).toMatchObject({ firstName: 'After' });
      expect(sizes).toEqual([1, 2, 1, 1, 1]);
    } finally {
      await client.close();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });

  it('a call that hangs does not stall its key: the next call goes out after a bounded wait', async () => {
    const [hanging, next] = contacts.slice(40, 42) as [SandboxContact, SandboxContact];
    sandbox.injectFault({ match: (req) => req.body.includes(hanging.id), fault: { kind: 'hang' } });
    const giveUp = new Cancellation();
    const stuck = shared.getContactsBatch([hanging.id], { ...key(), signal: giveUp });
    // Without the bound this read would wait for the hung call, which only ends when its caller
    // gives up below, after this read: the test would never finish.
    expect((await shared.getContactsBatch([next.id], key())).get(next.id)).toMatchObject({ id: next.id });
    expect(sandbox.transport.inFlight).toBe(1); // the hung call, still open
    giveUp.abort();
    expect((await stuck).get(hanging.id)).toBeInstanceOf(TelliTimeoutError);
  });

  it(`in production up to ${PARTIAL_CALLS_IN_FLIGHT} reads of a key go out at once; later ones collect`, async () => {
    shared = createCoalescingClient(inner);
    const ids = idsOf(5000, PARTIAL_CALLS_IN_FLIGHT + 6);
    const first = ids.slice(0, PARTIAL_CALLS_IN_FLIGHT).map((id) => shared.getContactsBatch([id], key()));
    // Each went out alone, at once: a few concurrent operations never wait for each other.
    await expect.poll(() => sandbox.transport.inFlight).toBe(PARTIAL_CALLS_IN_FLIGHT);
    const later = ids.slice(PARTIAL_CALLS_IN_FLIGHT).map((id) => shared.getContactsBatch([id], key()));
    const results = await Promise.all([...first, ...later]);
    results.forEach((result, i) => expect(result.get(ids[i] as string)).toBeNull());
    // The six later ones waited for the first call to settle and shared the next.
    expect(sandbox.stats.batchSizes).toEqual([...Array<number>(PARTIAL_CALLS_IN_FLIGHT).fill(1), 6]);
  });
});

describe('group commit through GraphQL', () => {
  let stack: TestStack;
  let contacts: SandboxContact[];
  beforeAll(async () => {
    // A slow telli, so that every operation below arrives while the first call is in flight.
    stack = await createTestStack({ sandbox: { latencyMs: 600 }, env: { METRICS: 'true' } });
    contacts = [...stack.sandbox.contacts.values()];
  });
  afterAll(() => stack.close());
  afterEach(() => stack.sandbox.resetStats());

  it(`K concurrent single-contact operations for one key make at most ceil(K/1000) + ${PARTIAL_CALLS_IN_FLIGHT} telli calls`, async () => {
    const picked = contacts.slice(100, 160);
    const responses = await Promise.all(picked.map((c) => stack.raw(contactQuery(c.id))));
    responses.forEach((res, i) => expect(res).toEqual(expected(picked[i] as SandboxContact)));
    // The calls already in flight when the rest arrived, and the ones carrying the rest.
    expect(stack.sandbox.stats.calls[BATCH]).toBeLessThanOrEqual(
      Math.ceil(picked.length / 1000) + PARTIAL_CALLS_IN_FLIGHT,
    );
    const metrics = await (await stack.app.fetch('http://layer.test/metrics')).text();
    expect(metrics).toMatch(new RegExp(`telli_upstream_batch_callers_sum ${picked.length}\\n`));
  });
});
