import { getNamedType, isObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { V2_CONCURRENCY } from '../src/loaders/index.js';
import type { SandboxContact, SandboxProperty } from '../src/sandbox/index.js';
import { CONTACT_FIELD_SOURCES } from '../src/schema/contact/sources.js';
import { schema } from '../src/schema/index.js';
import {
  ContactByExternalIdMixedDocument,
  ContactByExternalIdV2Document,
  ContactPropertiesDocument,
  ContactsMixedDocument,
  ContactsPageDocument,
  ContactsPageIdsDocument,
  ContactsSharedAndV2Document,
  ContactsV1OnlyDocument,
  ContactsV2OnlyDocument,
} from './__generated__/graphql.js';
import { codesOf, createTestStack, useSharedStack, unknownId, type TestStack } from './support/stack.js';

const V1_BATCH = 'POST /v1/get-contacts-batch';
const V2_BY_ID = 'GET /v2/contacts/{id}';
const V2_BY_EXTERNAL = 'GET /v2/external/contacts/{externalId}';
const V2_LIST = 'GET /v2/contacts';

let stack: TestStack;
let contacts: SandboxContact[];
useSharedStack((s, c) => ((stack = s), (contacts = c)));

const contactAt = (n: number) => contacts[n] as SandboxContact;
const calls = () => stack.sandbox.stats.calls;
const derivedStatus = (c: SandboxContact) => (c.inCallSince ? 'IN_PROGRESS' : c.reachedAt ? 'REACHED' : 'NOT_REACHED');
const twenty = () => contacts.slice(100, 120);

/** The accessor that carries each data type's value, per the ContactProperty contract. */
const ACCESSOR = {
  string: 'stringValue',
  phone_number: 'stringValue',
  email: 'stringValue',
  number: 'numberValue',
  boolean: 'booleanValue',
  date: 'dateValue',
  datetime: 'dateTimeValue',
  select: 'selectedValues',
  multi_select: 'selectedValues',
} as const;

function expectedProperty(p: SandboxProperty) {
  const accessors: Record<string, unknown> = {
    stringValue: null,
    numberValue: null,
    booleanValue: null,
    dateValue: null,
    dateTimeValue: null,
    selectedValues: null,
  };
  accessors[ACCESSOR[p.dataType]] = p.dataType === 'select' ? [p.value] : p.value;
  return {
    key: p.key,
    label: p.label,
    dataType: p.dataType.toUpperCase(),
    rawDataType: p.dataType,
    value: p.value,
    options: p.options ?? [],
    ...accessors,
  };
}

describe('each field from the cheapest source', () => {
  it('only v1 fields for 20 contacts: one v1 batch call, no v2 call', async () => {
    const picked = twenty();
    const res = await stack.run(ContactsV1OnlyDocument, { ids: picked.map((c) => c.id) });
    expect(res.errors).toBeUndefined();
    expect(res.data?.contacts).toEqual(
      picked.map((c) => ({ id: c.id, firstName: c.firstName, status: derivedStatus(c), callAttempts: c.callAttempts })),
    );
    expect(calls()).toEqual({ [V1_BATCH]: 1 });
  });

  it('only v2 fields for 20 contacts: 20 v2 calls, no v1 call', async () => {
    const picked = twenty();
    const res = await stack.run(ContactsV2OnlyDocument, { ids: picked.map((c) => c.id) });
    expect(res.errors).toBeUndefined();
    expect(res.data?.contacts).toEqual(
      picked.map((c) => ({
        id: c.id,
        updatedAt: c.updatedAt,
        properties: c.properties.map((p) => ({ key: p.key, value: p.value })),
      })),
    );
    expect(calls()).toEqual({ [V2_BY_ID]: 20 });
  });

  it('shared fields beside a v2 field come from v2 — timezone included — still with no v1 call', async () => {
    const picked = twenty();
    const res = await stack.run(ContactsSharedAndV2Document, { ids: picked.map((c) => c.id) });
    expect(res.errors).toBeUndefined();
    expect(res.data?.contacts).toEqual(
      picked.map((c) => ({
        id: c.id,
        firstName: c.firstName,
        lastName: c.lastName,
        email: c.email,
        timezone: c.timezone,
        createdAt: c.createdAt,
        updatedAt: c.updatedAt,
      })),
    );
    expect(picked.some((c) => c.timezone !== null)).toBe(true); // v1's batch read would have said null
    expect(calls()).toEqual({ [V2_BY_ID]: 20 });
  });

  it('mixed v1 and v2 fields for 20 contacts: one v1 batch call and one v2 call per contact', async () => {
    const picked = twenty();
    const res = await stack.run(ContactsMixedDocument, { ids: picked.map((c) => c.id) });
    expect(res.errors).toBeUndefined();
    expect(res.data?.contacts).toEqual(
      picked.map((c) => ({
        id: c.id,
        firstName: c.firstName,
        timezone: c.timezone,
        status: derivedStatus(c),
        callAttempts: c.callAttempts,
        updatedAt: c.updatedAt,
        properties: c.properties.map((p) => ({ key: p.key })),
      })),
    );
    expect(calls()).toEqual({ [V1_BATCH]: 1, [V2_BY_ID]: 20 });
    expect(stack.sandbox.stats.batchSizes).toEqual([20]);
  });

  it('an id-only selection learns existence from the v1 batch', async () => {
    const [a, b] = [contactAt(3), contactAt(4)];
    const res = await stack.raw(`{ a: contact(id: "${a.id}") { id } b: contact(id: "${b.id}") { id } }`);
    expect(res.data).toEqual({ a: { id: a.id }, b: { id: b.id } });
    expect(calls()).toEqual({ [V1_BATCH]: 1 });
  });

  it('one contact asked for v2 fields several times in an operation costs one v2 call', async () => {
    const c = contactAt(7);
    const res = await stack.raw(`{
      a: contact(id: "${c.id}") { properties { key } }
      b: contact(id: "${c.id.toUpperCase()}") { updatedAt }
      c: contacts(ids: ["${c.id}", "${c.id}"]) { updatedAt }
    }`);
    expect(res.errors).toBeUndefined();
    expect(res.data?.['c']).toEqual([{ updatedAt: c.updatedAt }, { updatedAt: c.updatedAt }]);
    expect(calls()).toEqual({ [V2_BY_ID]: 1 });
  });

  it('follows named fragments and honours @skip / @include when planning', async () => {
    const c = contactAt(8);
    const viaFragment = await stack.raw(
      `query { contact(id: "${c.id}") { ...Typed } } fragment Typed on Contact { updatedAt properties { key } }`,
    );
    expect(viaFragment.errors).toBeUndefined();
    expect(calls()).toEqual({ [V2_BY_ID]: 1 });

    stack.sandbox.resetStats();
    const query = `query ($skip: Boolean!, $include: Boolean!) {
        contact(id: "${c.id}") { firstName updatedAt @skip(if: $skip) ... on Contact @include(if: $include) { properties { key } } }
      }`;
    const skipped = await stack.raw(query, { skip: true, include: false });
    expect(skipped).toEqual({ data: { contact: { firstName: c.firstName } } });
    expect(calls()).toEqual({ [V1_BATCH]: 1 });

    // The same document (planning is remembered per document) with other variables: planned anew.
    stack.sandbox.resetStats();
    const included = await stack.raw(query, { skip: false, include: true });
    expect(included.errors).toBeUndefined();
    expect(calls()).toEqual({ [V2_BY_ID]: 1 });
  });

  it(`keeps at most ${V2_CONCURRENCY} v2 calls in flight per request`, async () => {
    const slow = await createTestStack({ sandbox: { latencyMs: 30 } });
    try {
      const ids = [...slow.sandbox.contacts.keys()].slice(0, 40);
      const res = await slow.run(ContactsV2OnlyDocument, { ids });
      expect(res.errors).toBeUndefined();
      expect(slow.sandbox.stats.calls).toEqual({ [V2_BY_ID]: 40 });
      expect(slow.sandbox.transport.maxInFlight).toBe(V2_CONCURRENCY);
    } finally {
      await slow.close();
    }
  });

  it('classifies every Contact field in the source table the resolvers read from', () => {
    const contact = schema.getType('Contact');
    expect(isObjectType(contact)).toBe(true);
    if (!isObjectType(contact)) return;
    expect(Object.keys(CONTACT_FIELD_SOURCES).sort()).toEqual(Object.keys(contact.getFields()).sort());
    expect(getNamedType(contact.getFields()['properties']?.type)?.name).toBe('ContactProperty');
  });
});

describe('unknown ids are null', () => {
  it('with only v2 fields: one v2 call (404), no v1 call', async () => {
    const c = contactAt(9);
    const res = await stack.run(ContactsV2OnlyDocument, { ids: [unknownId(1), c.id] });
    expect(res.errors).toBeUndefined();
    expect(res.data?.contacts?.map((x) => x?.id ?? null)).toEqual([null, c.id]);
    expect(calls()).toEqual({ [V2_BY_ID]: 2 });
  });

  it('with mixed fields: null from the v1 batch, without an error', async () => {
    const res = await stack.run(ContactsMixedDocument, { ids: [unknownId(2)] });
    expect(res).toEqual({ data: { contacts: [null] } });
    expect(calls()[V1_BATCH]).toBe(1);
  });

  it('with only the id: null from the v1 batch', async () => {
    const res = await stack.raw(`{ contact(id: "${unknownId(3)}") { id } }`);
    expect(res).toEqual({ data: { contact: null } });
    expect(calls()).toEqual({ [V1_BATCH]: 1 });
  });
});

describe('properties', () => {
  it.each([0, 10, 20])('contact %i: every data type, equal to what telli stores', async (n) => {
    const c = contactAt(n);
    expect(new Set(c.properties.map((p) => p.dataType)).size).toBe(9);
    const res = await stack.run(ContactPropertiesDocument, { id: c.id });
    expect(res.errors).toBeUndefined();
    expect(res.data?.contact).toEqual({
      id: c.id,
      updatedAt: c.updatedAt,
      properties: c.properties.map(expectedProperty),
    });
    expect(calls()).toEqual({ [V2_BY_ID]: 1 });
  });

  it('reads the typed accessors as GraphQL types', async () => {
    const c = contactAt(0);
    const res = await stack.run(ContactPropertiesDocument, { id: c.id });
    const byKey = new Map(res.data?.contact?.properties.map((p) => [p.key, p]));
    expect(typeof byKey.get('deal_size')?.numberValue).toBe('number');
    expect(byKey.get('vip')?.booleanValue).toBe(true);
    expect(byKey.get('birthday')?.dateValue).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(byKey.get('plan')?.options.map((o) => o.value)).toEqual(['starter', 'growth', 'enterprise']);
    expect(byKey.get('company')?.options).toEqual([]);
    expect(byKey.get('mobile')?.stringValue).toBe(c.phoneNumber);
  });

  it('an unknown dataType is UNKNOWN with rawDataType and its value intact, without failing the contact', async () => {
    const c = contactAt(30);
    stack.sandbox.setRawV2(c.id, {
      id: c.id,
      type: 'contact',
      firstName: c.firstName,
      updatedAt: c.updatedAt,
      properties: [
        { key: 'budget', label: 'Budget', dataType: 'currency', value: { amount: 1200, currency: 'EUR' } },
        { key: 'untyped', value: 'no dataType sent' },
        { key: 'company', label: 'Company', dataType: 'string', value: 'Acme GmbH', options: null },
      ],
    });
    try {
      const res = await stack.run(ContactPropertiesDocument, { id: c.id });
      expect(res.errors).toBeUndefined();
      const none = {
        stringValue: null,
        numberValue: null,
        booleanValue: null,
        dateValue: null,
        dateTimeValue: null,
        selectedValues: null,
      };
      expect(res.data?.contact?.properties).toEqual([
        {
          key: 'budget',
          label: 'Budget',
          dataType: 'UNKNOWN',
          rawDataType: 'currency',
          value: { amount: 1200, currency: 'EUR' },
          options: [],
          ...none,
        },
        {
          key: 'untyped',
          label: null,
          dataType: 'UNKNOWN',
          rawDataType: null,
          value: 'no dataType sent',
          options: [],
          ...none,
        },
        { ...expectedProperty({ key: 'company', label: 'Company', dataType: 'string', value: 'Acme GmbH' }) },
      ]);
      const warning = stack.logs.lines().find((l) => l['telliDataType'] === 'currency');
      expect(warning).toMatchObject({ level: 'warn', propertyKey: 'budget' });
    } finally {
      stack.sandbox.setRawV2(c.id, undefined);
    }
  });

  it('a value that does not fit its own dataType nulls only that accessor (UPSTREAM_INVALID_RESPONSE)', async () => {
    const c = contactAt(31);
    stack.sandbox.setRawV2(c.id, {
      id: c.id,
      properties: [
        { key: 'deal_size', label: 'Deal size', dataType: 'number', value: '42' },
        { key: 'birthday', label: 'Birthday', dataType: 'date', value: '15.03.1985' },
        { key: 'vip', label: 'VIP', dataType: 'boolean', value: true },
      ],
    });
    try {
      const res = await stack.raw(
        `{ contact(id: "${c.id}") { properties { key value numberValue dateValue booleanValue } } }`,
      );
      expect(codesOf(res)).toEqual(['UPSTREAM_INVALID_RESPONSE', 'UPSTREAM_INVALID_RESPONSE']);
      expect(res.errors?.map((e) => e.path?.join('.')).sort()).toEqual([
        'contact.properties.0.numberValue',
        'contact.properties.1.dateValue',
      ]);
      expect(res.errors?.map((e) => e.message).join(' ')).not.toContain('15.03.1985');
      expect(res.data?.['contact']).toEqual({
        properties: [
          { key: 'deal_size', value: '42', numberValue: null, dateValue: null, booleanValue: null },
          { key: 'birthday', value: '15.03.1985', numberValue: null, dateValue: null, booleanValue: null },
          { key: 'vip', value: true, numberValue: null, dateValue: null, booleanValue: true },
        ],
      });
    } finally {
      stack.sandbox.setRawV2(c.id, undefined);
    }
  });

  it('a v2 record that breaks the contract fails only its contact', async () => {
    const [a, b, c] = [contactAt(32), contactAt(33), contactAt(34)];
    stack.sandbox.setRawV2(b.id, { id: b.id, properties: [{ key: 'no value type', value: 1, options: 'none' }] });
    try {
      const res = await stack.run(ContactsV2OnlyDocument, { ids: [a.id, b.id, c.id] });
      expect(codesOf(res)).toEqual(['UPSTREAM_INVALID_RESPONSE']);
      expect(res.errors?.[0]?.path).toEqual(['contacts', 1]);
      expect(res.data?.contacts?.map((x) => x?.id ?? null)).toEqual([a.id, null, c.id]);
    } finally {
      stack.sandbox.setRawV2(b.id, undefined);
    }
  });

  it('v2 not knowing a contact that v1 knows fails the v2 fields, not silently', async () => {
    const c = contactAt(35);
    stack.sandbox.setRawV2(c.id, null);
    try {
      const res = await stack.raw(`{ contact(id: "${c.id}") { id status updatedAt } }`);
      expect(codesOf(res)).toEqual(['UPSTREAM_INVALID_RESPONSE']);
      expect(res.errors?.[0]?.path).toEqual(['contact', 'updatedAt']);
      expect(res.data?.['contact']).toEqual({ id: c.id, status: derivedStatus(c), updatedAt: null });
    } finally {
      stack.sandbox.setRawV2(c.id, undefined);
    }
  });
});

describe('contactByExternalId with v2 fields', () => {
  it('reads the whole v2 record in one v2 lookup, with no v1 call', async () => {
    const c = contactAt(120);
    const res = await stack.run(ContactByExternalIdV2Document, { externalId: c.externalId as string });
    expect(res.errors).toBeUndefined();
    expect(res.data?.contactByExternalId).toEqual({
      id: c.id,
      firstName: c.firstName,
      updatedAt: c.updatedAt,
      properties: c.properties.map((p) => ({ key: p.key, dataType: p.dataType.toUpperCase() })),
    });
    expect(calls()).toEqual({ [V2_BY_EXTERNAL]: 1 });
  });

  it('with call state too: the v2 lookup plus one v1 batch call', async () => {
    const c = contactAt(121);
    const res = await stack.run(ContactByExternalIdMixedDocument, { externalId: c.externalId as string });
    expect(res.data?.contactByExternalId).toEqual({ id: c.id, status: derivedStatus(c), updatedAt: c.updatedAt });
    expect(calls()).toEqual({ [V2_BY_EXTERNAL]: 1, [V1_BATCH]: 1 });
  });

  it('is null for an unknown external id after one v2 lookup', async () => {
    const res = await stack.run(ContactByExternalIdV2Document, { externalId: 'crm/nobody' });
    expect(res).toEqual({ data: { contactByExternalId: null } });
    expect(calls()).toEqual({ [V2_BY_EXTERNAL]: 1 });
  });

  it("reads the contact by id when the lookup's properties lack dataType (as telli's docs sample does)", async () => {
    const c = contactAt(122);
    stack.sandbox.setRawV2(c.id, {
      id: c.id,
      externalId: c.externalId,
      properties: [{ key: 'plan', value: 'growth' }],
    });
    try {
      const res = await stack.run(ContactByExternalIdV2Document, { externalId: c.externalId as string });
      expect(res.errors).toBeUndefined();
      expect(res.data?.contactByExternalId?.properties).toEqual([{ key: 'plan', dataType: 'UNKNOWN' }]);
      expect(calls()).toEqual({ [V2_BY_EXTERNAL]: 1, [V2_BY_ID]: 1 });
    } finally {
      stack.sandbox.setRawV2(c.id, undefined);
    }
  });
});

describe('_entities with v2 fields', () => {
  it('resolves representations from v2 alone when only v2 fields are asked for', async () => {
    const picked = [contactAt(40), contactAt(41)];
    const res = await stack.raw(
      `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Contact { id updatedAt } } }`,
      {
        representations: [
          ...picked.map((c) => ({ __typename: 'Contact', id: c.id })),
          { __typename: 'Contact', id: unknownId(4) },
        ],
      },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.['_entities']).toEqual([...picked.map((c) => ({ id: c.id, updatedAt: c.updatedAt })), null]);
    expect(calls()).toEqual({ [V2_BY_ID]: 3 });
  });
});

describe('contactsPage', () => {
  type Page = NonNullable<Awaited<ReturnType<typeof firstPage>>['data']>['contactsPage'];
  const firstPage = (first?: number, after?: string) => stack.run(ContactsPageDocument, { first, after });

  it('a page with call-state fields: one list call and one v1 batch call, values from both', async () => {
    const res = await firstPage(10);
    expect(res.errors).toBeUndefined();
    const page = res.data?.contactsPage as NonNullable<Page>;
    expect(page.edges.map((e) => e.node)).toEqual(
      contacts.slice(0, 10).map((c) => ({
        id: c.id,
        firstName: c.firstName,
        timezone: c.timezone,
        updatedAt: c.updatedAt,
        status: derivedStatus(c),
        callAttempts: c.callAttempts,
        reachedAt: c.reachedAt,
      })),
    );
    expect(page.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: page.edges[0]?.cursor,
      endCursor: page.edges[9]?.cursor,
    });
    expect(calls()).toEqual({ [V2_LIST]: 1, [V1_BATCH]: 1 });
    expect(stack.sandbox.stats.batchSizes).toEqual([10]);
  });

  it('pages through every contact with endCursor: one list call per page, no v1 call for v2 fields', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    for (;;) {
      const res = await stack.run(ContactsPageIdsDocument, { first: 100, after });
      expect(res.errors).toBeUndefined();
      const page = res.data?.contactsPage;
      seen.push(...(page?.nodes ?? []).map((n) => n?.id as string));
      pages++;
      if (!page?.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor as string;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(contacts.map((c) => c.id));
    expect(calls()).toEqual({ [V2_LIST]: 3 });
  });

  it('call state over several pages: one v1 batch call per page, never one per contact', async () => {
    let after: string | undefined;
    do {
      const res = await firstPage(100, after);
      expect(res.errors).toBeUndefined();
      const page = res.data?.contactsPage as NonNullable<Page>;
      after = page.pageInfo.hasNextPage ? (page.pageInfo.endCursor as string) : undefined;
    } while (after);
    expect(calls()).toEqual({ [V2_LIST]: 3, [V1_BATCH]: 3 });
    expect(stack.sandbox.stats.batchSizes).toEqual([100, 100, 100]);
  });

  it('the last endCursor gives an empty page without a next one', async () => {
    const last = await stack.run(ContactsPageIdsDocument, { first: 50, after: undefined });
    let after = last.data?.contactsPage?.pageInfo.endCursor as string;
    for (let i = 0; i < 5; i++) {
      const res = await stack.run(ContactsPageIdsDocument, { first: 50, after });
      after = res.data?.contactsPage?.pageInfo.endCursor as string;
    }
    const end = await stack.run(ContactsPageIdsDocument, { first: 50, after });
    expect(end.errors).toBeUndefined();
    expect(end.data?.contactsPage).toEqual({ nodes: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it.each([
    [0, 1],
    [-5, 1],
    [1, 1],
    [500, 100],
    [undefined, 50],
  ])('first: %s is clamped to %i', async (first, expected) => {
    const res = await stack.run(ContactsPageIdsDocument, { first, after: undefined });
    expect(res.errors).toBeUndefined();
    expect(res.data?.contactsPage?.nodes).toHaveLength(expected);
    expect(calls()).toEqual({ [V2_LIST]: 1 });
  });

  it("every edge's cursor resumes right after that edge, within and across telli's pages", async () => {
    const first = (await firstPage(10)).data?.contactsPage as NonNullable<Page>;
    const idsAfter = async (cursor: string | undefined, n: number) => {
      const res = await stack.run(ContactsPageIdsDocument, { first: n, after: cursor });
      expect(res.errors).toBeUndefined();
      return res.data?.contactsPage?.nodes.map((node) => node?.id);
    };
    expect(await idsAfter(first.edges[4]?.cursor, 3)).toEqual(contacts.slice(5, 8).map((c) => c.id));
    expect(await idsAfter(first.edges[9]?.cursor, 3)).toEqual(contacts.slice(10, 13).map((c) => c.id));
    // 95 into telli's page, 10 more would exceed telli's limit of 100: this page ends early at 100
    // and the next one continues from telli's own next cursor.
    const wide = await stack.run(ContactsPageDocument, { first: 96, after: undefined });
    const short = await stack.run(ContactsPageIdsDocument, {
      first: 10,
      after: wide.data?.contactsPage?.edges[94]?.cursor,
    });
    expect(short.data?.contactsPage?.nodes.map((n) => n?.id)).toEqual(contacts.slice(95, 100).map((c) => c.id));
    expect(short.data?.contactsPage?.pageInfo.hasNextPage).toBe(true);
    expect(await idsAfter(short.data?.contactsPage?.pageInfo.endCursor as string, 2)).toEqual(
      contacts.slice(100, 102).map((c) => c.id),
    );
    const resumed = await firstPage(2, first.edges[4]?.cursor);
    expect(resumed.data?.contactsPage?.pageInfo.hasPreviousPage).toBe(true);
  });

  it.each([
    ['not base64 JSON', 'definitely not a cursor'],
    ['JSON of the wrong shape', Buffer.from('{"c":null,"s":-1}').toString('base64url')],
    ['too long', 'x'.repeat(5000)],
  ])('rejects an `after` that is %s with BAD_USER_INPUT and no telli call', async (_what, after) => {
    const res = await stack.run(ContactsPageIdsDocument, { first: 5, after });
    expect(codesOf(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.data).toEqual({ contactsPage: null });
    expect(stack.sandbox.totalCalls()).toBe(0);
  });

  it('reports a cursor telli no longer accepts as BAD_USER_INPUT', async () => {
    const after = Buffer.from(JSON.stringify({ c: 'expired', s: 0 })).toString('base64url');
    const res = await stack.run(ContactsPageIdsDocument, { first: 5, after });
    expect(codesOf(res)).toEqual(['BAD_USER_INPUT']);
    expect(calls()).toEqual({ [V2_LIST]: 1 });
  });

  it('a listed record that breaks the contract fails only its edge', async () => {
    const broken = contactAt(2);
    stack.sandbox.setRawV2(broken.id, { id: broken.id, firstName: 42 });
    try {
      const res = await firstPage(5);
      expect(codesOf(res)).toEqual(['UPSTREAM_INVALID_RESPONSE']);
      expect(res.errors?.[0]?.path).toEqual(['contactsPage', 'edges', 2, 'node']);
      const page = res.data?.contactsPage as NonNullable<Page>;
      expect(page.edges.map((e) => e.node?.id ?? null)).toEqual([
        contactAt(0).id,
        contactAt(1).id,
        null,
        contactAt(3).id,
        contactAt(4).id,
      ]);
      expect(page.edges[2]?.cursor).toEqual(expect.any(String));
      expect(stack.sandbox.stats.batchSizes).toEqual([4]);
    } finally {
      stack.sandbox.setRawV2(broken.id, undefined);
    }
  });
});
