import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ACCOUNT_TIMEZONE,
  createDemoContacts,
  DIALER_BATCH_LIMIT,
  PROPERTY_DEFINITIONS,
  SAMPLE_CONTACT_ID,
  SCHEDULE_DELAY_MS,
  startSandbox,
  type RunningSandbox,
  type SandboxAgent,
  type SandboxCall,
  type SandboxContact,
} from '../src/sandbox/index.js';
import { unknownId } from './support/stack.js';

/**
 * The sandbox as the layer meets it: real HTTP on loopback, a Bearer key, JSON bodies. These
 * tests pin what the layer's write, call and agent features will rely on: statuses and bodies of
 * every endpoint, that writes change what the reads serve (v1 and v2 alike), per-account
 * isolation, the call history's consistency with each contact's call state, paging, and the faults
 * that leave a write's outcome unknown to the client.
 */
const TENANT_KEY = 'sandbox_test_tenant_b';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

type Json = Record<string, unknown>;
interface Reply<T> {
  status: number;
  body: T;
  text: string;
  contentType: string | null;
}
interface V2Contact extends Json {
  id: string;
  externalId: string | null;
  firstName: string;
  updatedAt: string;
  createdAt: string;
  properties: { key: string; value: unknown; label: string; dataType: string; options: unknown[] }[];
}
interface V2Page<T> {
  type: unknown;
  data: T[];
  pageInfo: { hasNextPage: boolean; nextCursor: string | null };
  meta: { limit: number; count: number };
}
interface CallsPage {
  calls: SandboxCall[];
  next_cursor: string | null;
}

let sandbox: RunningSandbox;
let seeded: SandboxContact[];
const tenantContacts = createDemoContacts(30, 4242);

beforeAll(async () => {
  sandbox = await startSandbox({ tenants: { [TENANT_KEY]: tenantContacts } });
  seeded = [...sandbox.contacts.values()];
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.clearFaults();
  sandbox.resetStats();
});

/** Sends `body` as JSON (a string is sent verbatim, for malformed bodies). */
async function send<T = Json>(method: string, path: string, body?: unknown, key = sandbox.apiKey): Promise<Reply<T>> {
  const response = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: (text ? JSON.parse(text) : undefined) as T,
    text,
    contentType: response.headers.get('content-type'),
  };
}
const get = <T = Json>(path: string, key?: string) => send<T>('GET', path, undefined, key);

/** The seeded contacts still there, as they are now. */
const liveSeeded = () =>
  seeded.map((c) => sandbox.contacts.get(c.id)).filter((c): c is SandboxContact => c !== undefined);

let sequence = 0;
/** A fresh external id per call, so tests never collide on the shared sandbox. */
const freshExternalId = (label: string) => `test-${label}-${++sequence}-${Date.now()}`;

const createBody = (overrides: Json = {}) => ({
  firstName: 'Grace',
  lastName: 'Hopper',
  phoneNumber: '+4917642048466',
  externalId: freshExternalId('create'),
  externalUrl: 'https://crm.example.com/contacts/grace',
  salutation: 'Ms.',
  timezoneIana: 'America/New_York',
  email: 'grace@example.com',
  properties: [
    { key: 'company', value: 'Navy' },
    { key: 'plan', value: 'growth' },
    { key: 'interests', value: ['solar', 'ev_charger'] },
  ],
  ...overrides,
});

async function createContact(overrides: Json = {}, key?: string): Promise<V2Contact> {
  const res = await send<V2Contact>('POST', '/v2/contacts', createBody(overrides), key);
  expect(res.status).toBe(201);
  return res.body;
}

/** Every contact the v2 list serves, following cursors to the end. */
async function listAllV2(key?: string): Promise<V2Contact[]> {
  const all: V2Contact[] = [];
  let cursor: string | null = null;
  do {
    const res: Reply<V2Page<V2Contact>> = await get(`/v2/contacts?limit=100${cursor ? `&cursor=${cursor}` : ''}`, key);
    expect(res.status).toBe(200);
    all.push(...res.body.data);
    cursor = res.body.pageInfo.nextCursor;
  } while (cursor);
  return all;
}

/** Every call list-calls serves for the query, following `next_cursor` to the end. */
async function listAllCalls(query = '', key?: string): Promise<{ calls: SandboxCall[]; pages: number }> {
  const calls: SandboxCall[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res: Reply<CallsPage> = await get(
      `/v1/list-calls?limit=100${query}${cursor ? `&cursor=${cursor}` : ''}`,
      key,
    );
    expect(res.status).toBe(200);
    calls.push(...res.body.calls);
    cursor = res.body.next_cursor;
    pages++;
  } while (cursor);
  return { calls, pages };
}

const expectNewestFirst = (calls: readonly SandboxCall[]) => {
  for (let i = 1; i < calls.length; i++)
    expect((calls[i - 1] as SandboxCall).triggered_at).toBeGreaterThanOrEqual((calls[i] as SandboxCall).triggered_at);
};

/** The v1 fields that must agree with the v2 contact. */
const v1Of = (v2: V2Contact) => ({
  contact_id: v2.id,
  external_contact_id: v2.externalId,
  external_url: v2['externalUrl'],
  first_name: v2.firstName,
  last_name: v2['lastName'],
  phone_number: v2['phoneNumber'],
  email: v2['email'],
  salutation: v2['salutation'],
  timezone: v2['timezoneIana'],
  created_at: v2.createdAt,
});

describe('POST /v2/contacts', () => {
  it('answers 201 with the full v2 contact, the same one GET serves, typed from the definitions', async () => {
    const body = createBody();
    const res = await send<V2Contact>('POST', '/v2/contacts', body);
    expect(res.status).toBe(201);
    const created = res.body;
    expect(created.id).toMatch(UUID_V4);
    expect(created).toMatchObject({
      type: 'contact',
      externalId: body.externalId,
      externalUrl: body.externalUrl,
      salutation: 'Ms.',
      firstName: 'Grace',
      lastName: 'Hopper',
      phoneNumber: '+4917642048466',
      timezoneIana: 'America/New_York',
      email: 'grace@example.com',
    });
    expect(created.createdAt).toMatch(ISO);
    expect(created.updatedAt).toBe(created.createdAt);
    expect(Math.abs(Date.parse(created.createdAt) - Date.now())).toBeLessThan(60_000);
    expect(created.properties).toEqual([
      { key: 'company', label: 'Company', dataType: 'string', value: 'Navy', options: [] },
      {
        key: 'plan',
        label: 'Plan',
        dataType: 'select',
        value: 'growth',
        options: PROPERTY_DEFINITIONS.find((d) => d.key === 'plan')?.options,
      },
      {
        key: 'interests',
        label: 'Interests',
        dataType: 'multi_select',
        value: ['solar', 'ev_charger'],
        options: PROPERTY_DEFINITIONS.find((d) => d.key === 'interests')?.options,
      },
    ]);
    expect(await get(`/v2/contacts/${created.id}`)).toMatchObject({ status: 200, body: created });
    expect(sandbox.stats.calls).toEqual({ 'POST /v2/contacts': 1, 'GET /v2/contacts/{id}': 1 });
    expect(sandbox.stats.writes).toEqual([{ endpoint: 'POST /v2/contacts', body }]);
  });

  it('has no call state: v1 shows 0 attempts, not reached, nothing scheduled, no calls', async () => {
    const created = await createContact();
    const v1 = await get(`/v1/get-contact/${created.id}`);
    expect(v1.status).toBe(200);
    expect(v1.body).toEqual({
      ...v1Of(created),
      in_call_since: null,
      reached_at: null,
      contact_details: {},
      call_attempts: 0,
      next_call_at: null,
      status: 'not_reached',
    });
    expect(await get(`/v1/list-calls?contact_id=${created.id}`)).toMatchObject({
      status: 200,
      body: { calls: [], next_cursor: null },
    });
  });

  it('clears every optional field that is absent and gives fresh ids', async () => {
    const minimal = { firstName: 'Alan', lastName: 'Turing', phoneNumber: '+441234567890' };
    const [a, b] = await Promise.all([
      send<V2Contact>('POST', '/v2/contacts', minimal),
      send<V2Contact>('POST', '/v2/contacts', minimal),
    ]);
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({
      externalId: null,
      externalUrl: null,
      salutation: null,
      timezoneIana: null,
      email: null,
      properties: [],
    });
    expect(b.body.id).not.toBe(a.body.id); // no external id: no conflict either
  });

  it('409 { message, code } for an externalId the account already has; nothing is created', async () => {
    const taken = liveSeeded().find((c) => c.externalId?.startsWith('crm-')) as SandboxContact;
    const before = sandbox.contacts.size;
    const res = await send('POST', '/v2/contacts', createBody({ externalId: taken.externalId }));
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ message: expect.any(String), code: expect.any(String) });
    expect(sandbox.contacts.size).toBe(before);
  });

  const invalid: [string, Json][] = [
    ['empty firstName', { firstName: '' }],
    ['firstName of 51 characters', { firstName: 'x'.repeat(51) }],
    ['lastName of 51 characters', { lastName: 'y'.repeat(51) }],
    ['missing lastName', { lastName: undefined }],
    ['null firstName', { firstName: null }],
    ['phoneNumber of 21 characters', { phoneNumber: '+' + '1'.repeat(20) }],
    ['empty phoneNumber', { phoneNumber: '' }],
    ['a number as firstName', { firstName: 42 }],
    ['an empty externalId', { externalId: '' }],
    ['an externalUrl that is no URI', { externalUrl: 'not a uri' }],
    ['an unknown time zone', { timezoneIana: 'Mars/Olympus_Mons' }],
    ['a property key with a leading dash', { properties: [{ key: '-company', value: 'x' }] }],
    ['a property key of 65 characters', { properties: [{ key: 'k'.repeat(65), value: 'x' }] }],
    ['a property without value', { properties: [{ key: 'company' }] }],
    ['a string for a number property', { properties: [{ key: 'deal_size', value: '1000' }] }],
    ['a number for a boolean property', { properties: [{ key: 'vip', value: 1 }] }],
    ['a select value outside its options', { properties: [{ key: 'plan', value: 'platinum' }] }],
    ['a multi_select that is no array', { properties: [{ key: 'interests', value: 'solar' }] }],
    ['a date that is no date', { properties: [{ key: 'birthday', value: '15.03.1985' }] }],
    ['a datetime without time', { properties: [{ key: 'last_contacted', value: '2026-01-01' }] }],
    ['an email property that is no email', { properties: [{ key: 'work_email', value: 'nope' }] }],
    [
      'the same key twice',
      {
        properties: [
          { key: 'vip', value: true },
          { key: 'vip', value: false },
        ],
      },
    ],
    ['properties that are no array', { properties: { company: 'x' } }],
  ];
  it.each(invalid)('400 { message, code } for %s; nothing is created', async (_, overrides) => {
    const before = sandbox.contacts.size;
    const res = await send('POST', '/v2/contacts', createBody(overrides));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ message: expect.any(String), code: expect.any(String) });
    expect(sandbox.contacts.size).toBe(before);
  });

  it('400 naming the key for a property the account has no definition for', async () => {
    const res = await send('POST', '/v2/contacts', createBody({ properties: [{ key: 'shoe_size', value: '42' }] }));
    expect(res.status).toBe(400);
    expect((res.body as { message: string }).message).toContain('shoe_size');
  });

  it('400 for malformed JSON and for a body that is no object', async () => {
    for (const body of ['{"firstName": "A",', '[1, 2]', '"text"']) {
      const res = await send('POST', '/v2/contacts', body);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ message: expect.any(String), code: expect.any(String) });
    }
  });

  it('accepts every seeded property value back (the seed fits its own definitions)', async () => {
    const withAll = seeded.find((c) => c.properties.length === PROPERTY_DEFINITIONS.length) as SandboxContact;
    const properties = withAll.properties.map((p) => ({ key: p.key, value: p.value }));
    const res = await send<V2Contact>('POST', '/v2/contacts', createBody({ properties }));
    expect(res.status).toBe(201);
    expect(res.body.properties).toEqual(withAll.properties.map((p) => ({ ...p, options: p.options ?? [] })));
  });
});

describe('PATCH /v2/contacts/{id}', () => {
  it('changes only the keys present; null clears; properties merge; updatedAt moves; v1 agrees', async () => {
    const created = await createContact();
    const patch = {
      firstName: 'Amazing Grace',
      email: null,
      salutation: null,
      properties: [
        { key: 'vip', value: true },
        { key: 'company', value: null },
      ],
    };
    const res = await send<V2Contact>('PATCH', `/v2/contacts/${created.id}`, patch);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ...created,
      firstName: 'Amazing Grace',
      email: null,
      salutation: null,
      updatedAt: expect.any(String),
      properties: [
        created.properties[1],
        created.properties[2],
        { key: 'vip', label: 'VIP', dataType: 'boolean', value: true, options: [] },
      ],
    });
    expect(Date.parse(res.body.updatedAt)).toBeGreaterThan(Date.parse(created.updatedAt));
    expect((await get(`/v2/contacts/${created.id}`)).body).toEqual(res.body);
    expect((await get(`/v1/get-contact/${created.id}`)).body).toMatchObject(v1Of(res.body));
    // The exact body is recorded: absent keys stay absent, nulls stay null.
    expect(sandbox.stats.writes.at(-1)).toEqual({ endpoint: 'PATCH /v2/contacts/{id}', body: patch });
    expect(sandbox.stats.writes.at(-1)?.body).not.toHaveProperty('lastName');
  });

  it('an empty body changes nothing but updatedAt', async () => {
    const created = await createContact();
    const res = await send<V2Contact>('PATCH', `/v2/contacts/${created.id}`, {});
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...created, updatedAt: res.body.updatedAt });
    expect(res.body.updatedAt).not.toBe(created.updatedAt);
  });

  it('updates a seeded contact on every v1 read: get-contact, batch, by external id', async () => {
    const c = seeded[40] as SandboxContact;
    const externalId = freshExternalId('patched');
    const res = await send<V2Contact>('PATCH', `/v2/contacts/${c.id}`, {
      lastName: 'Patched',
      externalId,
      phoneNumber: '+4930111222',
    });
    expect(res.status).toBe(200);
    const v1 = await get(`/v1/get-contact/${c.id}`);
    expect(v1.body).toMatchObject({
      ...v1Of(res.body),
      call_attempts: c.callAttempts,
      contact_details: c.contactDetails,
    });
    const batch = await send<{ contact: Json }[]>('POST', '/v1/get-contacts-batch', { contact_ids: [c.id] });
    expect(batch.body[0]?.contact).toMatchObject({
      last_name: 'Patched',
      phone_number: '+4930111222',
      external_contact_id: externalId,
    });
    expect((await get(`/v1/get-contact-by-external-id/${encodeURIComponent(externalId)}`)).body).toMatchObject({
      contact_id: c.id,
    });
    expect((await get(`/v2/external/contacts/${encodeURIComponent(externalId)}`)).body).toEqual(res.body);
    // The old external id no longer leads anywhere.
    expect((await get(`/v2/external/contacts/${encodeURIComponent(c.externalId as string)}`)).status).toBe(404);
    expect(sandbox.contacts.get(c.id)?.lastName).toBe('Patched');
  });

  it('404 for an unknown id, 400 for invalid input, 409 for an externalId another contact has', async () => {
    const [a, b] = await Promise.all([createContact(), createContact()]);
    expect((await send('PATCH', `/v2/contacts/${unknownId(1)}`, { firstName: 'X' })).status).toBe(404);
    for (const body of [
      { firstName: null },
      { lastName: '' },
      { phoneNumber: 'x'.repeat(21) },
      { properties: [{ key: 'nope', value: 1 }] },
      '{oops',
    ])
      expect((await send('PATCH', `/v2/contacts/${a.id}`, body)).status).toBe(400);
    const conflict = await send('PATCH', `/v2/contacts/${a.id}`, { externalId: b.externalId });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toEqual({ message: expect.any(String), code: expect.any(String) });
    // Its own external id is no conflict.
    expect((await send('PATCH', `/v2/contacts/${a.id}`, { externalId: a.externalId })).status).toBe(200);
    expect((await get(`/v2/contacts/${a.id}`)).body).toMatchObject({
      firstName: a.firstName,
      externalId: a.externalId,
    });
  });
});

describe('PUT /v2/contacts/{id}', () => {
  it('replaces: omitted optional fields and properties are cleared; id and createdAt stay', async () => {
    const created = await createContact();
    const res = await send<V2Contact>('PUT', `/v2/contacts/${created.id}`, {
      firstName: 'Ada',
      lastName: 'Byron',
      phoneNumber: '+442071234567',
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: created.id,
      type: 'contact',
      externalId: null,
      externalUrl: null,
      salutation: null,
      firstName: 'Ada',
      lastName: 'Byron',
      phoneNumber: '+442071234567',
      timezoneIana: null,
      email: null,
      createdAt: created.createdAt,
      updatedAt: expect.any(String),
      properties: [],
    });
    expect(Date.parse(res.body.updatedAt)).toBeGreaterThan(Date.parse(created.updatedAt));
    expect((await get(`/v2/external/contacts/${encodeURIComponent(created.externalId as string)}`)).status).toBe(404);
    expect((await get(`/v1/get-contact/${created.id}`)).body).toMatchObject(v1Of(res.body));
  });

  it('404 / 400 / 409', async () => {
    const [a, b] = await Promise.all([createContact(), createContact()]);
    const full = { firstName: 'A', lastName: 'B', phoneNumber: '+491' };
    expect((await send('PUT', `/v2/contacts/${unknownId(2)}`, full)).status).toBe(404);
    expect((await send('PUT', `/v2/contacts/${a.id}`, { firstName: 'A', lastName: 'B' })).status).toBe(400);
    expect((await send('PUT', `/v2/contacts/${a.id}`, { ...full, externalId: b.externalId })).status).toBe(409);
    expect((await get(`/v2/contacts/${a.id}`)).body).toEqual(a);
  });
});

describe('DELETE /v2/contacts/{id}', () => {
  it('answers 204 with no body, and no read sees the contact afterwards', async () => {
    const c = seeded.find((s) => s.externalId?.startsWith('crm-') && s.callAttempts > 1) as SandboxContact;
    const callIds = sandbox.calls(c.id).map((call) => call.call_id);
    const res = await send('DELETE', `/v2/contacts/${c.id}`);
    expect(res).toMatchObject({ status: 204, text: '', contentType: null });
    expect(sandbox.stats.writes).toEqual([{ endpoint: 'DELETE /v2/contacts/{id}', body: undefined }]);

    expect((await get(`/v2/contacts/${c.id}`)).status).toBe(404);
    expect((await get(`/v1/get-contact/${c.id}`)).status).toBe(404);
    expect((await get(`/v1/get-contact-by-external-id/${encodeURIComponent(c.externalId as string)}`)).status).toBe(
      404,
    );
    expect((await get(`/v2/external/contacts/${encodeURIComponent(c.externalId as string)}`)).status).toBe(404);
    const batch = await send('POST', '/v1/get-contacts-batch', { contact_ids: [c.id] });
    expect(batch.body).toEqual([{ status: 'error', contactId: c.id, error: 'Contact not found' }]);
    expect((await listAllV2()).map((x) => x.id)).not.toContain(c.id);
    expect(sandbox.contacts.has(c.id)).toBe(false);

    // telli keeps call records: readable by id, but no longer listed for the contact.
    expect((await get(`/v1/list-calls?contact_id=${c.id}`)).body).toEqual({ calls: [], next_cursor: null });
    expect((await get(`/v1/get-call/${callIds[0]}`)).status).toBe(200);

    expect((await send('DELETE', `/v2/contacts/${c.id}`)).status).toBe(404);
    expect((await send('PATCH', `/v2/contacts/${c.id}`, { firstName: 'Zombie' })).status).toBe(404);
  });

  it('the v2 list keeps full pages and working cursors across a delete', async () => {
    const before = await listAllV2();
    const first: Reply<V2Page<V2Contact>> = await get('/v2/contacts?limit=10');
    const victim = first.body.data[5] as V2Contact;
    expect((await send('DELETE', `/v2/contacts/${victim.id}`)).status).toBe(204);
    const second: Reply<V2Page<V2Contact>> = await get(
      `/v2/contacts?limit=10&cursor=${first.body.pageInfo.nextCursor}`,
    );
    expect(second.body.data.map((c) => c.id)).toEqual(before.slice(10, 20).map((c) => c.id));
    const again: Reply<V2Page<V2Contact>> = await get('/v2/contacts?limit=10');
    expect(again.body.data).toHaveLength(10);
    expect(again.body.data.map((c) => c.id)).not.toContain(victim.id);
    expect((await listAllV2()).map((c) => c.id)).toEqual(before.filter((c) => c.id !== victim.id).map((c) => c.id));
  });
});

describe('POST /v1/add-contact and /v1/add-contacts-batch', () => {
  const v1Item = (overrides: Json = {}) => ({
    external_contact_id: freshExternalId('v1'),
    first_name: 'Katherine',
    last_name: 'Johnson',
    phone_number: '+15555550123',
    email: 'katherine@example.com',
    contact_details: { mission: 'Apollo 11', orbits: 3 },
    ...overrides,
  });

  it('creates a contact that v1 and v2 both serve; contact_details stay v1-only', async () => {
    const item = v1Item({ salutation: 'Dr.', external_url: 'https://crm.example.com/k' });
    const res = await send<{ contact_id: string }>('POST', '/v1/add-contact', item);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ contact_id: expect.stringMatching(UUID_V4) });
    const id = res.body.contact_id;
    expect((await get(`/v1/get-contact/${id}`)).body).toMatchObject({
      contact_id: id,
      external_contact_id: item.external_contact_id,
      first_name: 'Katherine',
      contact_details: { mission: 'Apollo 11', orbits: 3 },
      timezone: ACCOUNT_TIMEZONE, // telli falls back to the account's zone
      salutation: 'Dr.',
      call_attempts: 0,
      status: 'not_reached',
    });
    const v2 = await get<V2Contact>(`/v2/external/contacts/${encodeURIComponent(item.external_contact_id)}`);
    expect(v2.body).toMatchObject({ id, firstName: 'Katherine', email: 'katherine@example.com', properties: [] });
    expect(sandbox.stats.calls['POST /v1/add-contact']).toBe(1);
  });

  it('accepts the legacy dynamic_variables alias and flat contact_details_<key> fields', async () => {
    const item = v1Item({ contact_details: undefined, dynamic_variables: { a: 1 }, contact_details_b: 'two' });
    const { body } = await send<{ contact_id: string }>('POST', '/v1/add-contact', item);
    expect((await get(`/v1/get-contact/${body.contact_id}`)).body).toMatchObject({
      contact_details: { a: 1, b: 'two' },
    });
  });

  it('400 { message } for a duplicate external id and for a missing or invalid field', async () => {
    const taken = liveSeeded().find((c) => c.externalId?.startsWith('crm-')) as SandboxContact;
    const duplicate = await send('POST', '/v1/add-contact', v1Item({ external_contact_id: taken.externalId }));
    expect(duplicate).toMatchObject({ status: 400, body: { message: 'External ID already exists, must be unique' } });
    for (const overrides of [
      { first_name: undefined },
      { external_contact_id: '' },
      { phone_number: '017642048466' },
      { email: 'x' },
    ]) {
      const res = await send('POST', '/v1/add-contact', v1Item(overrides));
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ message: expect.any(String) });
    }
  });

  it('batch: per-item results out of input order, mapped by external_contact_id, with totals', async () => {
    const taken = liveSeeded().find((c) => c.externalId?.startsWith('crm-')) as SandboxContact;
    const repeated = freshExternalId('repeated');
    const items = [
      v1Item(),
      v1Item({ external_contact_id: taken.externalId }),
      v1Item({ external_contact_id: repeated }),
      v1Item({ external_contact_id: repeated, first_name: 'Second' }),
      v1Item({ phone_number: undefined }),
      v1Item(),
    ];
    const res = await send<{
      total_processed: number;
      total_success: number;
      total_failed: number;
      result: { external_contact_id: string; status: string; contact_id?: string; error?: string }[];
    }>('POST', '/v1/add-contacts-batch', { contacts: items });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total_processed: 6, total_success: 3, total_failed: 3 });
    const ids = res.body.result.map((r) => r.external_contact_id);
    expect(ids).not.toEqual(items.map((i) => i.external_contact_id));
    expect([...ids].sort()).toEqual(items.map((i) => i.external_contact_id).sort());
    const byIndex = (i: number) =>
      res.body.result.filter((r) => r.external_contact_id === items[i]?.external_contact_id);
    expect(byIndex(1)).toEqual([
      { external_contact_id: taken.externalId, status: 'error', error: 'External ID already exists, must be unique' },
    ]);
    // The first occurrence of a repeated id wins; the second is the duplicate.
    const [second, first] = byIndex(2);
    expect(first).toMatchObject({ status: 'success', contact_id: expect.stringMatching(UUID_V4) });
    expect(second).toEqual({
      external_contact_id: repeated,
      status: 'error',
      error: 'External ID already exists, must be unique',
    });
    expect(byIndex(4)).toEqual([
      {
        external_contact_id: items[4]?.external_contact_id,
        status: 'error',
        error: expect.stringContaining('phone_number'),
      },
    ]);
    for (const i of [0, 5]) {
      const [ok] = byIndex(i);
      const v1 = await get(`/v1/get-contact/${ok?.contact_id}`);
      expect(v1.body).toMatchObject({ external_contact_id: items[i]?.external_contact_id });
    }
    expect((await get(`/v1/get-contact-by-external-id/${encodeURIComponent(repeated)}`)).body).toMatchObject({
      contact_id: first?.contact_id,
    });
  });

  it('batch: 400 above 1000 items or without a contacts array; nothing is created', async () => {
    const before = sandbox.contacts.size;
    const tooMany = Array.from({ length: 1001 }, () => v1Item());
    expect((await send('POST', '/v1/add-contacts-batch', { contacts: tooMany })).status).toBe(400);
    expect((await send('POST', '/v1/add-contacts-batch', { contact: [] })).status).toBe(400);
    expect((await send('POST', '/v1/add-contacts-batch', 'nope')).status).toBe(400);
    expect(sandbox.contacts.size).toBe(before);
    const exactly = await send<{ total_success: number }>('POST', '/v1/add-contacts-batch', {
      contacts: Array.from({ length: 1000 }, () => v1Item()),
    });
    expect(exactly.body.total_success).toBe(1000);
    expect(sandbox.contacts.size).toBe(before + 1000);
  });
});

describe('the auto dialer: schedule-call, schedule-calls-batch, remove-from-auto-dialer(-batch)', () => {
  it('schedule-call queues the contact: loop id, next_call_at a minute ahead, agent remembered', async () => {
    const created = await createContact();
    const before = Date.now();
    const res = await send('POST', '/v1/schedule-call', { contact_id: created.id });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'success', contact_id: created.id, loop_id: expect.stringMatching(UUID_V4) });
    const v1 = await get<{ next_call_at: string }>(`/v1/get-contact/${created.id}`);
    const next = Date.parse(v1.body.next_call_at);
    expect(next).toBeGreaterThanOrEqual(before + SCHEDULE_DELAY_MS);
    expect(next).toBeLessThanOrEqual(Date.now() + SCHEDULE_DELAY_MS);
    const entry = sandbox.dialerEntry(created.id);
    expect(entry).toMatchObject({ loopId: res.body['loop_id'], agentId: sandbox.agents[0]?.id, maxRetryDays: null });
    // v2 does not carry call state, so scheduling does not move updatedAt.
    expect((await get(`/v2/contacts/${created.id}`)).body).toEqual(created);

    const agent = sandbox.agents[1] as SandboxAgent;
    const again = await send('POST', '/v1/schedule-call', {
      contact_id: created.id,
      agent_id: agent.id,
      max_retry_days: 3,
      override_from_number: '+4930123456',
    });
    expect(again.status).toBe(200);
    expect(again.body['loop_id']).not.toBe(res.body['loop_id']);
    expect(sandbox.dialerEntry(created.id)).toMatchObject({
      agentId: agent.id,
      maxRetryDays: 3,
      overrideFromNumber: '+4930123456',
    });
  });

  it('schedule-call: 400 { message } for an invalid or unknown contact and an unknown agent', async () => {
    const c = sandbox.contacts.get((await createContact()).id) as SandboxContact;
    const cases: [Json, string][] = [
      [{ contact_id: 'not-a-uuid' }, 'Invalid contact_id'],
      [{}, 'Invalid contact_id'],
      [{ contact_id: unknownId(3) }, 'Contact not found'],
      [{ contact_id: c.id, agent_id: unknownId(4) }, 'Agent not found'],
    ];
    for (const [body, message] of cases)
      expect(await send('POST', '/v1/schedule-call', body)).toMatchObject({ status: 400, body: { message } });
    expect((await send('POST', '/v1/schedule-call', { contact_id: c.id, max_retry_days: -1 })).status).toBe(400);
    expect((await get<{ next_call_at: unknown }>(`/v1/get-contact/${c.id}`)).body.next_call_at).toBe(c.nextCallAt);
  });

  it('schedule-calls-batch: per-contact results, mapped by contact_id; 400 above 50', async () => {
    const [a, b] = await Promise.all([createContact(), createContact()]);
    const agent = sandbox.agents[0] as SandboxAgent;
    const res = await send<
      { contact_id: string; status: string; loop_id?: string; error_message?: string; error_code?: number }[]
    >('POST', '/v1/schedule-calls-batch', {
      contacts: [
        { contact_id: a.id, agent_id: agent.id },
        { contact_id: unknownId(5), agent_id: agent.id },
        { contact_id: b.id, agent_id: agent.id, max_retry_days: 2 },
        { contact_id: b.id, agent_id: unknownId(6) },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(4);
    expect(res.body.map((r) => r.contact_id)).not.toEqual([a.id, unknownId(5), b.id, b.id]);
    expect(res.body.filter((r) => r.contact_id === a.id)).toEqual([
      { contact_id: a.id, status: 'success', loop_id: expect.stringMatching(UUID_V4) },
    ]);
    expect(res.body.find((r) => r.contact_id === unknownId(5))).toEqual({
      contact_id: unknownId(5),
      status: 'error',
      error_message: 'Contact not found',
      error_code: 400,
    });
    expect(
      res.body
        .filter((r) => r.contact_id === b.id)
        .map((r) => r.status)
        .sort(),
    ).toEqual(['error', 'success']);
    expect(sandbox.dialerEntry(a.id)?.loopId).toBe(res.body.find((r) => r.contact_id === a.id)?.loop_id);
    expect(sandbox.dialerEntry(b.id)).toMatchObject({ maxRetryDays: 2 });
    const tooMany = Array.from({ length: DIALER_BATCH_LIMIT + 1 }, () => ({ contact_id: a.id, agent_id: agent.id }));
    expect((await send('POST', '/v1/schedule-calls-batch', { contacts: tooMany })).status).toBe(400);
  });

  it('remove-from-auto-dialer-batch: clears queued contacts, names each failure; 400 above 50', async () => {
    const queued = await createContact();
    await send('POST', '/v1/schedule-call', { contact_id: queued.id });
    const seededQueued = liveSeeded().find((c) => c.nextCallAt !== null) as SandboxContact;
    const idle = await createContact();
    const ids = [queued.id, 'nope', unknownId(7), idle.id, seededQueued.id];
    const res = await send<{ contact_id: string; status: string; error?: string }[]>(
      'POST',
      '/v1/remove-from-auto-dialer-batch',
      { contact_ids: ids },
    );
    expect(res.status).toBe(200);
    expect(res.body.map((r) => r.contact_id)).not.toEqual(ids);
    const byId = new Map(res.body.map((r) => [r.contact_id, r]));
    expect(byId.get(queued.id)).toEqual({ contact_id: queued.id, status: 'success' });
    expect(byId.get(seededQueued.id)).toEqual({ contact_id: seededQueued.id, status: 'success' });
    expect(byId.get('nope')).toEqual({ contact_id: 'nope', status: 'error', error: 'Invalid contact_id' });
    expect(byId.get(unknownId(7))).toEqual({ contact_id: unknownId(7), status: 'error', error: 'Contact not found' });
    expect(byId.get(idle.id)).toEqual({
      contact_id: idle.id,
      status: 'error',
      error: 'Contact is not in the auto dialer',
    });
    for (const id of [queued.id, seededQueued.id])
      expect((await get(`/v1/get-contact/${id}`)).body['next_call_at']).toBeNull();
    expect(sandbox.dialerEntry(queued.id)).toBeUndefined();
    const tooMany = Array.from({ length: DIALER_BATCH_LIMIT + 1 }, () => queued.id);
    expect((await send('POST', '/v1/remove-from-auto-dialer-batch', { contact_ids: tooMany })).status).toBe(400);
  });

  it('remove-from-auto-dialer: 200 once, then 400 because the contact is no longer queued', async () => {
    const created = await createContact();
    await send('POST', '/v1/schedule-call', { contact_id: created.id });
    expect((await send('POST', '/v1/remove-from-auto-dialer', { contact_id: created.id })).status).toBe(200);
    expect(await send('POST', '/v1/remove-from-auto-dialer', { contact_id: created.id })).toMatchObject({
      status: 400,
      body: { message: 'Contact is not in the auto dialer' },
    });
  });
});

describe('accounts are isolated', () => {
  it('a write with one key is invisible to another, and external ids are unique per account only', async () => {
    const externalId = freshExternalId('tenant');
    const inTenant = await createContact({ externalId }, TENANT_KEY);
    expect((await get(`/v2/contacts/${inTenant.id}`, TENANT_KEY)).status).toBe(200);
    expect((await get(`/v2/contacts/${inTenant.id}`)).status).toBe(404);
    expect((await get(`/v1/get-contact/${inTenant.id}`)).status).toBe(404);
    expect((await get(`/v2/external/contacts/${externalId}`)).status).toBe(404);
    expect(sandbox.contacts.has(inTenant.id)).toBe(false);
    expect((await listAllV2()).map((c) => c.id)).not.toContain(inTenant.id);
    const inDefault = await createContact({ externalId }); // no 409: the other account's id does not count
    expect(inDefault.id).not.toBe(inTenant.id);

    const tenantAgents = (await get<V2Page<SandboxAgent>>('/v2/agents', TENANT_KEY)).body.data;
    expect(tenantAgents.map((a) => a.id)).not.toEqual(sandbox.agents.map((a) => a.id));
    expect(await send('POST', '/v1/schedule-call', { contact_id: inTenant.id })).toMatchObject({
      status: 400,
      body: { message: 'Contact not found' },
    });
    expect(
      await send('POST', '/v1/schedule-call', { contact_id: inDefault.id, agent_id: tenantAgents[0]?.id }),
    ).toMatchObject({
      status: 400,
      body: { message: 'Agent not found' },
    });
    expect((await send('DELETE', `/v2/contacts/${inDefault.id}`, undefined, TENANT_KEY)).status).toBe(404);
    expect((await get(`/v2/contacts/${inDefault.id}`)).status).toBe(200);
    expect(sandbox.stats.callsByKey[TENANT_KEY]).toBeGreaterThan(0);
  });

  it('never changes the contact objects the caller seeded (tenants may share them)', async () => {
    const c = tenantContacts[3] as SandboxContact;
    const snapshot = structuredClone(c);
    expect((await send('PATCH', `/v2/contacts/${c.id}`, { firstName: 'Changed' }, TENANT_KEY)).status).toBe(200);
    expect(c).toEqual(snapshot);
  });
});

describe('calls: GET /v1/list-calls and GET /v1/get-call/{callId}', () => {
  it('the seed agrees with each contact: one call per attempt, reached → a COMPLETED call with a transcript', async () => {
    const sample = seeded.filter((c, n) => n % 3 === 0 && sandbox.contacts.has(c.id));
    let completed = 0;
    let ongoing = 0;
    for (const c of sample) {
      const { calls } = await listAllCalls(`&contact_id=${c.id}`);
      expect(calls).toEqual(sandbox.calls(c.id));
      expect(calls).toHaveLength(c.callAttempts);
      expectNewestFirst(calls);
      expect(calls.map((call) => call.attempt)).toEqual(calls.map((_, i) => calls.length - i));
      for (const call of calls) {
        expect(call).toMatchObject({ contact_id: c.id, call_id: expect.stringMatching(UUID_V4) });
        expect(sandbox.agents.map((a) => a.id)).toContain(call.agent_id);
        expect(String(call.triggered_at)).toMatch(/^\d{13}$/);
        expect(call.triggered_at_iso).toBe(new Date(call.triggered_at).toISOString());
        expect(call.started_at_iso).toBe(call.started_at === null ? null : new Date(call.started_at).toISOString());
        expect(call.ended_at_iso).toBe(call.ended_at === null ? null : new Date(call.ended_at).toISOString());
        expect(call.transcript).toBe(call.transcriptObject.map((t) => `${t.role}: ${t.content}`).join('\n'));
        if (call.direction === 'inbound') expect(call.from_number).toBe(c.phoneNumber);
        else expect(call.to_number).toBe(c.phoneNumber);
      }
      const done = calls.filter((call) => call.call_status === 'COMPLETED');
      if (c.reachedAt) {
        completed++;
        const [last] = done;
        expect(last?.ended_at_iso).toBe(c.reachedAt);
        expect(last?.transcriptObject.length).toBeGreaterThanOrEqual(4);
        expect(new Set(last?.transcriptObject.map((t) => t.role))).toEqual(new Set(['agent', 'user']));
        expect(last?.call_analysis).toMatchObject({ customer_reached: { value: true, details: expect.any(String) } });
        expect(Object.values(last?.call_outcome ?? {})).not.toHaveLength(0);
        expect(last?.recording_url).toMatch(/^https:\/\//);
      } else expect(done).toEqual([]);
      if (c.inCallSince) {
        ongoing++;
        expect(calls[0]).toMatchObject({
          ended_at: null,
          ended_at_iso: null,
          started_at_iso: c.inCallSince,
          call_length_min: null,
        });
      } else for (const call of calls) expect(call.ended_at).not.toBeNull();
    }
    expect(completed).toBeGreaterThan(10);
    expect(ongoing).toBeGreaterThan(10);
  });

  it('pages the whole account newest first, without duplicates, and shows every kind of call', async () => {
    const { calls, pages } = await listAllCalls();
    expect(pages).toBeGreaterThan(1);
    expectNewestFirst(calls);
    expect(new Set(calls.map((c) => c.call_id)).size).toBe(calls.length);
    const live = [...sandbox.contacts.values()].flatMap((c) => sandbox.calls(c.id));
    expect(calls.map((c) => c.call_id).sort()).toEqual(live.map((c) => c.call_id).sort());
    const statuses = new Set(calls.map((c) => c.call_status));
    for (const status of ['COMPLETED', 'ANSWERED', 'NOT_REACHED', 'VOICEMAIL', 'ERROR', 'IN_PROGRESS'])
      expect(statuses).toContain(status);
    expect(calls.some((c) => c.direction === 'inbound')).toBe(true);
    expect(calls.some((c) => c.booked_slot_for !== null)).toBe(true);
  });

  it('seeds two calls with an undocumented status and one with an undocumented direction', () => {
    // Over every seeded contact, deleted ones included (their calls are kept), so earlier tests'
    // deletes cannot hide them.
    const all = seeded.flatMap((c) => sandbox.calls(c.id));
    expect(all.filter((c) => c.call_status === 'BUSY')).toHaveLength(2);
    expect(all.filter((c) => !['outbound', 'inbound'].includes(c.direction)).map((c) => c.direction)).toEqual(['web']);
  });

  it('limit=1 pages one contact call by call to a null next_cursor', async () => {
    const c = seeded.find((s) => s.callAttempts >= 4 && sandbox.contacts.has(s.id)) as SandboxContact;
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: Reply<CallsPage> = await get(
        `/v1/list-calls?contact_id=${c.id}&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(res.body.calls).toHaveLength(1);
      seen.push(...res.body.calls.map((call) => call.call_id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(sandbox.calls(c.id).map((call) => call.call_id));
    expect(sandbox.stats.calls['GET /v1/list-calls']).toBe(c.callAttempts);
  });

  it('400 for a bad limit, cursor or contact_id; an unknown contact has no calls', async () => {
    for (const query of ['limit=0', 'limit=101', 'limit=abc', 'limit=2.5', 'cursor=garbage', 'contact_id=nope']) {
      const res = await get(`/v1/list-calls?${query}`);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ message: expect.any(String) });
    }
    expect((await get(`/v1/list-calls?contact_id=${unknownId(8)}`)).body).toEqual({ calls: [], next_cursor: null });
    expect((await get<CallsPage>('/v1/list-calls')).body.calls).toHaveLength(50);
  });

  it('get-call answers the call (generating it on demand) or 404', async () => {
    const c = seeded.find((s) => s.callAttempts > 0 && sandbox.contacts.has(s.id)) as SandboxContact;
    const [newest] = sandbox.calls(c.id);
    expect(await get(`/v1/get-call/${newest?.call_id}`)).toMatchObject({ status: 200, body: newest });
    expect((await get(`/v1/get-call/${unknownId(9)}`)).status).toBe(404);
    expect((await get('/v1/get-call/not-a-uuid')).status).toBe(404);
    expect((await get(`/v1/get-call/${newest?.call_id}`, TENANT_KEY)).status).toBe(404);
    expect(sandbox.stats.calls['GET /v1/get-call/{callId}']).toBe(4);
  });

  it('setRawCall serves a raw call on list-calls and get-call until restored', async () => {
    const c = seeded.find((s) => s.callAttempts >= 2 && sandbox.contacts.has(s.id)) as SandboxContact;
    const [, older] = sandbox.calls(c.id) as [SandboxCall, SandboxCall];
    const raw = { call_id: older.call_id, call_status: 42, triggered_at: 'yesterday' };
    sandbox.setRawCall(older.call_id, raw);
    try {
      expect((await get<CallsPage>(`/v1/list-calls?contact_id=${c.id}`)).body.calls[1]).toEqual(raw);
      expect((await get(`/v1/get-call/${older.call_id}`)).body).toEqual(raw);
    } finally {
      sandbox.setRawCall(older.call_id, undefined);
    }
    expect((await get(`/v1/get-call/${older.call_id}`)).body).toEqual(older);
  });

  it('the same seed gives the same agents and calls in another sandbox', async () => {
    // Dated from the same moment, two sandboxes are the same; dated from another, only their
    // dates differ (the demo data is dated relative to when the sandbox starts).
    const now = Date.parse('2027-03-04T05:06:07Z');
    const [one, other] = await Promise.all([
      startSandbox({ now }),
      startSandbox({ contacts: createDemoContacts(undefined, undefined, now), now }),
    ]);
    try {
      expect(other.agents).toEqual(one.agents);
      const c = seeded[12] as SandboxContact;
      expect(other.calls(c.id)).toEqual(one.calls(c.id));
      expect(other.calls(c.id).length).toBeGreaterThan(0);
      const idsOf = (calls: readonly SandboxCall[]) => calls.map((call) => [call.call_id, call.call_status]);
      expect(idsOf(other.calls(c.id))).toEqual(idsOf(sandbox.calls(c.id)));
      expect(other.agents.map((a) => a.id)).toEqual(sandbox.agents.map((a) => a.id));
    } finally {
      await Promise.all([one.close(), other.close()]);
    }
  });
});

describe('demo data, dated from when the sandbox starts', () => {
  it('tells one plausible story: created before now, reached since, in a call for minutes, calls ended', async () => {
    const now = Date.parse('2030-06-15T12:00:00Z');
    const dated = await startSandbox({ now });
    try {
      const minutes = (ms: number) => ms / 60_000;
      const contacts = [...dated.contacts.values()];
      let inCall = 0;
      for (const c of contacts) {
        const created = Date.parse(c.createdAt);
        expect(created).toBeLessThan(now);
        expect(Date.parse(c.updatedAt)).toBeGreaterThanOrEqual(created);
        expect(Date.parse(c.updatedAt)).toBeLessThanOrEqual(now);
        if (c.reachedAt !== null) {
          expect(Date.parse(c.reachedAt)).toBeGreaterThan(created);
          expect(Date.parse(c.reachedAt)).toBeLessThan(now);
        }
        if (c.inCallSince !== null) {
          inCall++;
          // A few minutes at most, like the calls the agent finished.
          expect(minutes(now - Date.parse(c.inCallSince))).toBeGreaterThan(0);
          expect(minutes(now - Date.parse(c.inCallSince))).toBeLessThan(3);
        }
        if (c.nextCallAt !== null) expect(Date.parse(c.nextCallAt)).toBeGreaterThan(now);
        for (const call of dated.calls(c.id)) {
          expect(call.triggered_at).toBeGreaterThanOrEqual(created);
          expect(call.triggered_at).toBeLessThanOrEqual(now);
          // Ended calls have an end; only the call a contact is in right now has none.
          if (call.call_status === 'IN_PROGRESS') expect(call.started_at_iso).toBe(c.inCallSince);
          else {
            expect(call.ended_at).not.toBeNull();
            expect(call.ended_at as number).toBeLessThanOrEqual(now);
            expect(minutes((call.ended_at as number) - call.triggered_at)).toBeLessThan(10);
          }
        }
      }
      expect(inCall).toBeGreaterThan(10);
      for (const agent of dated.agents) expect(Date.parse(agent.createdAt)).toBeLessThan(now);
    } finally {
      await dated.close();
    }
  });

  it('the sample contact is reached and idle: its newest call is the finished conversation', () => {
    const sample = sandbox.contacts.get(SAMPLE_CONTACT_ID) as SandboxContact;
    expect(sample).toMatchObject({ inCallSince: null, nextCallAt: null, reachedAt: expect.any(String) });
    const [newest] = sandbox.calls(SAMPLE_CONTACT_ID);
    expect(newest).toMatchObject({ call_status: 'COMPLETED', ended_at_iso: sample.reachedAt });
    expect(sandbox.calls(SAMPLE_CONTACT_ID)).toHaveLength(sample.callAttempts);
  });
});

describe('agents: GET /v2/agents and GET /v2/agents/{id}', () => {
  it('pages through 3–4 agents with the v2 envelope, to hasNextPage false', async () => {
    expect(sandbox.agents.length).toBeGreaterThanOrEqual(3);
    expect(sandbox.agents.length).toBeLessThanOrEqual(4);
    const seen: SandboxAgent[] = [];
    let cursor: string | null = null;
    let last: V2Page<SandboxAgent> | undefined;
    do {
      const res: Reply<V2Page<SandboxAgent>> = await get(`/v2/agents?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.meta).toEqual({ limit: 1, count: 1 });
      seen.push(...res.body.data);
      last = res.body;
      cursor = res.body.pageInfo.nextCursor;
    } while (cursor);
    expect(last?.pageInfo).toEqual({ hasNextPage: false, nextCursor: null });
    expect(seen).toEqual(sandbox.agents);
    for (const agent of seen) {
      expect(Object.keys(agent).sort()).toEqual(['createdAt', 'id', 'language', 'title']);
      expect(agent.id).toMatch(UUID_V4);
      expect(agent.createdAt).toMatch(ISO);
    }
    const all = await get<V2Page<SandboxAgent>>('/v2/agents');
    expect(all.body).toMatchObject({ type: expect.anything(), data: sandbox.agents, pageInfo: { hasNextPage: false } });
  });

  it('one agent by id, 404 for an unknown one, 400 for a bad limit or cursor', async () => {
    const agent = sandbox.agents[1] as SandboxAgent;
    expect(await get(`/v2/agents/${agent.id}`)).toMatchObject({ status: 200, body: agent });
    expect((await get(`/v2/agents/${unknownId(10)}`)).status).toBe(404);
    for (const query of ['limit=0', 'limit=101', 'cursor=%%%', 'cursor=OTk5'])
      expect((await get(`/v2/agents?${query}`)).status).toBe(400);
    expect(sandbox.stats.calls).toMatchObject({ 'GET /v2/agents/{id}': 2, 'GET /v2/agents': 4 });
  });
});

describe('property definitions', () => {
  it('GET /v2/properties/contacts lists the definitions writes are checked against', async () => {
    const res = await get<{ data: { key: string; dataType: string; label: string }[] }>('/v2/properties/contacts');
    expect(res.body.data.map(({ key, dataType, label }) => ({ key, dataType, label }))).toEqual(
      PROPERTY_DEFINITIONS.map(({ key, dataType, label }) => ({ key, dataType, label })),
    );
    expect((await get('/v2/properties/contacts/plan')).body).toMatchObject({
      key: 'plan',
      dataType: 'select',
      options: expect.any(Array),
    });
    expect((await get('/v2/properties/contacts/shoe_size')).status).toBe(404);
  });
});

describe('faults that leave a write in doubt', () => {
  it('reset-after: the client sees a reset, yet the contact was created', async () => {
    const externalId = freshExternalId('reset-after');
    sandbox.injectFault({ fault: { kind: 'reset-after' }, times: 1, match: (r) => r.method === 'POST' });
    await expect(send('POST', '/v2/contacts', createBody({ externalId }))).rejects.toThrow();
    expect(sandbox.transport.faulted).toBe(1);
    expect(sandbox.stats.calls['POST /v2/contacts']).toBe(1);
    const found = await get<V2Contact>(`/v2/external/contacts/${externalId}`);
    expect(found.status).toBe(200);
    // A blind retry would now conflict: exactly what the layer must not turn into an error.
    expect((await send('POST', '/v2/contacts', createBody({ externalId }))).status).toBe(409);
  });

  it('hang-after: no answer ever comes, yet the patch took effect', async () => {
    const created = await createContact();
    sandbox.injectFault({ fault: { kind: 'hang-after' }, times: 1, match: (r) => r.method === 'PATCH' });
    const patched = fetch(`${sandbox.url}/v2/contacts/${created.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${sandbox.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ lastName: 'Hung' }),
      signal: AbortSignal.timeout(300),
    });
    await expect(patched).rejects.toThrow();
    expect((await get(`/v2/contacts/${created.id}`)).body).toMatchObject({ lastName: 'Hung' });
  });

  it('a plain reset happens before handling: nothing is written or recorded', async () => {
    const externalId = freshExternalId('reset');
    sandbox.injectFault({ fault: { kind: 'reset' }, times: 1 });
    await expect(send('POST', '/v2/contacts', createBody({ externalId }))).rejects.toThrow();
    expect(sandbox.stats.writes).toEqual([]);
    expect((await get(`/v2/external/contacts/${externalId}`)).status).toBe(404);
  });
});

describe('stats', () => {
  it('writes records non-GET bodies only, not the read-only batch, and resetStats clears it', async () => {
    const c = seeded[2] as SandboxContact;
    await get(`/v2/contacts/${c.id}`);
    await send('POST', '/v1/get-contacts-batch', { contact_ids: [c.id] });
    await send('POST', '/v2/contacts', '{broken');
    await send('POST', '/v1/no-such-endpoint', { a: 1 });
    expect(sandbox.stats.writes).toEqual([
      { endpoint: 'POST /v2/contacts', body: '{broken' },
      { endpoint: 'POST /v1/no-such-endpoint', body: { a: 1 } },
    ]);
    expect(sandbox.stats.calls).toEqual({
      'GET /v2/contacts/{id}': 1,
      'POST /v1/get-contacts-batch': 1,
      'POST /v2/contacts': 1,
    });
    sandbox.resetStats();
    expect(sandbox.stats.writes).toEqual([]);
  });

  it('an unknown key reaches no route and records nothing', async () => {
    const res = await send('POST', '/v2/contacts', createBody(), 'wrong_key');
    expect(res.status).toBe(401);
    expect(sandbox.stats).toMatchObject({ unauthorized: 1, writes: [] });
    expect(sandbox.stats.calls).toEqual({});
  });
});

describe('a 20 000-contact seed stays lazy', () => {
  it('generates no calls until one is asked for, then only that contact’s', async () => {
    const contacts = createDemoContacts(20_000);
    const big = await startSandbox({ contacts });
    try {
      expect(big.generatedCalls()).toEqual({ contacts: 0, calls: 0 });
      const c = contacts[1] as SandboxContact;
      const headers = { authorization: `Bearer ${big.apiKey}` };
      expect((await fetch(`${big.url}/v2/contacts?limit=100`, { headers })).status).toBe(200);
      expect((await fetch(`${big.url}/v1/get-contact/${c.id}`, { headers })).status).toBe(200);
      expect(big.generatedCalls()).toEqual({ contacts: 0, calls: 0 });
      const res = await fetch(`${big.url}/v1/list-calls?contact_id=${c.id}`, { headers });
      expect(((await res.json()) as CallsPage).calls).toHaveLength(c.callAttempts);
      expect(big.generatedCalls()).toEqual({ contacts: 1, calls: c.callAttempts });
      expect(big.agents.length).toBeGreaterThanOrEqual(3);
    } finally {
      await big.close();
    }
  });
});
