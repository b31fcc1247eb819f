import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import type { SandboxContact } from '../src/sandbox/index.js';
import {
  createCoalescingClient,
  createTelliClient,
  TelliNetworkError,
  TelliOutcomeUnknownError,
} from '../src/telli/index.js';
import {
  CreateContactIdDocument,
  CreateContactsDocument,
  DeleteContactDocument,
  ScheduleCallDocument,
  UpdateContactDocument,
  type CreateContactInput,
} from './__generated__/graphql.js';
import {
  codesOf,
  createTestStack,
  expectNoLeaks,
  useSharedStack,
  type GraphQLResponse,
  type TestStack,
} from './support/stack.js';

/**
 * What becomes of a write when telli's answer is lost or refused at the door, over real loopback
 * HTTP with the sandbox's faults. `reset-after` and `hang-after` let the sandbox carry out the
 * write before the answer is lost, which is exactly when a blind retry would duplicate it.
 * "Requests" are the sandbox's transport counter: every HTTP request, faulted or not.
 */
const CREATE_PATH = '/v2/contacts';
const isCreate = (req: { method: string; url: string }) => req.method === 'POST' && req.url === CREATE_PATH;
const isLookup = (externalId: string) => (req: { method: string; url: string }) =>
  req.method === 'GET' && req.url === `/v2/external/contacts/${encodeURIComponent(externalId)}`;

const newContact = (n: number, extra: Partial<CreateContactInput> = {}): CreateContactInput => ({
  firstName: 'Retry',
  lastName: `Case ${n}`,
  phoneNumber: `+4917700${String(n).padStart(6, '0')}`,
  ...extra,
});

function withExternalId(stack: TestStack, externalId: string): SandboxContact[] {
  return [...stack.sandbox.contacts.values()].filter((c) => c.externalId === externalId);
}

function expectOutcomeUnknown(res: GraphQLResponse, path: (string | number)[], safeToRetry: boolean) {
  expect(res.errors).toHaveLength(1);
  expect(res.errors?.[0]).toMatchObject({
    path,
    extensions: { code: 'UPSTREAM_OUTCOME_UNKNOWN', safeToRetry },
  });
}

describe('createContact when the answer is lost', () => {
  let stack: TestStack;
  useSharedStack((s) => (stack = s), { env: { TELLI_TIMEOUT_MS: '400' } });

  it('a 503 without externalId is not retried: UPSTREAM_OUTCOME_UNKNOWN (safeToRetry false), one request', async () => {
    stack.sandbox.injectFault({ match: isCreate, fault: { kind: 'status', status: 503 }, times: 1 });
    const res = await stack.run(CreateContactIdDocument, { input: newContact(1) });
    expectOutcomeUnknown(res, ['createContact', 'contact'], false);
    expect(res.data).toEqual({ createContact: { contact: null, userErrors: [] } });
    expect(stack.sandbox.transport.requests).toBe(1);
    expectNoLeaks(stack, res);
  });

  it('a reset after telli created it, without externalId: unknown, the one contact exists, no retry', async () => {
    const before = stack.sandbox.contacts.size;
    stack.sandbox.injectFault({ match: isCreate, fault: { kind: 'reset-after' }, times: 1 });
    const res = await stack.run(CreateContactIdDocument, { input: newContact(2) });
    expectOutcomeUnknown(res, ['createContact', 'contact'], false);
    expect(stack.sandbox.contacts.size).toBe(before + 1); // it did happen, once
    expect(stack.sandbox.transport.requests).toBe(1);
    expect(stack.logs.lines().some((l) => l['msg'] === 'telli write outcome unknown')).toBe(true);
  });

  it('a timeout (telli acted, never answered), without externalId: unknown after one request', async () => {
    const before = stack.sandbox.contacts.size;
    stack.sandbox.injectFault({ match: isCreate, fault: { kind: 'hang-after' }, times: 1 });
    const res = await stack.run(CreateContactIdDocument, { input: newContact(3) });
    expectOutcomeUnknown(res, ['createContact', 'contact'], false);
    expect(stack.sandbox.contacts.size).toBe(before + 1); // it did happen, once
    expect(stack.sandbox.transport.requests).toBe(1);
  });

  it('a reset after telli created it, with externalId: settled by one lookup, exactly one contact', async () => {
    stack.sandbox.injectFault({ match: isCreate, fault: { kind: 'reset-after' }, times: 1 });
    const res = await stack.run(CreateContactIdDocument, { input: newContact(4, { externalId: 'lost-4' }) });
    expect(res.errors).toBeUndefined();
    const created = withExternalId(stack, 'lost-4');
    expect(created).toHaveLength(1);
    expect(res.data).toEqual({ createContact: { contact: { id: created[0]?.id }, userErrors: [] } });
    expect(stack.sandbox.stats.calls).toEqual({ 'POST /v2/contacts': 1, 'GET /v2/external/contacts/{externalId}': 1 });
  });

  it('a reset before telli saw it, with externalId: the lookup finds nothing, the create is sent once more', async () => {
    stack.sandbox.injectFault({ match: isCreate, fault: { kind: 'reset' }, times: 1 });
    const res = await stack.run(CreateContactIdDocument, { input: newContact(5, { externalId: 'lost-5' }) });
    expect(res.errors).toBeUndefined();
    const created = withExternalId(stack, 'lost-5');
    expect(created).toHaveLength(1);
    expect(res.data?.createContact.contact?.id).toBe(created[0]?.id);
    expect(stack.sandbox.transport.requests).toBe(3); // create (reset), lookup (404), create (201)
  });

  it('a 409 on the second attempt means the first landed late: read it and succeed', async () => {
    stack.sandbox.injectFault({ match: isCreate, fault: { kind: 'reset-after' }, times: 1 });
    // The lookup does not see it yet (telli still busy with the first attempt, say).
    stack.sandbox.injectFault({ match: isLookup('lost-6'), fault: { kind: 'status', status: 404 }, times: 1 });
    const res = await stack.run(CreateContactIdDocument, { input: newContact(6, { externalId: 'lost-6' }) });
    expect(res.errors).toBeUndefined();
    const created = withExternalId(stack, 'lost-6');
    expect(created).toHaveLength(1);
    expect(res.data?.createContact.contact?.id).toBe(created[0]?.id);
    expect(stack.sandbox.stats.calls).toEqual({
      'POST /v2/contacts': 2, // the second answered 409
      'GET /v2/external/contacts/{externalId}': 1, // the first lookup was the faulted 404
    });
  });

  it('another contact already holding the externalId is EXTERNAL_ID_TAKEN, not a success with its data', async () => {
    const other = [...stack.sandbox.contacts.values()].find((c) => c.externalId?.startsWith('crm-')) as SandboxContact;
    stack.sandbox.injectFault({ match: isCreate, fault: { kind: 'reset' }, times: 1 });
    const res = await stack.run(CreateContactIdDocument, {
      input: newContact(7, { externalId: other.externalId }),
    });
    expect(res.errors).toBeUndefined();
    expect(res.data?.createContact).toEqual({
      contact: null,
      userErrors: [
        {
          code: 'EXTERNAL_ID_TAKEN',
          field: ['input', 'externalId'],
          message: 'Another contact already has this externalId.',
        },
      ],
    });
    expect(withExternalId(stack, other.externalId as string)).toEqual([other]);
    expect(stack.sandbox.transport.requests).toBe(2); // create (reset), lookup; no second create
  });

  it('a lookup that fails too leaves the outcome unknown, but a retry is safe (safeToRetry true)', async () => {
    stack.sandbox.injectFault({ match: isCreate, fault: { kind: 'reset-after' }, times: 1 });
    stack.sandbox.injectFault({ match: isLookup('lost-8'), fault: { kind: 'status', status: 503 } });
    try {
      const res = await stack.run(CreateContactIdDocument, { input: newContact(8, { externalId: 'lost-8' }) });
      expectOutcomeUnknown(res, ['createContact', 'contact'], true);
      expect(withExternalId(stack, 'lost-8')).toHaveLength(1);
    } finally {
      stack.sandbox.clearFaults();
    }
  });
});

describe('createContact refused at the door', () => {
  let stack: TestStack;
  useSharedStack((s) => (stack = s));

  it('a 429 is retried after Retry-After, and the contact is created once', async () => {
    stack.sandbox.injectFault({
      match: isCreate,
      fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' } },
      times: 1,
    });
    const started = performance.now();
    const res = await stack.run(CreateContactIdDocument, { input: newContact(20, { externalId: 'rate-20' }) });
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(res.errors).toBeUndefined();
    expect(withExternalId(stack, 'rate-20')).toHaveLength(1);
    expect(stack.sandbox.transport.requests).toBe(2);
    expect(stack.sandbox.stats.calls).toEqual({ 'POST /v2/contacts': 1 });
  });

  it('a 429 beyond the deadline is RATE_LIMITED (telli did not act), not an unknown outcome', async () => {
    stack.sandbox.injectFault({
      match: isCreate,
      fault: { kind: 'status', status: 429, headers: { 'retry-after': '120' } },
      times: 1,
    });
    const res = await stack.run(CreateContactIdDocument, { input: newContact(21) });
    expect(codesOf(res)).toEqual(['RATE_LIMITED']);
    expect(res.errors?.[0]?.path).toEqual(['createContact', 'contact']);
    expect(stack.sandbox.transport.requests).toBe(1);
  });
});

describe('connection refused: certainly not sent, so even a create is retried', () => {
  it('through the layer: bounded attempts, then UPSTREAM_UNAVAILABLE (not an unknown outcome)', async () => {
    const stack = await createTestStack();
    try {
      await stack.sandbox.close(); // nothing listens there any more
      const res = await stack.run(CreateContactIdDocument, { input: newContact(30) });
      expect(codesOf(res)).toEqual(['UPSTREAM_UNAVAILABLE']);
      const retries = stack.logs.lines().filter((l) => l['msg'] === 'retrying telli call');
      expect(retries.map((l) => [l['endpoint'], l['reason']])).toEqual([
        ['POST /v2/contacts', 'ECONNREFUSED (not sent)'],
        ['POST /v2/contacts', 'ECONNREFUSED (not sent)'],
      ]);
    } finally {
      await stack.close();
    }
  });

  it('the client: a reset after sending is not retried for a create, but is for a PATCH', async () => {
    // A server that resets every connection once it has read the request.
    let requests = 0;
    const server = createServer((req) => {
      requests++;
      req.resume();
      req.on('end', () => req.socket.resetAndDestroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = createTelliClient({
      ...parseConfig({}).telli,
      baseUrl: `http://127.0.0.1:${port}`,
      retryBaseDelayMs: 5,
      retryMaxDelayMs: 10,
    });
    try {
      const create = client.createContact(
        { firstName: 'A', lastName: 'B', phoneNumber: '+4911111111' },
        { apiKey: 'k' },
      );
      await expect(create).rejects.toBeInstanceOf(TelliOutcomeUnknownError);
      expect(requests).toBe(1);
      requests = 0;
      const patch = client.updateContact('3c90c3cc-0d44-4b50-8888-8dd25736052a', { firstName: 'A' }, { apiKey: 'k' });
      await expect(patch).rejects.toMatchObject({ safeToRetry: true, lastFailure: expect.any(TelliNetworkError) });
      expect(requests).toBe(3);
    } finally {
      await client.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('idempotent writes are retried like reads', () => {
  let stack: TestStack;
  let contacts: SandboxContact[];
  useSharedStack((s, c) => ((stack = s), (contacts = c)));

  it('a PATCH whose answer was lost is sent again, with the same body, and succeeds', async () => {
    const c = contacts[3] as SandboxContact;
    stack.sandbox.injectFault({ match: (r) => r.method === 'PATCH', fault: { kind: 'reset-after' }, times: 1 });
    const res = await stack.run(UpdateContactDocument, { input: { id: c.id, lastName: 'Twice', email: null } });
    expect(res.errors).toBeUndefined();
    expect(res.data?.updateContact.contact).toMatchObject({ lastName: 'Twice', email: null });
    const body = { lastName: 'Twice', email: null };
    expect(stack.sandbox.stats.writes).toEqual([
      { endpoint: 'PATCH /v2/contacts/{id}', body },
      { endpoint: 'PATCH /v2/contacts/{id}', body },
    ]);
  });

  it('a DELETE whose answer was lost is sent again; its 404 then means it was deleted', async () => {
    const c = contacts[4] as SandboxContact;
    stack.sandbox.injectFault({ match: (r) => r.method === 'DELETE', fault: { kind: 'reset-after' }, times: 1 });
    const res = await stack.run(DeleteContactDocument, { input: { id: c.id } });
    expect(res).toEqual({ data: { deleteContact: { deletedContactId: c.id, userErrors: [] } } });
    expect(stack.sandbox.stats.calls).toEqual({ 'DELETE /v2/contacts/{id}': 2 });
    expect(stack.sandbox.contacts.has(c.id)).toBe(false);
  });

  it('a PATCH that keeps failing with 503 ends in UPSTREAM_OUTCOME_UNKNOWN with safeToRetry true', async () => {
    const c = contacts[5] as SandboxContact;
    stack.sandbox.injectFault({ match: (r) => r.method === 'PATCH', fault: { kind: 'status', status: 503 } });
    try {
      const res = await stack.run(UpdateContactDocument, { input: { id: c.id, lastName: 'Never' } });
      expectOutcomeUnknown(res, ['updateContact', 'contact'], true);
      expect(stack.sandbox.transport.requests).toBe(3);
    } finally {
      stack.sandbox.clearFaults();
    }
  });
});

describe('dialer calls are never sent twice blindly', () => {
  let stack: TestStack;
  let contacts: SandboxContact[];
  useSharedStack((s, c) => ((stack = s), (contacts = c)));

  it('scheduleCall after a reset: UPSTREAM_OUTCOME_UNKNOWN on loopId and contact, one request', async () => {
    const c = contacts.find((x) => x.nextCallAt === null && x.inCallSince === null) as SandboxContact;
    stack.sandbox.injectFault({
      match: (r) => r.url === '/v1/schedule-call',
      fault: { kind: 'reset-after' },
      times: 1,
    });
    const res = await stack.run(ScheduleCallDocument, { input: { contactId: c.id } });
    expect(res.data?.scheduleCall).toEqual({ loopId: null, contact: null, userErrors: [] });
    expect(res.errors?.map((e) => [e.path, e.extensions?.['code'], e.extensions?.['safeToRetry']])).toEqual([
      [['scheduleCall', 'loopId'], 'UPSTREAM_OUTCOME_UNKNOWN', false],
      [['scheduleCall', 'contact'], 'UPSTREAM_OUTCOME_UNKNOWN', false],
    ]);
    expect(stack.sandbox.dialerEntry(c.id)).toBeDefined(); // it was queued, once
    expect(stack.sandbox.transport.requests).toBe(1);
  });
});

describe('createContacts with a lost chunk', () => {
  let stack: TestStack;
  useSharedStack((s) => (stack = s));

  it('the other chunk succeeds; the lost chunk is unknown per item (safe to retry), never re-sent', async () => {
    const input = Array.from({ length: 1500 }, (_, i) => newContact(i, { externalId: `chunk-${i}` }));
    stack.sandbox.injectFault({
      match: (r) => r.url === '/v1/add-contacts-batch' && r.body.includes('"chunk-1000"'),
      fault: { kind: 'reset-after' },
      times: 1,
    });
    const res = await stack.run(CreateContactsDocument, { input: { contacts: input } });
    const results = res.data?.createContacts.results ?? [];
    expect(results.slice(0, 1000).every((r) => r.contact !== null)).toBe(true);
    expect(results.slice(1000).every((r) => r.contact === null)).toBe(true);
    expect(res.errors).toHaveLength(500);
    expect(new Set(res.errors?.map((e) => `${e.extensions?.['code']} ${e.extensions?.['safeToRetry']}`))).toEqual(
      new Set(['UPSTREAM_OUTCOME_UNKNOWN true']),
    );
    expect(res.errors?.map((e) => e.path?.[2])).toEqual(Array.from({ length: 500 }, (_, i) => 1000 + i));
    expect(stack.sandbox.transport.requests).toBe(2);
    // telli did create them: a retry with the same external ids would answer EXTERNAL_ID_TAKEN, not duplicate.
    expect(stack.sandbox.stats.calls).toEqual({ 'POST /v1/add-contacts-batch': 2 });
  });
});

describe('the wire', () => {
  let received: { method: string | undefined; headers: IncomingHttpHeaders; body: string }[] = [];
  let server: ReturnType<typeof createServer>;
  let baseUrl: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ method: req.method, headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('a DELETE declares no content type and sends no body (telli-api.md §3.8); a PATCH sends JSON', async () => {
    received = [];
    const client = createTelliClient({ ...parseConfig({}).telli, baseUrl });
    try {
      const id = '3c90c3cc-0d44-4b50-8888-8dd25736052a';
      expect(await client.deleteContact(id, { apiKey: 'k' })).toEqual({ ok: true, value: true });
      await client.updateContact(id, { email: null }, { apiKey: 'k' }).catch(() => undefined);
      expect(received.map((r) => [r.method, r.headers['content-type'], r.body])).toEqual([
        ['DELETE', undefined, ''],
        ['PATCH', 'application/json', '{"email":null}'],
      ]);
      expect(received[0]?.headers['authorization']).toBe('Bearer k');
    } finally {
      await client.close();
    }
  });
});

describe('the invalidation hook (ContactInvalidation.forget)', () => {
  it('a read in flight during a write is not joined afterwards, and its stale answer is not cached', async () => {
    // A telli whose first batch read is slow and answers the name as it was when the read arrived.
    const id = '3c90c3cc-0d44-4b50-8888-8dd25736052a';
    let name = 'before';
    let requests = 0;
    const server = createServer((req, res) => {
      const seen = name;
      const delayMs = ++requests === 1 ? 200 : 10;
      req.resume();
      req.on('end', () =>
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify([{ status: 'success', contact: { contact_id: id, first_name: seen } }]));
        }, delayMs),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const inner = createTelliClient({ ...parseConfig({}).telli, baseUrl });
    const shared = createCoalescingClient(inner, { ttlMs: 60_000, maxEntries: 10 });
    const firstName = async (p: ReturnType<typeof shared.getContactsBatch>) => {
      const contact = (await p).get(id);
      return contact && !(contact instanceof Error) ? contact.firstName : contact;
    };
    try {
      const early = shared.getContactsBatch([id], { apiKey: 'k' });
      await new Promise((resolve) => setTimeout(resolve, 50)); // telli has read 'before'
      name = 'after'; // the write lands…
      shared.forget('k', id); // …and the layer forgets
      const later = shared.getContactsBatch([id], { apiKey: 'k' });
      expect(await firstName(later)).toBe('after'); // its own call, not the early one
      expect(await firstName(early)).toBe('before'); // asked before the write: fine
      expect(await firstName(shared.getContactsBatch([id], { apiKey: 'k' }))).toBe('after'); // cached
      expect(requests).toBe(2);
      // Another key's view is untouched by a forget for 'k'.
      shared.forget('other-key', id);
      expect(await firstName(shared.getContactsBatch([id], { apiKey: 'k' }))).toBe('after');
      expect(requests).toBe(2);
    } finally {
      await inner.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
