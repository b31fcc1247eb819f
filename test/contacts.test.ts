import { describe, expect, it } from 'vitest';
import { TRICKY_EXTERNAL_IDS, type SandboxContact } from '../src/sandbox/index.js';
import {
  ContactByExternalIdDocument,
  ContactByIdDocument,
  ContactsByIdsDocument,
  ContactStatusDocument,
  TwoFieldsDocument,
} from './__generated__/graphql.js';
import { codesOf, unknownId, useSharedStack, type TestStack } from './support/stack.js';

const BATCH = 'POST /v1/get-contacts-batch';
const BY_EXTERNAL = 'GET /v1/get-contact-by-external-id';

let stack: TestStack;
let contacts: SandboxContact[];
useSharedStack((s, c) => ((stack = s), (contacts = c)));

const contactAt = (n: number) => contacts[n] as SandboxContact;

describe('contact(id)', () => {
  it('returns every field of the telli contact with one batch call', async () => {
    const c = contactAt(2);
    const res = await stack.run(ContactByIdDocument, { id: c.id });
    expect(res.errors).toBeUndefined();
    expect(res.data?.contact).toEqual({
      id: c.id,
      externalId: c.externalId,
      externalUrl: c.externalUrl,
      createdAt: c.createdAt,
      firstName: c.firstName,
      lastName: c.lastName,
      phoneNumber: c.phoneNumber,
      email: c.email,
      timezone: null, // the batch endpoint never sends it (documented gap)
      salutation: c.salutation,
      status: 'NOT_REACHED',
      inCallSince: c.inCallSince,
      reachedAt: c.reachedAt,
      nextCallAt: c.nextCallAt,
      callAttempts: c.callAttempts,
      contactDetails: c.contactDetails,
    });
    expect(stack.sandbox.stats.calls).toEqual({ [BATCH]: 1 });
  });

  it('is null, without an error, when telli has no such contact', async () => {
    const res = await stack.run(ContactByIdDocument, { id: unknownId(1) });
    expect(res).toEqual({ data: { contact: null } });
  });

  it('accepts an upper-case UUID and finds the contact', async () => {
    const c = contactAt(3);
    const res = await stack.run(ContactByIdDocument, { id: c.id.toUpperCase() });
    expect(res.data?.contact?.id).toBe(c.id);
  });

  it('rejects a malformed id with BAD_USER_INPUT, no upstream call, and siblings intact', async () => {
    const good = contactAt(1);
    const res = await stack.raw(
      `{ bad: contact(id: "not-a-uuid") { id } good: contact(id: "${good.id}") { id firstName } }`,
    );
    expect(codesOf(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.path).toEqual(['bad']);
    expect(res.data).toEqual({ bad: null, good: { id: good.id, firstName: good.firstName } });
    expect(stack.sandbox.stats.batchSizes).toEqual([1]);
  });

  it('makes no upstream call at all when the only id is malformed', async () => {
    const res = await stack.run(ContactByIdDocument, { id: '1; DROP TABLE contacts' });
    expect(codesOf(res)).toEqual(['BAD_USER_INPUT']);
    expect(stack.sandbox.totalCalls()).toBe(0);
  });
});

describe('contacts(ids)', () => {
  it('keeps the order of ids, with null for unknown ids and duplicates repeated', async () => {
    const [a, b] = [contactAt(10), contactAt(20)];
    const res = await stack.run(ContactsByIdsDocument, { ids: [b.id, unknownId(7), a.id, b.id] });
    expect(res.errors).toBeUndefined();
    expect(res.data?.contacts?.map((c) => c?.id ?? null)).toEqual([b.id, null, a.id, b.id]);
    // the sandbox answers in reverse order: the layer maps by id, never by position
    expect(stack.sandbox.stats.batchSizes).toEqual([3]);
  });

  it('fails only the malformed entry', async () => {
    const a = contactAt(11);
    const res = await stack.run(ContactsByIdsDocument, { ids: [a.id, 'nope', a.id] });
    expect(codesOf(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.path).toEqual(['contacts', 1]);
    expect(res.data?.contacts?.map((c) => c?.id ?? null)).toEqual([a.id, null, a.id]);
  });

  it('rejects 1001 ids with BAD_USER_INPUT before any upstream call, leaving siblings intact', async () => {
    const ids = Array.from({ length: 1001 }, (_, i) => unknownId(i));
    const good = contactAt(5);
    const res = await stack.raw(
      `query ($ids: [ID!]!) { big: contacts(ids: $ids) { id } good: contact(id: "${good.id}") { id } }`,
      { ids },
    );
    expect(codesOf(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.data).toEqual({ big: null, good: { id: good.id } });
    expect(stack.sandbox.stats.batchSizes).toEqual([1]); // only `good`
  });

  it('accepts exactly 1000 ids in one upstream call', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => (i < contacts.length ? contactAt(i).id : unknownId(i)));
    const res = await stack.run(ContactsByIdsDocument, { ids });
    expect(res.errors).toBeUndefined();
    expect(res.data?.contacts?.filter(Boolean)).toHaveLength(contacts.length);
    expect(stack.sandbox.stats.batchSizes).toEqual([1000]);
  });
});

describe('batching across the whole operation', () => {
  it('3 distinct ids and a duplicate across contact and contacts aliases make exactly one upstream request', async () => {
    const [a, b, c] = [contactAt(30), contactAt(31), contactAt(32)];
    const res = await stack.raw(`{
      one: contact(id: "${a.id}") { id }
      two: contact(id: "${b.id}") { id }
      many: contacts(ids: ["${c.id}", "${a.id}"]) { id firstName }
    }`);
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({
      one: { id: a.id },
      two: { id: b.id },
      many: [
        { id: c.id, firstName: c.firstName },
        { id: a.id, firstName: a.firstName },
      ],
    });
    expect(stack.sandbox.stats.calls).toEqual({ [BATCH]: 1 });
    expect(stack.sandbox.stats.batchSizes).toEqual([3]);
  });

  it.each([1, 7, 99])('%i distinct ids spread over aliases make exactly one call', async (n) => {
    const ids = contacts.slice(0, n).map((c) => c.id);
    const fields = ids.map((id, i) => `c${i}: contact(id: "${id}") { id }`).join('\n');
    const res = await stack.raw(`{ ${fields} dup: contacts(ids: ${JSON.stringify(ids)}) { id } }`);
    expect(res.errors).toBeUndefined();
    expect(Object.keys(res.data ?? {})).toHaveLength(n + 1);
    expect(stack.sandbox.stats.batchSizes).toEqual([n]);
  });

  it('1600 ids over two fields make two calls of at most 1000 ids', async () => {
    const all = Array.from({ length: 1600 }, (_, i) => unknownId(10_000 + i));
    const res = await stack.run(TwoFieldsDocument, { a: all.slice(0, 800), b: all.slice(800) });
    expect(res.errors).toBeUndefined();
    expect(res.data?.first).toHaveLength(800);
    expect(res.data?.second).toHaveLength(800);
    expect(stack.sandbox.stats.calls).toEqual({ [BATCH]: 2 });
    expect([...stack.sandbox.stats.batchSizes].sort((x, y) => y - x)).toEqual([1000, 600]);
  });

  it('2500 distinct ids make ceil(2500/1000) = 3 calls; repeating them costs nothing extra', async () => {
    const all = Array.from({ length: 2500 }, (_, i) => unknownId(20_000 + i));
    const chunks = [all.slice(0, 1000), all.slice(1000, 2000), all.slice(2000)];
    const res = await stack.raw(
      `query ($a: [ID!]!, $b: [ID!]!, $c: [ID!]!, $again: [ID!]!) {
        a: contacts(ids: $a) { id } b: contacts(ids: $b) { id } c: contacts(ids: $c) { id }
        again: contacts(ids: $again) { id } one: contact(id: "${all[42]}") { id }
      }`,
      { a: chunks[0], b: chunks[1], c: chunks[2], again: all.filter((_, i) => i % 10 === 0) },
    );
    expect(res.errors).toBeUndefined();
    expect(stack.sandbox.stats.calls).toEqual({ [BATCH]: 3 });
    expect(stack.sandbox.stats.batchSizes.reduce((x, y) => x + y, 0)).toBe(2500);
    expect(Math.max(...stack.sandbox.stats.batchSizes)).toBeLessThanOrEqual(1000);
  });

  it('never shares a loader between requests: the same id in two requests costs two calls', async () => {
    const id = contactAt(40).id;
    await stack.run(ContactByIdDocument, { id });
    await stack.run(ContactByIdDocument, { id });
    expect(stack.sandbox.stats.calls).toEqual({ [BATCH]: 2 });
  });
});

describe('status', () => {
  it('derives every status from the timestamps when telli omits it (batch)', async () => {
    const byPhase = [0, 1, 2, 3].map((phase) => contactAt(phase + 40));
    const res = await stack.run(ContactsByIdsDocument, { ids: byPhase.map((c) => c.id) });
    const expected = byPhase.map((c) => (c.inCallSince ? 'IN_PROGRESS' : c.reachedAt ? 'REACHED' : 'NOT_REACHED'));
    expect(new Set(expected)).toEqual(new Set(['IN_PROGRESS', 'REACHED', 'NOT_REACHED']));
    expect(res.data?.contacts?.map((c) => c?.status)).toEqual(expected);
  });

  it.each([
    ['reached', 'REACHED'],
    ['not_reached', 'NOT_REACHED'],
    ['in_progress', 'IN_PROGRESS'],
  ] as const)("maps telli's %s to %s, trusting telli over the timestamps", async (telliStatus, expected) => {
    const c = contactAt(50);
    stack.sandbox.setRawV1(c.id, { contact_id: c.id, status: telliStatus, in_call_since: null, reached_at: null });
    try {
      const res = await stack.run(ContactStatusDocument, { id: c.id });
      expect(res.data?.contact?.status).toBe(expected);
    } finally {
      stack.sandbox.setRawV1(c.id, undefined);
    }
  });

  it('derives an unknown telli status from the timestamps and logs a warning', async () => {
    const c = contactAt(51);
    const since = '2026-01-02T03:04:05.000Z';
    stack.sandbox.setRawV1(c.id, { contact_id: c.id, status: 'pending', in_call_since: since, reached_at: null });
    try {
      const res = await stack.run(ContactStatusDocument, { id: c.id });
      expect(res.errors).toBeUndefined();
      expect(res.data?.contact).toEqual({ id: c.id, status: 'IN_PROGRESS', inCallSince: since, reachedAt: null });
      const warning = stack.logs.lines().find((l) => l['telliStatus'] === 'pending');
      expect(warning).toMatchObject({ level: 'warn', contactId: c.id, derived: 'in_progress' });
    } finally {
      stack.sandbox.setRawV1(c.id, undefined);
    }
  });
});

describe('contactDetails', () => {
  it('survives exactly for every demo shape (nested, arrays, numbers, booleans, nulls, unicode)', async () => {
    const sample = contacts.slice(0, 9);
    const res = await stack.run(ContactsByIdsDocument, { ids: sample.map((c) => c.id) });
    expect(res.errors).toBeUndefined();
    expect(res.data?.contacts?.map((c) => c?.contactDetails)).toEqual(sample.map((c) => c.contactDetails));
    expect(sample.map((c) => c.contactDetails)).toContainEqual({});
  });

  it('is {} when telli sends none or null, and keeps a __proto__ key as plain data', async () => {
    const [a, b] = [contactAt(60), contactAt(61)];
    const details = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as Record<string, unknown>;
    stack.sandbox.setRawV1(a.id, { contact_id: a.id, contact_details: null });
    stack.sandbox.setRawV1(b.id, { contact_id: b.id, contact_details: details });
    try {
      const res = await stack.raw(
        `{ a: contact(id: "${a.id}") { contactDetails } b: contact(id: "${b.id}") { contactDetails } }`,
      );
      expect(res.errors).toBeUndefined();
      expect(res.data?.['a']).toEqual({ contactDetails: {} });
      const bDetails = (res.data?.['b'] as { contactDetails: Record<string, unknown> }).contactDetails;
      expect(Object.keys(bDetails).sort()).toEqual(['__proto__', 'ok']);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    } finally {
      stack.sandbox.setRawV1(a.id, undefined);
      stack.sandbox.setRawV1(b.id, undefined);
    }
  });
});

describe('contactByExternalId', () => {
  it.each(TRICKY_EXTERNAL_IDS)('percent-encodes %j and finds the contact', async (externalId) => {
    const c = contacts.find((x) => x.externalId === externalId) as SandboxContact;
    const res = await stack.run(ContactByExternalIdDocument, { externalId });
    expect(res.errors).toBeUndefined();
    expect(res.data?.contactByExternalId).toMatchObject({
      id: c.id,
      externalId,
      firstName: c.firstName,
      contactDetails: c.contactDetails,
    });
    expect(stack.sandbox.stats.calls).toEqual({ [BY_EXTERNAL]: 1, [BATCH]: 1 });
  });

  it('is null for an unknown external id, after one lookup and no batch call', async () => {
    const res = await stack.run(ContactByExternalIdDocument, { externalId: 'crm/does not exist' });
    expect(res).toEqual({ data: { contactByExternalId: null } });
    expect(stack.sandbox.stats.calls).toEqual({ [BY_EXTERNAL]: 1 });
  });

  it('joins several external ids and plain ids into one batch call', async () => {
    const [a, b, c] = [contactAt(100), contactAt(101), contactAt(102)];
    const res = await stack.raw(`{
      a: contactByExternalId(externalId: "${a.externalId}") { id }
      b: contactByExternalId(externalId: "${b.externalId}") { id }
      c: contact(id: "${c.id}") { id }
    }`);
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ a: { id: a.id }, b: { id: b.id }, c: { id: c.id } });
    expect(stack.sandbox.stats.calls[BY_EXTERNAL]).toBe(2);
    // `c` goes out in the first tick; the two resolved external ids share the second batch.
    expect(stack.sandbox.stats.calls[BATCH]).toBeLessThanOrEqual(2);
  });

  it('rejects an empty external id without calling telli', async () => {
    const res = await stack.run(ContactByExternalIdDocument, { externalId: '' });
    expect(codesOf(res)).toEqual(['BAD_USER_INPUT']);
    expect(stack.sandbox.totalCalls()).toBe(0);
  });
});

describe('upstream faults stay with their contact', () => {
  it('a per-item batch error fails only that contact (UPSTREAM_ITEM_ERROR)', async () => {
    const [a, b] = [contactAt(70), contactAt(71)];
    stack.sandbox.setItemError(a.id, 'Internal error while loading contact');
    try {
      const res = await stack.run(ContactsByIdsDocument, { ids: [a.id, b.id] });
      expect(codesOf(res)).toEqual(['UPSTREAM_ITEM_ERROR']);
      expect(res.errors?.[0]?.path).toEqual(['contacts', 0]);
      expect(res.errors?.[0]?.message).not.toContain('Internal error while loading');
      expect(res.data?.contacts?.map((c) => c?.id ?? null)).toEqual([null, b.id]);
    } finally {
      stack.sandbox.setItemError(a.id, undefined);
    }
  });

  it('a contact that breaks the contract fails alone with UPSTREAM_INVALID_RESPONSE', async () => {
    const [a, b, c] = [contactAt(80), contactAt(81), contactAt(82)];
    stack.sandbox.setRawV1(a.id, { contact_id: a.id, call_attempts: 'three', first_name: 'Broken' });
    try {
      const res = await stack.run(ContactsByIdsDocument, { ids: [b.id, a.id, c.id] });
      expect(codesOf(res)).toEqual(['UPSTREAM_INVALID_RESPONSE']);
      expect(res.errors?.[0]?.path).toEqual(['contacts', 1]);
      expect(res.data?.contacts?.map((x) => x?.firstName ?? null)).toEqual([b.firstName, null, c.firstName]);
    } finally {
      stack.sandbox.setRawV1(a.id, undefined);
    }
  });

  it('each kind of contract break fails its own contact alone, among good ones', async () => {
    const broken: Record<string, unknown>[] = [
      { first_name: 42 },
      { last_name: ['Lovelace'] },
      { next_call_at: { at: 'noon' } },
      { call_attempts: 2.5 },
      { call_attempts: '3' },
      { contact_details: ['not', 'an', 'object'] },
      { contact_details: 'notes' },
      { status: true },
    ];
    const bad = broken.map((_, i) => contactAt(120 + i));
    const good = broken.map((_, i) => contactAt(140 + i));
    bad.forEach((c, i) => stack.sandbox.setRawV1(c.id, { contact_id: c.id, first_name: 'Broken', ...broken[i] }));
    try {
      const ids = bad.flatMap((c, i) => [c.id, (good[i] as SandboxContact).id]);
      const res = await stack.run(ContactsByIdsDocument, { ids });
      expect(codesOf(res)).toEqual(broken.map(() => 'UPSTREAM_INVALID_RESPONSE'));
      expect(res.errors?.map((e) => e.path)).toEqual(broken.map((_, i) => ['contacts', 2 * i]));
      expect(res.data?.contacts?.map((x) => x?.firstName ?? null)).toEqual(good.flatMap((c) => [null, c.firstName]));
    } finally {
      for (const c of bad) stack.sandbox.setRawV1(c.id, undefined);
    }
  });

  it('an entry without contact_id fails the id it must have been, not its neighbours', async () => {
    const [a, b] = [contactAt(83), contactAt(84)];
    stack.sandbox.setRawV1(a.id, { first_name: 'No id' });
    try {
      const res = await stack.run(ContactsByIdsDocument, { ids: [a.id, b.id] });
      expect(codesOf(res)).toEqual(['UPSTREAM_INVALID_RESPONSE']);
      expect(res.data?.contacts?.map((x) => x?.id ?? null)).toEqual([null, b.id]);
    } finally {
      stack.sandbox.setRawV1(a.id, undefined);
    }
  });

  it('a value a strict scalar rejects nulls only that field (UPSTREAM_INVALID_RESPONSE)', async () => {
    const c = contactAt(85);
    stack.sandbox.setRawV1(c.id, {
      contact_id: c.id,
      first_name: 'Still here',
      created_at: 'yesterday',
      external_url: 'not a url',
      phone_number: 'call me maybe',
      contact_details: { kept: true },
    });
    try {
      const res = await stack.run(ContactByIdDocument, { id: c.id });
      expect(codesOf(res)).toEqual([
        'UPSTREAM_INVALID_RESPONSE',
        'UPSTREAM_INVALID_RESPONSE',
        'UPSTREAM_INVALID_RESPONSE',
      ]);
      expect(res.errors?.map((e) => e.path?.join('.')).sort()).toEqual([
        'contact.createdAt',
        'contact.externalUrl',
        'contact.phoneNumber',
      ]);
      expect(res.errors?.map((e) => e.message).join(' ')).not.toContain('yesterday');
      expect(res.data?.contact).toMatchObject({
        id: c.id,
        firstName: 'Still here',
        createdAt: null,
        externalUrl: null,
        phoneNumber: null,
        contactDetails: { kept: true },
      });
    } finally {
      stack.sandbox.setRawV1(c.id, undefined);
    }
  });
});
