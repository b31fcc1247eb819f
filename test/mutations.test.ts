import { readFile } from 'node:fs/promises';
import { Kind, parse, print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoContacts, SCHEDULE_DELAY_MS, type SandboxContact } from '../src/sandbox/index.js';
import {
  ContactAfterWriteDocument,
  CreateContactDocument,
  CreateContactIdDocument,
  CreateContactsDocument,
  DeleteContactDocument,
  RemoveFromDialerDocument,
  ScheduleCallDocument,
  ScheduleCallsDocument,
  UpdateContactDocument,
  type CreateContactInput,
} from './__generated__/graphql.js';
import { codesOf, createTestStack, unknownId, useSharedStack, type TestStack } from './support/stack.js';

/**
 * The mutations through the production wiring against the sandbox over loopback: the sandbox's
 * own counters say how many telli calls each made, and `stats.writes` holds the exact bodies.
 */
const CREATE = 'POST /v2/contacts';
const PATCH = 'PATCH /v2/contacts/{id}';
const DELETE = 'DELETE /v2/contacts/{id}';
const BULK = 'POST /v1/add-contacts-batch';
const BATCH_READ = 'POST /v1/get-contacts-batch';
const V2_READ = 'GET /v2/contacts/{id}';

const newContact = (n: number, extra: Partial<CreateContactInput> = {}): CreateContactInput => ({
  firstName: 'Ada',
  lastName: `Lovelace ${n}`,
  phoneNumber: `+4917600${String(n).padStart(6, '0')}`,
  ...extra,
});

describe('createContact', () => {
  let stack: TestStack;
  let contacts: SandboxContact[];
  useSharedStack((s, c) => ((stack = s), (contacts = c)));

  it('creates the contact with one POST, sends v2 names, answers it read after the write', async () => {
    const res = await stack.run(CreateContactDocument, {
      input: newContact(1, {
        externalId: 'crm-create-1',
        email: 'ada@example.com',
        timezone: 'Europe/Vienna',
        salutation: 'Frau',
        externalUrl: 'https://crm.example.com/contacts/1',
        properties: [{ key: 'deal_size', value: 42_000 }],
      }),
    });
    expect(res.errors).toBeUndefined();
    const payload = res.data?.createContact;
    expect(payload?.userErrors).toEqual([]);
    const id = payload?.contact?.id as string;
    const stored = stack.sandbox.contacts.get(id);
    expect(stored).toMatchObject({ externalId: 'crm-create-1', timezone: 'Europe/Vienna', lastName: 'Lovelace 1' });
    expect(payload?.contact).toMatchObject({
      externalId: 'crm-create-1',
      timezone: 'Europe/Vienna',
      status: 'NOT_REACHED',
      nextCallAt: null,
      properties: [{ key: 'deal_size', value: 42_000 }],
    });
    expect(stack.sandbox.stats.writes).toEqual([
      {
        endpoint: CREATE,
        body: {
          firstName: 'Ada',
          lastName: 'Lovelace 1',
          phoneNumber: '+4917600000001',
          externalId: 'crm-create-1',
          externalUrl: 'https://crm.example.com/contacts/1',
          salutation: 'Frau',
          email: 'ada@example.com',
          timezoneIana: 'Europe/Vienna',
          properties: [{ key: 'deal_size', value: 42_000 }],
        },
      },
    ]);
    // The create's answer is the v2 record (no v2 read); call state is one fresh v1 batch read.
    expect(stack.sandbox.stats.calls).toEqual({ [CREATE]: 1, [BATCH_READ]: 1 });
  });

  it('sends only what was given: no optional key is invented, an explicit null is left out', async () => {
    await stack.run(CreateContactIdDocument, { input: newContact(2, { email: null, timezone: null }) });
    expect(stack.sandbox.stats.writes.map((w) => w.body)).toEqual([
      { firstName: 'Ada', lastName: 'Lovelace 2', phoneNumber: '+4917600000002' },
    ]);
  });

  it('invalid input: every problem in userErrors with its path, no top-level error, no telli call', async () => {
    const res = await stack.run(CreateContactDocument, {
      input: {
        firstName: ' ',
        lastName: 'x'.repeat(51),
        phoneNumber: '0176 1234',
        email: 'not-an-email',
        externalUrl: 'javascript:alert(1)',
        timezone: 'Mars/Olympus',
        properties: [
          { key: 'ok_key', value: 1 },
          { key: '-bad', value: 1 },
          { key: 'ok_key', value: 2 },
        ],
      },
    });
    expect(res.errors).toBeUndefined();
    expect(res.data?.createContact.contact).toBeNull();
    const errors = res.data?.createContact.userErrors ?? [];
    expect(errors.map((e) => [e.code, e.field])).toEqual([
      ['INVALID', ['input', 'firstName']],
      ['INVALID', ['input', 'lastName']],
      ['INVALID', ['input', 'phoneNumber']],
      ['INVALID', ['input', 'externalUrl']],
      ['INVALID', ['input', 'email']],
      ['INVALID', ['input', 'timezone']],
      ['INVALID', ['input', 'properties', '1', 'key']],
      ['INVALID', ['input', 'properties', '2', 'key']],
    ]);
    expect(errors[2]?.message).toBe('phoneNumber must be an E.164 phone number, e.g. +4917642048466');
    expect(stack.sandbox.transport.requests).toBe(0);
  });

  it('an external id with a lone surrogate is INVALID before any telli call (it could not be looked up)', async () => {
    const res = await stack.run(CreateContactDocument, {
      input: { firstName: 'Lone', lastName: 'Surrogate', phoneNumber: '+4917600000001', externalId: 'crm-\ud800' },
    });
    expect(res.errors).toBeUndefined();
    expect(res.data?.createContact.userErrors.map((e) => [e.code, e.field, e.message])).toEqual([
      ['INVALID', ['input', 'externalId'], expect.stringMatching(/lone surrogate/)],
    ]);
    expect(stack.sandbox.transport.requests).toBe(0);
  });

  it('an external id another contact has: EXTERNAL_ID_TAKEN on input.externalId (telli 409)', async () => {
    const taken = contacts.find((c) => c.externalId !== null) as SandboxContact;
    const res = await stack.run(CreateContactIdDocument, {
      input: newContact(3, { externalId: taken.externalId }),
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
    expect(stack.sandbox.stats.calls).toEqual({ [CREATE]: 1 });
  });

  it("telli's own validation (an unknown property key) is INVALID with telli's message on the field", async () => {
    const res = await stack.run(CreateContactIdDocument, {
      input: newContact(4, { properties: [{ key: 'no_such_property', value: 'x' }] }),
    });
    expect(res.data?.createContact.userErrors).toEqual([
      {
        code: 'INVALID',
        field: ['input', 'properties'],
        message: 'telli refused it: Unknown property "no_such_property": no property definition with this key',
      },
    ]);
  });

  it("telli's message reaches the client bounded, without URLs or the key", async () => {
    const secret = stack.sandbox.apiKey;
    const noisy = `phoneNumber is bad, see https://api.telli.com/docs/errors?key=${secret} (key ${secret}) ${'x'.repeat(400)}`;
    stack.sandbox.injectFault({
      fault: { kind: 'status', status: 400, body: JSON.stringify({ message: noisy, code: 'VALIDATION_ERROR' }) },
      times: 1,
    });
    const res = await stack.run(CreateContactIdDocument, { input: newContact(5) });
    const [error] = res.data?.createContact.userErrors ?? [];
    expect(error).toMatchObject({ code: 'INVALID', field: ['input', 'phoneNumber'] });
    const message = error?.message ?? '';
    expect(message).not.toContain(secret);
    expect(message).not.toContain('telli.com');
    expect(message.length).toBeLessThanOrEqual('telli refused it: '.length + 200);
    expect(message).toMatch(/^telli refused it: phoneNumber is bad, see \[url\]/);
  });
});

describe('updateContact', () => {
  let stack: TestStack;
  let contacts: SandboxContact[];
  useSharedStack((s, c) => ((stack = s), (contacts = c)));

  it('PATCHes exactly the given keys: absent untouched, null cleared, timezone as timezoneIana', async () => {
    const c = contacts[4] as SandboxContact;
    expect(c.email).not.toBeNull();
    const res = await stack.run(UpdateContactDocument, {
      input: { id: c.id, firstName: 'Grace', email: null, timezone: 'America/New_York' },
    });
    expect(res.errors).toBeUndefined();
    expect(stack.sandbox.stats.writes).toEqual([
      { endpoint: PATCH, body: { firstName: 'Grace', email: null, timezoneIana: 'America/New_York' } },
    ]);
    expect(res.data?.updateContact).toMatchObject({
      userErrors: [],
      contact: { id: c.id, firstName: 'Grace', lastName: c.lastName, email: null, timezone: 'America/New_York' },
    });
    expect(stack.sandbox.contacts.get(c.id)).toMatchObject({ firstName: 'Grace', email: null, lastName: c.lastName });
  });

  it('properties: each listed key is set, a null value removes it, others are untouched', async () => {
    const c = contacts[10] as SandboxContact; // contact n % 10 === 0 has all nine
    const res = await stack.run(UpdateContactDocument, {
      input: { id: c.id, properties: [{ key: 'deal_size', value: 7 }, { key: 'vip' }, { key: 'plan', value: null }] },
    });
    expect(res.data?.updateContact.userErrors).toEqual([]);
    expect(stack.sandbox.stats.writes.map((w) => w.body)).toEqual([
      {
        properties: [
          { key: 'deal_size', value: 7 },
          { key: 'vip', value: null },
          { key: 'plan', value: null },
        ],
      },
    ]);
    const keys = stack.sandbox.contacts.get(c.id)?.properties.map((p) => p.key);
    expect(keys).toContain('company');
    expect(keys).not.toContain('vip');
    expect(keys).not.toContain('plan');
  });

  it('refuses to clear a required field, an empty update, a bad id — with no telli call', async () => {
    const c = contacts[5] as SandboxContact;
    const cleared = await stack.run(UpdateContactDocument, { input: { id: c.id, firstName: null, email: 'bad' } });
    expect(cleared.data?.updateContact.userErrors.map((e) => [e.code, e.field])).toEqual([
      ['INVALID', ['input', 'firstName']],
      ['INVALID', ['input', 'email']],
    ]);
    const empty = await stack.run(UpdateContactDocument, { input: { id: c.id } });
    expect(empty.data?.updateContact.userErrors).toEqual([
      { code: 'INVALID', field: ['input'], message: 'Nothing to update: give at least one field besides id.' },
    ]);
    const badId = await stack.run(UpdateContactDocument, { input: { id: 'nope', firstName: 'X' } });
    expect(badId.data?.updateContact.userErrors).toEqual([
      { code: 'INVALID', field: ['input', 'id'], message: 'id must be a UUID' },
    ]);
    expect(stack.sandbox.transport.requests).toBe(0);
  });

  it('an unknown contact is NOT_FOUND on input.id; another contact’s external id is EXTERNAL_ID_TAKEN', async () => {
    const missing = await stack.run(UpdateContactDocument, { input: { id: unknownId(1), firstName: 'X' } });
    expect(missing.data?.updateContact).toEqual({
      contact: null,
      userErrors: [{ code: 'NOT_FOUND', field: ['input', 'id'], message: 'telli has no contact with this id.' }],
    });
    const [a, b] = contacts.filter((c) => c.externalId !== null) as [SandboxContact, SandboxContact];
    const taken = await stack.run(UpdateContactDocument, { input: { id: a.id, externalId: b.externalId } });
    expect(taken.data?.updateContact.userErrors.map((e) => [e.code, e.field])).toEqual([
      ['EXTERNAL_ID_TAKEN', ['input', 'externalId']],
    ]);
  });
});

describe('deleteContact', () => {
  let stack: TestStack;
  let contacts: SandboxContact[];
  useSharedStack((s, c) => ((stack = s), (contacts = c)));

  it('deletes with one DELETE that has no body; a second delete is NOT_FOUND', async () => {
    const c = contacts[7] as SandboxContact;
    const first = await stack.run(DeleteContactDocument, { input: { id: c.id } });
    expect(first.data?.deleteContact).toEqual({ deletedContactId: c.id, userErrors: [] });
    expect(stack.sandbox.stats.writes).toEqual([{ endpoint: DELETE, body: undefined }]);
    expect(stack.sandbox.contacts.has(c.id)).toBe(false);
    const again = await stack.run(DeleteContactDocument, { input: { id: c.id } });
    expect(again.data?.deleteContact).toEqual({
      deletedContactId: null,
      userErrors: [{ code: 'NOT_FOUND', field: ['input', 'id'], message: 'telli has no contact with this id.' }],
    });
    const invalid = await stack.run(DeleteContactDocument, { input: { id: '42' } });
    expect(invalid.data?.deleteContact.userErrors.map((e) => e.code)).toEqual(['INVALID']);
    expect(stack.sandbox.stats.calls).toEqual({ [DELETE]: 2 });
  });
});

describe('createContacts', () => {
  let stack: TestStack;
  let contacts: SandboxContact[];
  useSharedStack((s, c) => ((stack = s), (contacts = c)));

  const bulk = (count: number, prefix: string) =>
    Array.from({ length: count }, (_, i) => newContact(i, { externalId: `${prefix}-${i}` }));

  it('1500 contacts: two bulk calls (1000 + 500), results in input order, an item error at its index', async () => {
    const taken = contacts.find((c) => c.externalId !== null) as SandboxContact;
    const input = bulk(1500, 'bulk');
    input[1203] = newContact(1203, { externalId: taken.externalId });
    const res = await stack.run(CreateContactsDocument, { input: { contacts: input } });
    expect(res.errors).toBeUndefined();
    expect(stack.sandbox.stats.calls).toEqual({ [BULK]: 2 });
    const sizes = stack.sandbox.stats.writes.map((w) => (w.body as { contacts: unknown[] }).contacts.length);
    expect(sizes).toEqual([1000, 500]);
    const results = res.data?.createContacts.results ?? [];
    expect(results.map((r) => r.index)).toEqual(input.map((_, i) => i));
    expect(results.map((r) => r.externalId)).toEqual(input.map((c) => c.externalId));
    // The sandbox answers each chunk reversed: only matching by external id gets this right.
    for (const [i, r] of results.entries()) {
      if (i === 1203) continue;
      expect(stack.sandbox.contacts.get(r.contact?.id as string)?.externalId).toBe(`bulk-${i}`);
    }
    const itemError = {
      code: 'EXTERNAL_ID_TAKEN',
      field: ['input', 'contacts', '1203', 'externalId'],
      message: 'Another contact already has this externalId.',
    };
    expect(results[1203]).toMatchObject({ contact: null, userErrors: [itemError] });
    expect(res.data?.createContacts.userErrors).toEqual([itemError]);
  });

  it('sends v1 names, and contact { id } costs no read', async () => {
    const res = await stack.run(CreateContactsDocument, {
      input: { contacts: [newContact(1, { externalId: 'v1-names', email: 'a@b.de', timezone: 'Europe/Paris' })] },
    });
    expect(res.data?.createContacts.userErrors).toEqual([]);
    expect(stack.sandbox.stats.writes).toEqual([
      {
        endpoint: BULK,
        body: {
          contacts: [
            {
              external_contact_id: 'v1-names',
              first_name: 'Ada',
              last_name: 'Lovelace 1',
              phone_number: '+4917600000001',
              email: 'a@b.de',
              timezone: 'Europe/Paris',
            },
          ],
        },
      },
    ]);
    expect(stack.sandbox.stats.calls).toEqual({ [BULK]: 1 });
  });

  it('any invalid item: nothing is sent, every problem at its item path', async () => {
    const input = bulk(5, 'invalid');
    input[1] = newContact(1, { externalId: null });
    input[2] = newContact(2, { externalId: 'invalid-2', properties: [{ key: 'vip', value: true }] });
    input[3] = newContact(3, { externalId: 'invalid-3', email: 'nope' });
    input[4] = newContact(4, { externalId: 'invalid-0' });
    const res = await stack.run(CreateContactsDocument, { input: { contacts: input } });
    expect(res.data?.createContacts.userErrors.map((e) => e.field)).toEqual([
      ['input', 'contacts', '1', 'externalId'],
      ['input', 'contacts', '2', 'properties'],
      ['input', 'contacts', '3', 'email'],
      ['input', 'contacts', '4', 'externalId'],
    ]);
    expect(res.data?.createContacts.results.map((r) => [r.index, r.contact, r.userErrors.length])).toEqual([
      [0, null, 0],
      [1, null, 1],
      [2, null, 1],
      [3, null, 1],
      [4, null, 1],
    ]);
    expect(stack.sandbox.transport.requests).toBe(0);
  });

  it('the cost limit refuses an oversized bulk create before any telli call', async () => {
    const big = await stack.app.fetch('http://layer.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({
        query: 'mutation ($input: CreateContactsInput!) { createContacts(input: $input) { results { index } } }',
        variables: { input: { contacts: bulk(3500, 'too-many') } },
      }),
    });
    expect(big.status).toBe(400);
    const body = (await big.json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0]?.extensions).toMatchObject({ code: 'COST_LIMIT_EXCEEDED', maxCost: 3000 });
    expect(stack.sandbox.transport.requests).toBe(0);
  });
});

describe('the dialer', () => {
  let stack: TestStack;
  let contacts: SandboxContact[];
  useSharedStack((s, c) => ((stack = s), (contacts = c)));

  const idle = () => contacts.filter((c) => c.nextCallAt === null && c.inCallSince === null);

  it('scheduleCall queues the contact and answers its loopId and fresh nextCallAt', async () => {
    const c = idle()[0] as SandboxContact;
    const agent = stack.sandbox.agents[1];
    const before = Date.now();
    const res = await stack.run(ScheduleCallDocument, {
      input: { contactId: c.id, agentId: agent?.id, maxRetryDays: 3, overrideFromNumber: '+4930123456' },
    });
    expect(res.errors).toBeUndefined();
    const entry = stack.sandbox.dialerEntry(c.id);
    expect(res.data?.scheduleCall).toMatchObject({ loopId: entry?.loopId, userErrors: [], contact: { id: c.id } });
    const nextCallAt = Date.parse(res.data?.scheduleCall.contact?.nextCallAt as string);
    expect(nextCallAt).toBeGreaterThanOrEqual(before + SCHEDULE_DELAY_MS - 1000);
    expect(stack.sandbox.stats.writes).toEqual([
      {
        endpoint: 'POST /v1/schedule-call',
        body: { contact_id: c.id, agent_id: agent?.id, max_retry_days: 3, override_from_number: '+4930123456' },
      },
    ]);
    expect(entry).toMatchObject({ agentId: agent?.id, maxRetryDays: 3, overrideFromNumber: '+4930123456' });
  });

  it('scheduleCall: unknown contact or agent is NOT_FOUND on its field; bad input makes no call', async () => {
    const c = idle()[1] as SandboxContact;
    const noContact = await stack.run(ScheduleCallDocument, { input: { contactId: unknownId(9) } });
    expect(noContact.data?.scheduleCall.userErrors.map((e) => [e.code, e.field])).toEqual([
      ['NOT_FOUND', ['input', 'contactId']],
    ]);
    const noAgent = await stack.run(ScheduleCallDocument, { input: { contactId: c.id, agentId: unknownId(10) } });
    expect(noAgent.data?.scheduleCall).toMatchObject({
      loopId: null,
      contact: null,
      userErrors: [{ code: 'NOT_FOUND', field: ['input', 'agentId'] }],
    });
    expect(stack.sandbox.totalCalls()).toBe(2);
    stack.sandbox.resetStats();
    const bad = await stack.run(ScheduleCallDocument, {
      input: { contactId: c.id, agentId: 'agent-1', maxRetryDays: 0, overrideFromNumber: '030 123' },
    });
    expect(bad.data?.scheduleCall.userErrors.map((e) => e.field)).toEqual([
      ['input', 'agentId'],
      ['input', 'maxRetryDays'],
      ['input', 'overrideFromNumber'],
    ]);
    expect(stack.sandbox.transport.requests).toBe(0);
  });

  it('scheduleCalls: 120 calls in three batch calls of at most 50, results in input order', async () => {
    const picked = idle().slice(10, 130);
    const agentId = stack.sandbox.agents[0]?.id as string;
    const res = await stack.run(ScheduleCallsDocument, {
      input: { calls: picked.map((c) => ({ contactId: c.id, agentId })) },
    });
    expect(res.errors).toBeUndefined();
    expect(stack.sandbox.stats.calls['POST /v1/schedule-calls-batch']).toBe(3);
    const results = res.data?.scheduleCalls.results ?? [];
    expect(results.map((r) => r.contactId)).toEqual(picked.map((c) => c.id));
    for (const [i, r] of results.entries()) {
      expect(r.loopId).toBe(stack.sandbox.dialerEntry(picked[i]?.id as string)?.loopId);
      expect(r.contact).toEqual({ id: picked[i]?.id, nextCallAt: expect.any(String) });
    }
    expect(res.data?.scheduleCalls.userErrors).toEqual([]);
  });

  it('scheduleCalls needs an agent per call and each contact once, else nothing is sent', async () => {
    const [a, b] = idle().slice(130, 132) as [SandboxContact, SandboxContact];
    const res = await stack.run(ScheduleCallsDocument, {
      input: {
        calls: [
          { contactId: a.id },
          { contactId: b.id, agentId: unknownId(3) },
          { contactId: b.id.toUpperCase(), agentId: unknownId(3) },
        ],
      },
    });
    expect(res.data?.scheduleCalls.userErrors.map((e) => e.field)).toEqual([
      ['input', 'calls', '0', 'agentId'],
      ['input', 'calls', '2', 'contactId'],
    ]);
    expect(stack.sandbox.transport.requests).toBe(0);
  });

  it('removeFromDialer: removed, not queued (NOT_IN_DIALER) and unknown (NOT_FOUND), mapped by id', async () => {
    const queued = contacts.filter((c) => c.nextCallAt !== null && !stack.sandbox.dialerEntry(c.id)).slice(0, 2);
    const notQueued = idle()[140] as SandboxContact;
    const ids = [queued[0]?.id, notQueued.id, unknownId(5), queued[1]?.id] as string[];
    const res = await stack.run(RemoveFromDialerDocument, { input: { contactIds: ids } });
    expect(res.errors).toBeUndefined();
    const results = res.data?.removeFromDialer.results ?? [];
    expect(results.map((r) => [r.contactId, r.removed])).toEqual([
      [ids[0], true],
      [ids[1], false],
      [ids[2], false],
      [ids[3], true],
    ]);
    expect(results[0]?.contact).toEqual({ id: ids[0], nextCallAt: null });
    expect(res.data?.removeFromDialer.userErrors).toEqual([
      {
        code: 'NOT_IN_DIALER',
        field: ['input', 'contactIds', '1'],
        message: "The contact is not queued in telli's auto dialer.",
      },
      { code: 'NOT_FOUND', field: ['input', 'contactIds', '2'], message: 'telli has no contact with this id.' },
    ]);
    expect(stack.sandbox.contacts.get(ids[0] as string)?.nextCallAt).toBeNull();
  });

  it('removeFromDialer: 60 ids take two batch calls (50 + 10); a malformed id makes none', async () => {
    const queued = contacts.filter((c) => c.nextCallAt !== null).slice(10, 70);
    const res = await stack.run(RemoveFromDialerDocument, { input: { contactIds: queued.map((c) => c.id) } });
    expect(res.data?.removeFromDialer.results.every((r) => r.removed)).toBe(true);
    const sizes = stack.sandbox.stats.writes.map((w) => (w.body as { contact_ids: unknown[] }).contact_ids.length);
    expect(sizes).toEqual([50, 10]);
    stack.sandbox.resetStats();
    const bad = await stack.run(RemoveFromDialerDocument, { input: { contactIds: [queued[0]?.id as string, 'x'] } });
    expect(bad.data?.removeFromDialer.userErrors).toEqual([
      { code: 'INVALID', field: ['input', 'contactIds', '1'], message: 'contactIds[1] must be a UUID' },
    ]);
    expect(stack.sandbox.transport.requests).toBe(0);
  });
});

describe('hard caps behind the cost limit (when an operator raises QUERY_MAX_COST)', () => {
  let stack: TestStack;
  useSharedStack((s) => (stack = s), { env: { QUERY_MAX_COST: '1000000', MAX_BODY_BYTES: String(8 * 1024 * 1024) } });

  it('createContacts refuses more than 10 000 contacts, removeFromDialer more than 1000 ids, before any call', async () => {
    const contacts = Array.from({ length: 10_001 }, (_, i) => newContact(i, { externalId: `cap-${i}` }));
    const create = await stack.run(CreateContactsDocument, { input: { contacts } });
    expect(create.data?.createContacts.userErrors).toEqual([
      { code: 'INVALID', field: ['input', 'contacts'], message: 'contacts accepts at most 10000 contacts; got 10001.' },
    ]);
    const ids = Array.from({ length: 1001 }, (_, i) => unknownId(i));
    const remove = await stack.run(RemoveFromDialerDocument, { input: { contactIds: ids } });
    expect(remove.data?.removeFromDialer.userErrors).toEqual([
      { code: 'INVALID', field: ['input', 'contactIds'], message: 'At most 1000 contacts per operation; got 1001.' },
    ]);
    expect(stack.sandbox.transport.requests).toBe(0);
  });
});

describe('reads after writes are fresh, with the TTL cache on', () => {
  let stack: TestStack;
  let contacts: SandboxContact[];
  useSharedStack((s, c) => ((stack = s), (contacts = c)), { env: { TELLI_CACHE_TTL_MS: '600000' } });

  const read = (id: string) => stack.run(ContactAfterWriteDocument, { id });

  it('after updateContact, the next query reads telli again and sees the change', async () => {
    const c = contacts[20] as SandboxContact;
    expect((await read(c.id)).data?.contact?.firstName).toBe(c.firstName);
    expect((await read(c.id)).data?.contact?.firstName).toBe(c.firstName);
    expect(stack.sandbox.stats.calls).toEqual({ [BATCH_READ]: 1 }); // the second read was cached
    // A payload that reads nothing: only the forgotten cache entry can make the next read fresh.
    const res = await stack.raw(
      'mutation ($id: ID!) { updateContact(input: { id: $id, firstName: "Changed" }) { userErrors { code } } }',
      { id: c.id },
    );
    expect(res).toEqual({ data: { updateContact: { userErrors: [] } } });
    expect((await read(c.id)).data?.contact?.firstName).toBe('Changed');
    expect(stack.sandbox.stats.calls).toEqual({ [BATCH_READ]: 2, [PATCH]: 1 });
  });

  it("after scheduleCall and removeFromDialer, the payload's and the next query's nextCallAt are fresh", async () => {
    const c = contacts.find((x, i) => i > 30 && x.nextCallAt === null && x.inCallSince === null) as SandboxContact;
    expect((await read(c.id)).data?.contact?.nextCallAt).toBeNull(); // now cached
    const scheduled = await stack.run(ScheduleCallDocument, { input: { contactId: c.id } });
    const nextCallAt = scheduled.data?.scheduleCall.contact?.nextCallAt;
    expect(nextCallAt).toEqual(expect.any(String));
    expect((await read(c.id)).data?.contact?.nextCallAt).toBe(nextCallAt);
    const removed = await stack.run(RemoveFromDialerDocument, { input: { contactIds: [c.id] } });
    expect(removed.data?.removeFromDialer.results[0]?.contact?.nextCallAt).toBeNull();
    expect((await read(c.id)).data?.contact?.nextCallAt).toBeNull();
  });

  it('after deleteContact, the next query finds nothing', async () => {
    const c = contacts[40] as SandboxContact;
    expect((await read(c.id)).data?.contact?.id).toBe(c.id);
    await stack.run(DeleteContactDocument, { input: { id: c.id } });
    expect(await read(c.id)).toEqual({ data: { contact: null } });
  });

  it('in one operation, a read after a write sees the write', async () => {
    const c = contacts[50] as SandboxContact;
    const res = await stack.raw(
      `mutation ($id: ID!) {
        before: updateContact(input: { id: $id, lastName: "First" }) { contact { lastName status } }
        after: updateContact(input: { id: $id, lastName: "Second" }) { contact { lastName status } }
      }`,
      { id: c.id },
    );
    expect(res.data).toMatchObject({
      before: { contact: { lastName: 'First' } },
      after: { contact: { lastName: 'Second' } },
    });
    expect((await read(c.id)).data?.contact?.lastName).toBe('Second');
    expect(codesOf(res)).toEqual([]);
  });
});

describe('V2 reads in a payload', () => {
  let stack: TestStack;
  let contacts: SandboxContact[];
  useSharedStack((s, c) => ((stack = s), (contacts = c)));

  it("come from the write's own answer: updateContact { contact { updatedAt } } makes no v2 read", async () => {
    const c = contacts[60] as SandboxContact;
    const res = await stack.run(UpdateContactDocument, { input: { id: c.id, salutation: 'Dr.' } });
    expect(res.data?.updateContact.contact?.updatedAt).toBe(stack.sandbox.contacts.get(c.id)?.updatedAt);
    expect(stack.sandbox.stats.calls[V2_READ]).toBeUndefined();
    expect(stack.sandbox.stats.calls).toEqual({ [PATCH]: 1, [BATCH_READ]: 1 });
  });
});

describe('the edge applies to mutations', () => {
  const mutation = print(CreateContactIdDocument);
  const variables = { input: newContact(99, { externalId: 'edge-99' }) };

  describe('with caller tokens', () => {
    const token = 'caller-token-for-the-writes-tests';
    let stack: TestStack;
    beforeAll(async () => {
      stack = await createTestStack({ env: { CALLER_TOKENS: token } });
    });
    afterAll(() => stack.close());

    const post = (headers: Record<string, string>) =>
      stack.app.fetch('http://layer.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query: mutation, variables }),
      });

    it('a mutation without the caller token is refused (401) and writes nothing', async () => {
      expect((await post({})).status).toBe(401);
      expect(stack.sandbox.transport.requests).toBe(0);
    });

    it('a mutation over GET is refused (405), even with the CSRF header, and writes nothing', async () => {
      const query = new URLSearchParams({ query: mutation, variables: JSON.stringify(variables) });
      const res = await stack.app.fetch(`http://layer.test/graphql?${query}`, {
        headers: { 'x-caller-token': token, 'x-graphql-yoga-csrf': '1', accept: 'application/graphql-response+json' },
      });
      expect(res.status).toBe(405);
      expect(stack.sandbox.transport.requests).toBe(0);
    });

    it('a "simple" cross-site POST (text/plain) is refused by CSRF prevention and writes nothing', async () => {
      expect((await post({ 'x-caller-token': token, 'content-type': 'text/plain' })).status).toBe(403);
      expect(stack.sandbox.transport.requests).toBe(0);
    });

    it('with the token, the same mutation writes once', async () => {
      const res = await post({ 'x-caller-token': token });
      expect(res.status).toBe(200);
      expect(stack.sandbox.stats.calls).toEqual({ 'POST /v2/contacts': 1 });
    });
  });

  describe('forwarded telli keys', () => {
    const keyA = 'tk_tenant_a_writes_0123';
    const keyB = 'tk_tenant_b_writes_4567';
    let stack: TestStack;
    let shared: SandboxContact;
    beforeAll(async () => {
      // Both tenants hold the same contact ids: only the key tells them apart.
      stack = await createTestStack({
        auth: 'forward',
        sandbox: { apiKeys: [keyA], tenants: { [keyB]: createDemoContacts() } },
        env: { TELLI_CACHE_TTL_MS: '600000' },
      });
      shared = [...stack.sandbox.contacts.values()][8] as SandboxContact;
    });
    afterAll(() => stack.close());

    const as = (key: string | undefined, query: string, vars: Record<string, unknown>) =>
      stack.raw(query, vars, key === undefined ? {} : { authorization: `Bearer ${key}` });
    const read = (key: string) => as(key, '{ contact(id: "' + shared.id + '") { firstName } }', {});

    it('a mutation without a key is UNAUTHENTICATED and makes no call', async () => {
      const res = await as(undefined, mutation, variables);
      expect(codesOf(res)).toEqual(['UNAUTHENTICATED']);
      expect(res.errors?.[0]?.path).toEqual(['createContact', 'contact']);
      expect(stack.sandbox.transport.requests).toBe(0);
    });

    it("one tenant's write changes only its own contact, and forgets only its own cached copy", async () => {
      expect(await read(keyB)).toEqual({ data: { contact: { firstName: shared.firstName } } }); // B's copy cached
      const update = print(UpdateContactDocument);
      const res = await as(keyA, update, { input: { id: shared.id, firstName: 'OnlyA' } });
      expect(res.data?.['updateContact']).toMatchObject({ contact: { firstName: 'OnlyA' }, userErrors: [] });
      stack.sandbox.resetStats();
      expect(await read(keyB)).toEqual({ data: { contact: { firstName: shared.firstName } } });
      expect(stack.sandbox.transport.requests).toBe(0); // B's copy is still right: B's account did not change
      // A v2 field is never cached: this asks telli, with B's key, and B's contact is as it was.
      const fresh = await as(keyB, '{ contact(id: "' + shared.id + '") { firstName updatedAt } }', {});
      expect(fresh.data?.['contact']).toMatchObject({ firstName: shared.firstName });
      expect(stack.sandbox.stats.callsByKey).toEqual({ [keyB]: 1 });
      stack.sandbox.resetStats();
      // A's copy was read afresh by the payload, after the write, and cached then.
      expect(await read(keyA)).toEqual({ data: { contact: { firstName: 'OnlyA' } } });
      expect(stack.sandbox.transport.requests).toBe(0);
    });
  });
});

describe("docs/writes.md's examples", () => {
  let stack: TestStack;
  useSharedStack((s) => (stack = s));

  it('run against the sandbox without errors or user errors, in the order shown', async () => {
    const page = await readFile(new URL('../docs/writes.md', import.meta.url), 'utf8');
    const block = /```graphql\n([\s\S]*?)```/.exec(page)?.[1] as string;
    const operations = parse(block).definitions.flatMap((d) => (d.kind === Kind.OPERATION_DEFINITION ? [d] : []));
    expect(operations.map((o) => o.name?.value)).toEqual(['AddLead', 'FixContact', 'CallNow', 'StopCalling', 'Import']);
    const variables = {
      contacts: [newContact(1, { externalId: 'readme-1' }), newContact(2, { externalId: 'readme-2' })],
    };
    for (const operation of operations) {
      const res = await stack.raw(print(operation), variables);
      expect(res.errors, operation.name?.value).toBeUndefined();
      expect(JSON.stringify(res.data)).not.toMatch(/"userErrors":\[\{/);
    }
    // docs/writes.md promises this exact PATCH body for FixContact.
    expect(stack.sandbox.stats.writes.find((w) => w.endpoint === PATCH)?.body).toEqual({
      lastName: 'King',
      email: null,
    });
  });
});
