import { afterEach, describe, expect, it } from 'vitest';
import type { SandboxCall, SandboxContact } from '../src/sandbox/index.js';
import { operationCost, UNBATCHED_READ_COST } from '../src/schema/core/cost.js';
import { schema } from '../src/schema/index.js';
import { parse } from 'graphql';
import { codesOf, unknownId, useSharedStack, type TestStack } from './support/stack.js';

/**
 * Relay's `Node` interface and `node(id:)` over telli's ids, through the production wiring against
 * the sandbox. telli's ids carry no kind, so the claim worth proving is what each `node` costs:
 * every number below is the sandbox's own count of the calls it answered.
 */
const BATCH = 'POST /v1/get-contacts-batch';
const GET_CALL = 'GET /v1/get-call/{callId}';
const AGENT = 'GET /v2/agents/{id}';

let stack: TestStack;
let contacts: SandboxContact[];
useSharedStack((s, c) => ((stack = s), (contacts = c)));
afterEach(() => stack.sandbox.clearFaults());

/** A sandbox contact with a call that names an agent, that call and its agent's id. */
function sample(): { contact: SandboxContact; call: SandboxCall; agentId: string } {
  for (const contact of contacts) {
    const call = stack.sandbox.calls(contact.id).find((c) => c.agent_id);
    if (call?.agent_id) return { contact, call, agentId: call.agent_id };
  }
  throw new Error('no sandbox call with an agent');
}

/** Relay's generated refetch query for a fragment on `type`: a spread on the concrete type. */
const refetch = (type: string, fields: string) => `
  query Refetch($id: ID!) {
    node(id: $id) { __typename ...F id }
  }
  fragment F on ${type} { ${fields} }
`;

describe('node(id:) as Relay refetches: one telli read per object', () => {
  it('a contact: one batch read, the same answer as contact(id:)', async () => {
    const { contact } = sample();
    const res = await stack.raw(refetch('Contact', 'id firstName status'), { id: contact.id });
    expect(res.errors).toBeUndefined();
    expect(stack.sandbox.stats.calls).toEqual({ [BATCH]: 1 });
    const direct = await stack.raw(`{ contact(id: "${contact.id}") { id firstName status } }`);
    expect(res.data?.['node']).toEqual({ __typename: 'Contact', ...(direct.data?.['contact'] as object) });
  });

  it('a call: one get-call, no contact read', async () => {
    const { call } = sample();
    const res = await stack.raw(refetch('Call', 'id status'), { id: call.call_id });
    expect(res.errors).toBeUndefined();
    expect(res.data?.['node']).toMatchObject({ __typename: 'Call', id: call.call_id });
    expect(stack.sandbox.stats.calls).toEqual({ [GET_CALL]: 1 });
  });

  it('an agent: one agent read, no contact or call read', async () => {
    const { agentId } = sample();
    const res = await stack.raw(refetch('Agent', 'id title'), { id: agentId });
    expect(res.errors).toBeUndefined();
    expect(res.data?.['node']).toMatchObject({ __typename: 'Agent', id: agentId, title: expect.any(String) });
    expect(stack.sandbox.stats.calls).toEqual({ [AGENT]: 1 });
  });

  it('inline fragments on two kinds read those two kinds only, in the order contact, call, agent', async () => {
    const { agentId } = sample();
    const res = await stack.raw(
      `query ($id: ID!) { node(id: $id) { id ... on Agent { title } ... on Call { status } } }`,
      { id: agentId },
    );
    expect(res.data?.['node']).toMatchObject({ id: agentId, title: expect.any(String) });
    expect(stack.sandbox.stats.calls).toEqual({ [GET_CALL]: 1, [AGENT]: 1 });
  });

  it('a skipped fragment does not count: its kind is not read', async () => {
    const { call } = sample();
    const res = await stack.raw(
      `query ($id: ID!, $no: Boolean!) { node(id: $id) { id ... on Contact @skip(if: $no) { firstName } ... on Call { status } } }`,
      { id: call.call_id, no: true },
    );
    expect(res.data?.['node']).toMatchObject({ id: call.call_id, status: expect.any(String) });
    expect(stack.sandbox.stats.calls).toEqual({ [GET_CALL]: 1 });
  });

  it("contacts found by node share the operation's batch read with every other contact", async () => {
    const [a, b] = contacts;
    const res = await stack.raw(
      `query ($a: ID!, $b: ID!) { node(id: $a) { ... on Contact { firstName } } contact(id: $b) { firstName } }`,
      { a: a!.id, b: b!.id },
    );
    expect(res.errors).toBeUndefined();
    expect(stack.sandbox.stats.calls).toEqual({ [BATCH]: 1 });
    expect(stack.sandbox.stats.batchSizes).toEqual([2]);
  });
});

describe('node(id:) when the selection names no kind', () => {
  const plain = `query ($id: ID!) { node(id: $id) { __typename id } }`;

  it('a contact id: answered by the batch read alone', async () => {
    const res = await stack.raw(plain, { id: contacts[0]!.id });
    expect(res.data?.['node']).toEqual({ __typename: 'Contact', id: contacts[0]!.id });
    expect(stack.sandbox.stats.calls).toEqual({ [BATCH]: 1 });
  });

  it('a call id: contact first, then call', async () => {
    const { call } = sample();
    const res = await stack.raw(plain, { id: call.call_id });
    expect(res.data?.['node']).toEqual({ __typename: 'Call', id: call.call_id });
    expect(stack.sandbox.stats.calls).toEqual({ [BATCH]: 1, [GET_CALL]: 1 });
  });

  it('an agent id: contact, call, then agent', async () => {
    const { agentId } = sample();
    const res = await stack.raw(plain, { id: agentId });
    expect(res.data?.['node']).toEqual({ __typename: 'Agent', id: agentId });
    expect(stack.sandbox.stats.calls).toEqual({ [BATCH]: 1, [GET_CALL]: 1, [AGENT]: 1 });
  });

  it('an id that is not a UUID is no contact: telli is not asked for one', async () => {
    const res = await stack.raw(plain, { id: 'call-not-a-uuid' });
    expect(res).toEqual({ data: { node: null } });
    expect(stack.sandbox.stats.calls).toEqual({ [GET_CALL]: 1, [AGENT]: 1 });
  });

  it('an id telli does not know: null, no error', async () => {
    expect(await stack.raw(plain, { id: unknownId(41) })).toEqual({ data: { node: null } });
  });
});

describe('node(id:) failures', () => {
  it('an id no kind can have is BAD_USER_INPUT, before any telli call', async () => {
    const res = await stack.raw(`{ node(id: "${'x'.repeat(129)}") { id } }`);
    expect(codesOf(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.data).toEqual({ node: null });
    expect(stack.sandbox.stats.calls).toEqual({});
  });

  it('telli failing on one kind is an error, not "try the next kind"', async () => {
    const { agentId } = sample();
    stack.sandbox.injectFault({
      fault: { kind: 'status', status: 500 },
      match: ({ url }) => url.startsWith('/v1/get-call'),
    });
    const res = await stack.raw(`query ($id: ID!) { node(id: $id) { id } }`, { id: agentId });
    expect(codesOf(res)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(stack.sandbox.stats.calls[AGENT]).toBeUndefined();
  });
});

describe('node(id:) in the cost model', () => {
  it('weighs what contact(id:) weighs, plus an unbatched call read and an agent read', () => {
    const cost = (query: string) => operationCost(schema, parse(query), undefined, {});
    expect(cost('{ node(id: "x") { id } }') - cost('{ contact(id: "x") { id } }')).toBeGreaterThanOrEqual(
      2 * UNBATCHED_READ_COST,
    );
  });
});
