/**
 * Relay: relay-compiler 21 with its minimal config compiles `@refetchable` fragments on Contact,
 * Call and Agent and `@connection` pagination over `Contact.calls` and `contactsPage` — against
 * the committed client SDL (`schema/client.graphql`) and against the SDL introspection gives —
 * and relay-runtime runs the generated queries against the built server and reads the right
 * objects. `id` stays telli's id: a fragment refetched by it is the same contact, call or agent.
 */
import { readFile, rm } from 'node:fs/promises';
import { buildClientSchema, getIntrospectionQuery, printSchema, type IntrospectionQuery } from 'graphql';
import type { ConcreteRequest, ReaderFragment } from 'relay-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postGraphQL, ROOT, type RunningProcess } from '../support/process.js';
import { artifact, artifacts, compileRelay, relayEnvironment, runAndRead, type Compiled } from './relay-harness.js';
import { SAMPLE_CONTACT_ID, startSandboxLayer } from './support.js';

let layer: RunningProcess;
/** Why schema/client.graphql could not be read, if it could not. */
let clientSdlMissing: string | undefined;
let fromClientSdl: Compiled;
let fromIntrospection: Compiled;
/** A contact with at least four calls, those calls newest first, one call's agent, and the first contacts. */
let fixture: { contactId: string; callIds: string[]; agentId: string; agentTitle: string | null; contactIds: string[] };

beforeAll(async () => {
  layer = await startSandboxLayer();
  const clientSdl = await readFile(`${ROOT}schema/client.graphql`, 'utf8').catch((error: Error) => {
    clientSdlMissing = error.message;
    return '';
  });
  fromClientSdl = await compileRelay(clientSdl);
  const introspection = await postGraphQL(layer.graphqlUrl, { query: getIntrospectionQuery() });
  fromIntrospection = await compileRelay(
    printSchema(buildClientSchema(introspection.body.data as unknown as IntrospectionQuery)),
  );

  const page = await postGraphQL(layer.graphqlUrl, {
    query: `{ contactsPage(first: 30) { nodes { id calls(first: 4) { nodes { id agent { id title } } } } } }`,
  });
  type Row = { id: string; calls: { nodes: { id: string; agent: { id: string; title: string | null } | null }[] } };
  const rows = (page.body.data?.['contactsPage'] as { nodes: Row[] }).nodes;
  const busy = rows.find((r) => r.calls.nodes.length === 4 && r.calls.nodes.some((c) => c.agent));
  if (!busy) throw new Error('no sandbox contact with four calls and an agent among the first 30');
  const withAgent = busy.calls.nodes.find((c) => c.agent)!;
  fixture = {
    contactId: busy.id,
    callIds: busy.calls.nodes.map((c) => c.id),
    agentId: withAgent.agent!.id,
    agentTitle: withAgent.agent!.title,
    contactIds: rows.slice(0, 6).map((r) => r.id),
  };
});
afterAll(async () => {
  await layer?.server.stop();
  for (const compiled of [fromClientSdl, fromIntrospection]) {
    if (compiled) await rm(compiled.dir, { recursive: true, force: true });
  }
});

describe('relay-compiler 21 (minimal config)', () => {
  it('compiles @refetchable on Contact, Call, Agent and @connection on Contact.calls, contactsPage against schema/client.graphql', () => {
    expect(clientSdlMissing).toBeUndefined();
    expect(fromClientSdl.output).not.toMatch(/error|panic/i);
    expect(fromClientSdl.ok).toBe(true);
  });

  it('compiles the same against the SDL introspection gives, to the same artifacts', async () => {
    expect(fromIntrospection.output).not.toMatch(/error|panic/i);
    expect(fromIntrospection.ok).toBe(true);
    expect(await artifacts(fromIntrospection)).toEqual(await artifacts(fromClientSdl));
  });
});

describe('relay-runtime runs the generated queries against the built server', () => {
  const load = async (queryName: string, fragmentName: string) => {
    expect(clientSdlMissing).toBeUndefined();
    expect(fromClientSdl.ok, fromClientSdl.output).toBe(true);
    return {
      query: await artifact<ConcreteRequest>(fromClientSdl, queryName),
      fragment: await artifact<ReaderFragment>(fromClientSdl, fragmentName),
    };
  };

  it('ContactCardRefetchQuery refetches the contact by its telli id', async () => {
    const { query, fragment } = await load('ContactCardRefetchQuery', 'ContactCard_contact');
    const environment = relayEnvironment(layer.graphqlUrl);
    const data = await runAndRead(environment, query, fragment, { id: SAMPLE_CONTACT_ID });
    const direct = await postGraphQL(layer.graphqlUrl, {
      query: `{ contact(id: "${SAMPLE_CONTACT_ID}") { id firstName lastName } }`,
    });
    expect(data).toEqual(direct.body.data?.['contact']);
  });

  it('CallRowRefetchQuery refetches a call by its telli id', async () => {
    const { query, fragment } = await load('CallRowRefetchQuery', 'CallRow_call');
    const callId = fixture.callIds[0]!;
    const data = await runAndRead(relayEnvironment(layer.graphqlUrl), query, fragment, { id: callId });
    expect(data).toEqual({ id: callId, status: expect.any(String) });
  });

  it('AgentBadgeRefetchQuery refetches an agent by its telli id', async () => {
    const { query, fragment } = await load('AgentBadgeRefetchQuery', 'AgentBadge_agent');
    const data = await runAndRead(relayEnvironment(layer.graphqlUrl), query, fragment, {
      id: fixture.agentId,
    });
    expect(data).toEqual({ id: fixture.agentId, title: fixture.agentTitle });
  });

  it("ContactCallsPaginationQuery: two pages of a contact's calls, merged by the connection handler, newest first", async () => {
    const { query, fragment: reader } = await load('ContactCallsPaginationQuery', 'ContactCalls_contact');
    const environment = relayEnvironment(layer.graphqlUrl);
    type Calls = {
      calls: { edges: { node: { id: string } }[]; pageInfo: { endCursor: string; hasNextPage: boolean } };
    };
    const first = (await runAndRead(environment, query, reader, {
      id: fixture.contactId,
      count: 2,
      cursor: null,
    })) as Calls | null;
    expect(first?.calls.edges.map((e) => e.node.id)).toEqual(fixture.callIds.slice(0, 2));
    expect(first?.calls.pageInfo.hasNextPage).toBe(true);
    const both = (await runAndRead(environment, query, reader, {
      id: fixture.contactId,
      count: 2,
      cursor: first?.calls.pageInfo.endCursor,
    })) as Calls | null;
    expect(both?.calls.edges.map((e) => e.node.id)).toEqual(fixture.callIds);
  });

  it('ContactsListPaginationQuery: two pages of contactsPage, merged by the connection handler', async () => {
    const { query, fragment: reader } = await load('ContactsListPaginationQuery', 'ContactsList_query');
    const environment = relayEnvironment(layer.graphqlUrl);
    type Page = {
      contactsPage: { edges: { node: { id: string } }[]; pageInfo: { endCursor: string; hasNextPage: boolean } };
    };
    const first = (await runAndRead(environment, query, reader, { count: 3, cursor: null })) as Page | null;
    expect(first?.contactsPage.edges.map((e) => e.node.id)).toEqual(fixture.contactIds.slice(0, 3));
    const both = (await runAndRead(environment, query, reader, {
      count: 3,
      cursor: first?.contactsPage.pageInfo.endCursor,
    })) as Page | null;
    expect(both?.contactsPage.edges.map((e) => e.node.id)).toEqual(fixture.contactIds);
  });
});
