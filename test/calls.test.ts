import { parse } from 'graphql';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { V2_CONCURRENCY } from '../src/loaders/index.js';
import { createDemoContacts, type SandboxCall, type SandboxContact } from '../src/sandbox/index.js';
import { operationCost, UNBATCHED_READ_COST } from '../src/schema/core/cost.js';
import { schema } from '../src/schema/index.js';
import {
  AgentByIdDocument,
  AgentsDocument,
  CallByIdDocument,
  ContactCallIdsDocument,
  ContactCallsDocument,
  ContactsCallAgentsDocument,
  ContactsCallsDocument,
} from './__generated__/graphql.js';
import { codesOf, createTestStack, unknownId, useSharedStack, type TestStack } from './support/stack.js';

/**
 * Calls and agents (issue 15): `Contact.calls`, `call`, `agents`, `agent`, `Call.agent`,
 * `Call.contact` and the entities, through the production wiring against the sandbox. Every
 * batching claim is a count of the sandbox's own calls per endpoint.
 */
const LIST_CALLS = 'GET /v1/list-calls';
const GET_CALL = 'GET /v1/get-call/{callId}';
const AGENTS = 'GET /v2/agents';
const AGENT = 'GET /v2/agents/{id}';
const V1_BATCH = 'POST /v1/get-contacts-batch';

const DOCUMENTED_STATUSES = new Set(['COMPLETED', 'ANSWERED', 'NOT_REACHED', 'VOICEMAIL', 'ERROR']);

/** What the API must answer for a sandbox call, field by field, from the wire record. */
function expectedCall(c: SandboxCall) {
  return {
    id: c.call_id,
    attempt: c.attempt,
    direction: c.direction === 'inbound' ? 'INBOUND' : c.direction === 'outbound' ? 'OUTBOUND' : 'UNKNOWN',
    rawDirection: c.direction,
    fromNumber: c.from_number,
    toNumber: c.to_number,
    status: DOCUMENTED_STATUSES.has(c.call_status) ? c.call_status : 'UNKNOWN',
    rawStatus: c.call_status,
    triggeredAt: c.triggered_at_iso,
    startedAt: c.started_at_iso,
    endedAt: c.ended_at_iso,
    durationMinutes: c.call_length_min,
    endedReason: c.ended_reason,
    transcript: c.transcript,
    transcriptMessages: c.transcriptObject,
    analysis: c.call_analysis,
    outcome: c.call_outcome,
    collectedData: c.collected_data,
    bookedSlotFor: c.booked_slot_for,
    recordingUrl: c.recording_url,
  };
}

let stack: TestStack;
let contacts: SandboxContact[];
useSharedStack((s, c) => ((stack = s), (contacts = c)));

const calls = () => stack.sandbox.stats.calls;
const callsOf = (c: SandboxContact) => stack.sandbox.calls(c.id);
/** Contacts (from `from` on) with at least `n` calls. */
const withCalls = (n: number, from = 0) => contacts.slice(from).filter((c) => c.callAttempts >= n);
const first = <T>(items: readonly T[]): T => {
  const item = items[0];
  if (item === undefined) throw new Error('the sandbox has no such record');
  return item;
};
/** A call anywhere in the default account matching `test` (the sandbox generates calls on demand). */
function findCall(test: (call: SandboxCall) => boolean): SandboxCall {
  for (const c of contacts) {
    const found = callsOf(c).find(test);
    if (found) return found;
  }
  throw new Error('no such call in the sandbox');
}

describe('values', () => {
  it("a contact's calls, newest first, every field as telli sent it", async () => {
    const contact = first(withCalls(3));
    const res = await stack.run(ContactCallsDocument, { id: contact.id, first: 100 });
    expect(res.errors).toBeUndefined();
    const nodes = res.data?.contact?.calls.edges.map((e) => e.node);
    expect(nodes).toEqual(callsOf(contact).map(expectedCall));
    expect(calls()).toEqual({ [V1_BATCH]: 1, [LIST_CALLS]: 1 });
  });

  it('a reached contact has a completed call with a multi-turn transcript, analysis and outcome', async () => {
    const contact = first(contacts.filter((c) => c.reachedAt !== null && c.inCallSince === null));
    const res = await stack.run(ContactCallsDocument, { id: contact.id, first: 1 });
    const call = res.data?.contact?.calls.edges[0]?.node;
    expect(call).toMatchObject({ status: 'COMPLETED', endedAt: contact.reachedAt });
    expect(call?.transcriptMessages.length).toBeGreaterThanOrEqual(5);
    expect(call?.transcriptMessages.map((m) => m.role)).toEqual(expect.arrayContaining(['agent', 'user']));
    expect(call?.analysis).toHaveProperty('customer_reached', { value: true, details: expect.any(String) });
    expect(call?.outcome).toHaveProperty('interested');
  });

  it('maps directions and statuses; unknown values (IN_PROGRESS, BUSY, web) are UNKNOWN with the raw value', async () => {
    const cases = [
      findCall((c) => c.call_status === 'IN_PROGRESS'),
      findCall((c) => c.call_status === 'BUSY'),
      findCall((c) => c.direction === 'web'),
      findCall((c) => c.direction === 'inbound'),
      findCall((c) => c.call_status === 'VOICEMAIL'),
    ];
    const results = await Promise.all(cases.map((c) => stack.run(CallByIdDocument, { id: c.call_id })));
    const got = results.map((r) => {
      expect(r.errors).toBeUndefined();
      const call = r.data?.call;
      return call && [call.status, call.rawStatus, call.direction, call.rawDirection];
    });
    expect(got).toEqual([
      ['UNKNOWN', 'IN_PROGRESS', 'OUTBOUND', 'outbound'],
      ['UNKNOWN', 'BUSY', 'OUTBOUND', 'outbound'],
      [expect.any(String), cases[2]?.call_status, 'UNKNOWN', 'web'],
      [expect.any(String), cases[3]?.call_status, 'INBOUND', 'inbound'],
      ['VOICEMAIL', 'VOICEMAIL', expect.any(String), expect.any(String)],
    ]);
  });

  it('call(id): one get-call, with its contact (v1 batch) and agent', async () => {
    const contact = first(withCalls(2));
    const call = callsOf(contact)[1] as SandboxCall;
    const agent = stack.sandbox.agents.find((a) => a.id === call.agent_id);
    const res = await stack.run(CallByIdDocument, { id: call.call_id });
    expect(res.errors).toBeUndefined();
    expect(res.data?.call).toEqual({
      ...expectedCall(call),
      contact: { id: contact.id, firstName: contact.firstName, status: expect.any(String) },
      agent: { id: agent?.id, title: agent?.title },
    });
    expect(calls()).toEqual({ [GET_CALL]: 1, [V1_BATCH]: 1, [AGENT]: 1 });
  });

  it('call(id) of an unknown id is null without an error; an empty id is BAD_USER_INPUT', async () => {
    const unknown = await stack.run(CallByIdDocument, { id: unknownId(1) });
    expect(unknown).toEqual({ data: { call: null } });
    const empty = await stack.run(CallByIdDocument, { id: '' });
    expect(codesOf(empty)).toEqual(['BAD_USER_INPUT']);
    expect(calls()).toEqual({ [GET_CALL]: 1 });
  });

  it('epoch-ms timestamps are read when the *_iso strings are missing', async () => {
    const call = first(callsOf(first(withCalls(1, 30))));
    const { triggered_at_iso, started_at_iso, ended_at_iso, ...epochOnly } = call;
    stack.sandbox.setRawCall(call.call_id, epochOnly);
    try {
      const res = await stack.run(CallByIdDocument, { id: call.call_id });
      expect(res.errors).toBeUndefined();
      expect(res.data?.call).toMatchObject({
        triggeredAt: new Date(call.triggered_at).toISOString(),
        startedAt: call.started_at === null ? null : new Date(call.started_at).toISOString(),
        endedAt: call.ended_at === null ? null : new Date(call.ended_at).toISOString(),
      });
      expect(res.data?.call?.triggeredAt).toBe(triggered_at_iso);
      expect([started_at_iso, ended_at_iso]).toEqual([res.data?.call?.startedAt, res.data?.call?.endedAt]);
    } finally {
      stack.sandbox.setRawCall(call.call_id, undefined);
    }
  });

  it('a call with only its id resolves: every optional field null or empty, enums UNKNOWN', async () => {
    const call = first(callsOf(first(withCalls(1, 40))));
    stack.sandbox.setRawCall(call.call_id, { call_id: call.call_id });
    try {
      const res = await stack.run(CallByIdDocument, { id: call.call_id });
      expect(res.errors).toBeUndefined();
      expect(res.data?.call).toEqual({
        id: call.call_id,
        attempt: null,
        direction: 'UNKNOWN',
        rawDirection: null,
        fromNumber: null,
        toNumber: null,
        status: 'UNKNOWN',
        rawStatus: null,
        triggeredAt: null,
        startedAt: null,
        endedAt: null,
        durationMinutes: null,
        endedReason: null,
        transcript: null,
        transcriptMessages: [],
        analysis: null,
        outcome: null,
        collectedData: null,
        bookedSlotFor: null,
        recordingUrl: null,
        contact: null,
        agent: null,
      });
    } finally {
      stack.sandbox.setRawCall(call.call_id, undefined);
    }
  });
});

describe('one broken call fails only itself', () => {
  it('a wrong-typed field nulls only that edge (list) and only that call (by id)', async () => {
    const contact = first(withCalls(3, 50));
    const all = callsOf(contact);
    const broken = all[1] as SandboxCall;
    stack.sandbox.setRawCall(broken.call_id, { ...broken, attempt: 'second' });
    try {
      const list = await stack.run(ContactCallIdsDocument, { id: contact.id, first: 100 });
      expect(list.errors?.map((e) => [e.extensions?.['code'], e.path])).toEqual([
        ['UPSTREAM_INVALID_RESPONSE', ['contact', 'calls', 'edges', 1, 'node']],
        ['UPSTREAM_INVALID_RESPONSE', ['contact', 'calls', 'nodes', 1]],
      ]);
      expect(list.data?.contact?.calls.edges.map((e) => e.node?.id ?? null)).toEqual(
        all.map((c) => (c === broken ? null : c.call_id)),
      );
      // Its neighbours' cursors still resume around the broken one: after the one before it, the
      // next page starts at the broken call (an error in its place again); after it, past it.
      const edges = list.data?.contact?.calls.edges ?? [];
      const resumed = async (after: string | undefined) => {
        const page = await stack.run(ContactCallIdsDocument, { id: contact.id, first: 100, after });
        return page.data?.contact?.calls.edges.map((e) => e.node?.id ?? null);
      };
      expect(await resumed(edges[0]?.cursor)).toEqual(all.slice(1).map((c) => (c === broken ? null : c.call_id)));
      expect(await resumed(edges[1]?.cursor)).toEqual(all.slice(2).map((c) => c.call_id));

      const byId = await stack.run(CallByIdDocument, { id: broken.call_id });
      expect(byId.data).toEqual({ call: null });
      expect(byId.errors?.map((e) => [e.extensions?.['code'], e.path, e.message])).toEqual([
        [
          'UPSTREAM_INVALID_RESPONSE',
          ['call'],
          'telli sent a response for this call that breaks its documented contract.',
        ],
      ]);
    } finally {
      stack.sandbox.setRawCall(broken.call_id, undefined);
    }
  });

  it('a value a strict scalar rejects, or a contact id that is not a UUID, nulls only that field', async () => {
    const call = first(callsOf(first(withCalls(1, 60))));
    stack.sandbox.setRawCall(call.call_id, {
      ...call,
      recording_url: 'not a url',
      started_at_iso: 'yesterday',
      contact_id: 'not-a-uuid',
    });
    try {
      const res = await stack.run(CallByIdDocument, { id: call.call_id });
      expect(res.errors?.map((e) => [e.extensions?.['code'], e.path]).sort()).toEqual([
        ['UPSTREAM_INVALID_RESPONSE', ['call', 'contact']],
        ['UPSTREAM_INVALID_RESPONSE', ['call', 'recordingUrl']],
        ['UPSTREAM_INVALID_RESPONSE', ['call', 'startedAt']],
      ]);
      expect(res.data?.call).toMatchObject({ id: call.call_id, recordingUrl: null, startedAt: null, contact: null });
      expect(res.data?.call?.transcript).toBe(call.transcript);
    } finally {
      stack.sandbox.setRawCall(call.call_id, undefined);
    }
  });
});

describe('paging', () => {
  it('follows cursors to the end: every call once, newest first, one list-calls per page', async () => {
    const contact = first(withCalls(5));
    const seen: string[] = [];
    let after: string | null | undefined;
    let pages = 0;
    for (;;) {
      const res = await stack.run(ContactCallIdsDocument, { id: contact.id, first: 2, after });
      expect(res.errors).toBeUndefined();
      const connection = res.data?.contact?.calls;
      pages++;
      seen.push(...(connection?.nodes.map((n) => n?.id as string) ?? []));
      expect(connection?.pageInfo.hasPreviousPage).toBe(after !== undefined);
      if (!connection?.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(seen).toEqual(callsOf(contact).map((c) => c.call_id));
    expect(pages).toBe(Math.ceil(contact.callAttempts / 2));
    expect(calls()[LIST_CALLS]).toBe(pages);
  });

  it("any edge's cursor resumes right after that edge", async () => {
    const contact = first(withCalls(4));
    const page = await stack.run(ContactCallIdsDocument, { id: contact.id, first: 3 });
    const second = page.data?.contact?.calls.edges[0]?.cursor;
    const rest = await stack.run(ContactCallIdsDocument, { id: contact.id, first: 100, after: second });
    expect(rest.data?.contact?.calls.nodes.map((n) => n?.id)).toEqual(
      callsOf(contact)
        .slice(1)
        .map((c) => c.call_id),
    );
  });

  it('clamps first to 1–100 (0 → 1, 500 → 100, omitted → 10)', async () => {
    // A contact with more calls than the largest page, so that every clamp shows in the page size.
    const busy = { ...(createDemoContacts(1)[0] as SandboxContact), callAttempts: 150 };
    const own = await createTestStack({ sandbox: { contacts: [busy] } });
    try {
      const page = async (first?: number) => {
        const res = await own.run(ContactCallIdsDocument, { id: busy.id, ...(first !== undefined && { first }) });
        expect(res.errors).toBeUndefined();
        const calls = res.data?.contact?.calls;
        return { size: calls?.nodes.length, more: calls?.pageInfo.hasNextPage };
      };
      expect(own.sandbox.calls(busy.id)).toHaveLength(150);
      expect(await page(0)).toEqual({ size: 1, more: true });
      expect(await page(-5)).toEqual({ size: 1, more: true });
      // telli would answer 400 to limit=500: a clean page of 100 proves the clamp.
      expect(await page(500)).toEqual({ size: 100, more: true });
      expect(await page()).toEqual({ size: 10, more: true });
    } finally {
      await own.close();
    }
  });

  it('a contact without calls has an empty connection', async () => {
    const contact = first(contacts.filter((c) => c.callAttempts === 0));
    const res = await stack.run(ContactCallIdsDocument, { id: contact.id });
    expect(res.data?.contact?.calls).toEqual({
      edges: [],
      nodes: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    });
  });

  it("a malformed cursor, or one of another contact's calls, is BAD_USER_INPUT before any list-calls", async () => {
    const [a, b] = withCalls(3) as [SandboxContact, SandboxContact];
    const page = await stack.run(ContactCallIdsDocument, { id: a.id, first: 1 });
    const cursor = page.data?.contact?.calls.pageInfo.endCursor as string;
    stack.sandbox.resetStats();
    for (const after of ['garbage', Buffer.from('{"c":1,"s":0}').toString('base64url'), cursor]) {
      const res = await stack.run(ContactCallIdsDocument, { id: b.id, after });
      expect(codesOf(res)).toEqual(['BAD_USER_INPUT']);
      expect(res.errors?.[0]?.path).toEqual(['contact', 'calls']);
      expect(res.data).toEqual({ contact: null }); // `calls` is non-null: its contact takes the null
    }
    expect(calls()[LIST_CALLS]).toBeUndefined();
  });

  it('a cursor telli no longer accepts is BAD_USER_INPUT', async () => {
    const contact = first(withCalls(2));
    const forged = Buffer.from(JSON.stringify({ c: 'not-a-telli-cursor', s: 0, o: contact.id.toLowerCase() }));
    const res = await stack.run(ContactCallIdsDocument, { id: contact.id, after: forged.toString('base64url') });
    expect(codesOf(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.message).toMatch(/start again/);
  });

  it('agents: pages follow cursors to the end, every agent once, one list call per page', async () => {
    const seen: unknown[] = [];
    let after: string | null | undefined;
    for (;;) {
      const res = await stack.run(AgentsDocument, { first: 1, after });
      expect(res.errors).toBeUndefined();
      seen.push(...(res.data?.agents.edges.map((e) => e.node) ?? []));
      if (!res.data?.agents.pageInfo.hasNextPage) break;
      after = res.data.agents.pageInfo.endCursor;
    }
    expect(seen).toEqual(stack.sandbox.agents);
    expect(calls()).toEqual({ [AGENTS]: stack.sandbox.agents.length });
    const malformed = await stack.run(AgentsDocument, { after: 'garbage' });
    expect(codesOf(malformed)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('what each selection costs upstream', () => {
  it('calls for N contacts: one list-calls per distinct (contact, page), however often asked', async () => {
    const picked = withCalls(1).slice(0, 20);
    const ids = picked.map((c) => c.id);
    const res = await stack.raw(
      `query ($ids: [ID!]!, $one: ID!) {
        a: contacts(ids: $ids) { calls(first: 3) { nodes { id } } }
        b: contacts(ids: $ids) { id calls(first: 3) { edges { node { status } } } }
        c: contact(id: $one) { calls(first: 3) { nodes { id } } }
        d: contact(id: $one) { calls(first: 5) { nodes { id } } }
      }`,
      { ids: [...ids, ids[0]], one: ids[0] },
    );
    expect(res.errors).toBeUndefined();
    // 20 contacts × first: 3, plus contact 0 with first: 5 (another page of telli's).
    expect(calls()).toEqual({ [V1_BATCH]: 1, [LIST_CALLS]: 21 });
    const a = res.data?.['a'] as { calls: { nodes: { id: string }[] } }[];
    expect(a.map((c) => c.calls.nodes.map((n) => n.id))).toEqual(
      [...picked, picked[0] as SandboxContact].map((c) =>
        callsOf(c)
          .slice(0, 3)
          .map((call) => call.call_id),
      ),
    );
  });

  it(`keeps at most ${V2_CONCURRENCY} list-calls in flight per request`, async () => {
    const slow = await createTestStack({ sandbox: { latencyMs: 30 } });
    try {
      const ids = [...slow.sandbox.contacts.keys()].slice(0, 40);
      const res = await slow.run(ContactsCallsDocument, { ids, first: 2 });
      expect(res.errors).toBeUndefined();
      expect(slow.sandbox.stats.calls).toEqual({ [V1_BATCH]: 1, [LIST_CALLS]: 40 });
      expect(slow.sandbox.transport.maxInFlight).toBe(V2_CONCURRENCY);
    } finally {
      await slow.close();
    }
  });

  it('agent on 100+ calls of 3 agents: 3 agent reads', async () => {
    const three = new Set(stack.sandbox.agents.slice(0, 3).map((a) => a.id));
    const picked: SandboxContact[] = [];
    let total = 0;
    for (const c of withCalls(1)) {
      if (total >= 100) break;
      const own = callsOf(c);
      if (!own.every((call) => three.has(call.agent_id))) continue;
      picked.push(c);
      total += own.length;
    }
    const used = new Set(picked.flatMap((c) => callsOf(c).map((call) => call.agent_id)));
    expect(total).toBeGreaterThanOrEqual(100);
    expect(used.size).toBe(3);
    stack.sandbox.resetStats();
    const res = await stack.run(ContactsCallAgentsDocument, { ids: picked.map((c) => c.id), first: 10 });
    expect(res.errors).toBeUndefined();
    const byId = new Map(stack.sandbox.agents.map((a) => [a.id, a]));
    const got = res.data?.contacts?.flatMap((c) => c?.calls.nodes ?? []) ?? [];
    expect(got).toHaveLength(total);
    for (const node of got) {
      const call = findCall((c) => c.call_id === node?.id);
      expect(node?.agent).toEqual(byId.get(call.agent_id));
    }
    expect(calls()).toEqual({ [V1_BATCH]: 1, [LIST_CALLS]: picked.length, [AGENT]: 3 });
  });

  it('call(id) costs one get-call; the same call asked twice (any case) still one', async () => {
    const newest = first(callsOf(first(withCalls(2, 80))));
    const res = await stack.raw(`{
      a: call(id: "${newest.call_id}") { id }
      b: call(id: "${newest.call_id.toUpperCase()}") { status }
    }`);
    expect(res.errors).toBeUndefined();
    expect(calls()).toEqual({ [GET_CALL]: 1 });
  });

  it("the same contact's page asked again deeper in the operation (Call.contact.calls) costs nothing", async () => {
    const contact = first(withCalls(2, 80));
    const res = await stack.raw(`{
      contact(id: "${contact.id}") {
        calls(first: 2) { nodes { id contact { calls(first: 2) { nodes { id } } } } }
      }
    }`);
    expect(res.errors).toBeUndefined();
    expect(calls()).toEqual({ [V1_BATCH]: 1, [LIST_CALLS]: 1 });
  });

  it('agents listed earlier in the operation are not read again by Call.agent', async () => {
    const contact = first(withCalls(1, 120));
    const res = await stack.raw(`{
      agents(first: 100) { nodes { id } }
      contact(id: "${contact.id}") { calls { nodes { agent { title } } } }
    }`);
    expect(res.errors).toBeUndefined();
    expect(calls()).toEqual({ [AGENTS]: 1, [V1_BATCH]: 1, [LIST_CALLS]: 1 });
  });

  it('agents primed by a listed page count as loader hits when read, never as misses', async () => {
    const metered = await createTestStack({ env: { METRICS: 'true' } });
    try {
      const contact = [...metered.sandbox.contacts.values()].find((c) => c.callAttempts >= 2) as SandboxContact;
      const res = await metered.raw(`{
        agents(first: 100) { nodes { id } }
        contact(id: "${contact.id}") { calls(first: 2) { nodes { agent { id } } } }
      }`);
      expect(res.errors).toBeUndefined();
      const text = await (await metered.app.fetch('http://layer.test/metrics')).text();
      // Two Call.agent reads, both answered by the page; priming the page's agents asked for nothing.
      expect(text).toContain('telli_loader_cache_total{loader="agentById",result="hit"} 2');
      expect(text).not.toContain('telli_loader_cache_total{loader="agentById",result="miss"}');
    } finally {
      await metered.close();
    }
  });

  it('a call or agent id that cannot go into a URL (a lone surrogate) is BAD_USER_INPUT, with no read', async () => {
    const res = await stack.raw('query ($c: ID!, $a: ID!) { call(id: $c) { id } agent(id: $a) { id } }', {
      c: 'call-\ud800',
      a: '\udc00-agent',
    });
    expect(res.errors?.map((e) => [e.extensions?.['code'], e.path, e.message])).toEqual([
      ['BAD_USER_INPUT', ['call'], 'The call id must be well-formed Unicode (it contains a lone surrogate).'],
      ['BAD_USER_INPUT', ['agent'], 'The agent id must be well-formed Unicode (it contains a lone surrogate).'],
    ]);
    expect(calls()).toEqual({});
  });

  it('agent(id) is one read; unknown is null', async () => {
    const agent = first(stack.sandbox.agents);
    const res = await stack.run(AgentByIdDocument, { id: agent.id });
    expect(res).toEqual({ data: { agent } });
    expect(await stack.run(AgentByIdDocument, { id: unknownId(7) })).toEqual({ data: { agent: null } });
    expect(calls()).toEqual({ [AGENT]: 2 });
  });

  it('telli answering 503 once: the read is retried and succeeds', async () => {
    const contact = first(withCalls(2, 90));
    stack.sandbox.injectFault({
      fault: { kind: 'status', status: 503 },
      match: ({ url }) => url.startsWith('/v1/list-calls'),
      times: 1,
    });
    try {
      const res = await stack.run(ContactCallIdsDocument, { id: contact.id, first: 2 });
      expect(res.errors).toBeUndefined();
      expect(res.data?.contact?.calls.nodes).toHaveLength(2);
      expect(stack.sandbox.transport.faulted).toBe(1);
    } finally {
      stack.sandbox.clearFaults();
    }
  });

  it('a deleted contact: its calls stay readable by id, with contact null', async () => {
    const contact = first(withCalls(2, 200));
    const call = first(callsOf(contact));
    const deleted = await fetch(`${stack.sandbox.url}/v2/contacts/${contact.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${stack.sandbox.apiKey}` },
    });
    expect(deleted.status).toBe(204);
    const res = await stack.run(CallByIdDocument, { id: call.call_id });
    expect(res.errors).toBeUndefined();
    expect(res.data?.call).toMatchObject({ id: call.call_id, contact: null });
  });
});

describe('the cost model', () => {
  const cost = (query: string, variables: Record<string, unknown> = {}) =>
    operationCost(schema, parse(query), undefined, variables);

  it('weighs one list-calls per contact, and multiplies what is below by first', () => {
    // contact 1, calls 1 + 1 list-calls × 10, nodes 1, id 1
    expect(cost('{ contact(id: "x") { calls { nodes { id } } } }')).toBe(3 + 1 + UNBATCHED_READ_COST);
    // contacts 2, calls 1 + 2 × 10, nodes 1, agent 1 + (2 × 5 calls) × 1, title 1
    expect(cost('{ contacts(ids: ["a", "b"]) { calls(first: 5) { nodes { agent { title } } } } }')).toBe(
      2 + 1 + 2 * UNBATCHED_READ_COST + 1 + 1 + 10 + 1,
    );
    // v2 fields of the calls' contacts count once per call: contact 1 + 3 calls × 1, properties 1 + 3 × 10
    expect(cost('{ contact(id: "x") { calls(first: 3) { nodes { contact { properties { key } } } } } }')).toBe(
      1 + 1 + UNBATCHED_READ_COST + 1 + (1 + 3) + (1 + 3 * 10) + 1,
    );
    // first is clamped as execution clamps it
    expect(cost('{ contact(id: "x") { calls(first: 500) { nodes { agent { id } } } } }')).toBe(
      cost('{ contact(id: "x") { calls(first: 100) { nodes { agent { id } } } } }'),
    );
    expect(cost('{ call(id: "x") { id } agent(id: "y") { id } agents(first: 5) { nodes { id } } }')).toBe(
      3 * (1 + UNBATCHED_READ_COST) + 3 + 1,
    );
  });

  it('fragments spread in many scopes cost what the inlined document costs', () => {
    const fragment = 'fragment F on Contact { properties { key } calls(first: 4) { nodes { agent { title } } } }';
    const spread = `{ contact(id: "x") {
      a: calls(first: 2) { nodes { contact { ...F } } }
      b: calls(first: 3) { nodes { contact { ...F calls(first: 7) { nodes { contact { ...F } } } } } }
      ...F
    } } ${fragment}`;
    const body = 'properties { key } calls(first: 4) { nodes { agent { title } } }';
    const inlined = `{ contact(id: "x") {
      a: calls(first: 2) { nodes { contact { ${body} } } }
      b: calls(first: 3) { nodes { contact { ${body} calls(first: 7) { nodes { contact { ${body} } } } } } }
      ${body}
    } }`;
    expect(cost(spread)).toBe(cost(inlined));
    // The deepest spread alone is read for 3 × 7 contacts: 21 list-calls of its own.
    expect(cost(spread)).toBeGreaterThan(21 * UNBATCHED_READ_COST);
  });

  it('Call and Agent representations in _entities weigh one telli call each; Contact ones do not', () => {
    const query = 'query ($r: [_Any!]!) { _entities(representations: $r) { __typename } }';
    const reps = (typename: string, n: number) => Array.from({ length: n }, () => ({ __typename: typename, id: 'x' }));
    expect(cost(query, { r: reps('Contact', 4) })).toBe(5);
    expect(cost(query, { r: [...reps('Call', 2), ...reps('Agent', 1), ...reps('Contact', 1)] })).toBe(
      5 + 3 * UNBATCHED_READ_COST,
    );
  });

  it('refuses calls for 1000 contacts with COST_LIMIT_EXCEEDED before any telli call', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => unknownId(i));
    const res = await stack.app.fetch('http://layer.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'query ($ids: [ID!]!) { contacts(ids: $ids) { calls { nodes { id transcript } } } }',
        variables: { ids },
      }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0]?.extensions).toMatchObject({
      code: 'COST_LIMIT_EXCEEDED',
      cost: 1000 + 1 + 1000 * UNBATCHED_READ_COST + 1 + 1 + 1,
    });
    expect(stack.sandbox.transport.requests).toBe(0);
  });
});

describe('entities', () => {
  const ENTITIES = `query ($representations: [_Any!]!) {
    _entities(representations: $representations) {
      __typename
      ... on Call { id status agent { title } }
      ... on Agent { id title }
    }
  }`;

  it('resolves Call and Agent representations in order; unknown ids are null', async () => {
    const call = first(callsOf(first(withCalls(1, 100))));
    const agent = stack.sandbox.agents.find((a) => a.id === call.agent_id);
    const res = await stack.raw(ENTITIES, {
      representations: [
        { __typename: 'Call', id: call.call_id },
        { __typename: 'Agent', id: agent?.id },
        { __typename: 'Call', id: unknownId(3) },
        { __typename: 'Agent', id: unknownId(4) },
      ],
    });
    expect(res.errors).toBeUndefined();
    expect(res.data?.['_entities']).toEqual([
      { __typename: 'Call', id: call.call_id, status: expectedCall(call).status, agent: { title: agent?.title } },
      { __typename: 'Agent', id: agent?.id, title: agent?.title },
      null,
      null,
    ]);
    // The agent is read once for the entity and the call's agent field together.
    expect(calls()).toEqual({ [GET_CALL]: 2, [AGENT]: 2 });
  });
});

describe('across requests', () => {
  const keyA = 'tk_calls_tenant_a_0123';
  const keyB = 'tk_calls_tenant_b_4567';
  let clock = 1_000_000;
  let shared: TestStack;
  beforeAll(async () => {
    // Both tenants hold the same contacts, so the same agent ids: only the key tells them apart.
    shared = await createTestStack({
      auth: 'forward',
      sandbox: { apiKeys: [keyA], tenants: { [keyB]: createDemoContacts() }, latencyMs: 80 },
      env: { TELLI_AGENT_CACHE_TTL_MS: '5000' },
      deps: { now: () => clock },
    });
  });
  afterAll(() => shared.close());
  afterEach(() => shared.sandbox.resetStats());
  const as = (key: string, query: string) => shared.raw(query, undefined, { authorization: `Bearer ${key}` });

  it("concurrent requests for the same contact's calls share one list-calls (per key)", async () => {
    const contact = [...shared.sandbox.contacts.values()].find((c) => c.callAttempts > 1) as SandboxContact;
    const query = `{ contact(id: "${contact.id}") { calls(first: 2) { nodes { id } } } }`;
    const responses = await Promise.all(Array.from({ length: 6 }, (_, i) => as(i % 2 ? keyA : keyB, query)));
    for (const res of responses) expect(res.errors).toBeUndefined();
    expect(shared.sandbox.stats.calls[LIST_CALLS]).toBe(2);
    expect(shared.sandbox.stats.callsByKey).toEqual({ [keyA]: 2, [keyB]: 2 }); // a batch and a list each
  });

  it('agents are cached per key for TELLI_AGENT_CACHE_TTL_MS, never across keys', async () => {
    const agent = first(shared.sandbox.agents);
    const query = `{ agent(id: "${agent.id}") { id title } }`;
    expect((await as(keyA, query)).data).toEqual({ agent: { id: agent.id, title: agent.title } });
    clock += 4_000;
    expect((await as(keyA, query)).data).toEqual({ agent: { id: agent.id, title: agent.title } });
    expect(shared.sandbox.stats.callsByKey).toEqual({ [keyA]: 1 });
    // Another key: its own read, although the id is the same.
    expect((await as(keyB, query)).data).toEqual({ agent: { id: agent.id, title: agent.title } });
    expect(shared.sandbox.stats.callsByKey).toEqual({ [keyA]: 1, [keyB]: 1 });
    clock += 1_001;
    await as(keyA, query);
    expect(shared.sandbox.stats.callsByKey).toEqual({ [keyA]: 2, [keyB]: 1 });
  });

  it('an unknown agent is not cached', async () => {
    const query = `{ agent(id: "${unknownId(9)}") { id } }`;
    expect((await as(keyA, query)).data).toEqual({ agent: null });
    expect((await as(keyA, query)).data).toEqual({ agent: null });
    expect(shared.sandbox.stats.calls[AGENT]).toBe(2);
  });
});
