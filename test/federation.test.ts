import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { composeServices as apolloCompose } from '@apollo/composition';
import { composeServices, compositionHasErrors } from '@theguild/federation-composition';
import { isSpecifiedScalarType, parse, type GraphQLObjectType } from 'graphql';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { schema, sortSdl } from '../src/schema/index.js';
import type { SandboxContact } from '../src/sandbox/index.js';
import { createDeals, createDealsSubgraph, DEALS_SDL, MALFORMED_CONTACT_ID } from './federation/deals-subgraph.js';
import { createGateway } from './federation/gateway.js';
import { listen } from './support/net.js';
import { ROOT } from './support/process.js';
import { signedWebhook, subscribe, testSecret } from './support/sse.js';
import {
  codesOf,
  createTestStack,
  unknownId,
  useSharedStack,
  type GraphQLResponse,
  type TestStack,
} from './support/stack.js';

const BATCH = 'POST /v1/get-contacts-batch';
const ENTITIES = /* GraphQL */ `
  query ($representations: [_Any!]!) {
    _entities(representations: $representations) {
      __typename
      ... on Contact {
        id
        firstName
        status
        contactDetails
      }
    }
  }
`;

let stack: TestStack;
let contacts: SandboxContact[];
useSharedStack((s, c) => ((stack = s), (contacts = c)));

const rep = (id: string) => ({ __typename: 'Contact', id });
type Entity = { __typename: string; id: string; firstName: string | null; status: string } | null;
const entitiesOf = (res: GraphQLResponse) => (res.data?.['_entities'] ?? []) as Entity[];

// Ported from the direct-to-subgraph checks of Apollo's subgraph compatibility suite
// (`_service`, `@link`, `@key`, `_entities`, introspection) that apply to a subgraph with one entity.
describe('subgraph compatibility', () => {
  it('_service { sdl } is the subgraph SDL with @link and @key, and is what schema/schema.graphql holds', async () => {
    const res = await stack.raw('{ _service { sdl } }');
    const sdl = (res.data?.['_service'] as { sdl: string }).sdl;
    expect(sdl).toMatch(
      /extend schema\s+@link\(url: "https:\/\/specs\.apollo\.dev\/federation\/v2\.\d+", import: \[[^\]]*"@key"/,
    );
    for (const entity of ['Contact', 'Call', 'Agent'])
      expect(sdl).toMatch(new RegExp(`type ${entity}\\s+implements Node\\s+@key\\(fields: "id"\\)`));
    // Relay's Node is published; `node` is not (a supergraph has one, see docs/federation.md),
    // although this layer's own clients have it (introspection, below).
    expect(sdl).toMatch(/interface Node\s*\{/);
    expect(sdl).not.toMatch(/^\s+node\(/m);
    const committed = await readFile(new URL('../schema/schema.graphql', import.meta.url), 'utf8');
    expect(sortSdl(sdl)).toBe(committed);
  });

  it('introspection exposes _entities, _service, the _Entity union and the _Any scalar', async () => {
    const res = await stack.raw(`{
      __schema { queryType { fields { name } } }
      entity: __type(name: "_Entity") { kind possibleTypes { name } }
      any: __type(name: "_Any") { kind }
      service: __type(name: "_Service") { fields { name } }
    }`);
    expect(res.errors).toBeUndefined();
    const data = res.data as {
      __schema: { queryType: { fields: { name: string }[] } };
      entity: { kind: string; possibleTypes: { name: string }[] };
      any: { kind: string };
      service: { fields: { name: string }[] };
    };
    expect(data.__schema.queryType.fields.map((f) => f.name)).toEqual(
      expect.arrayContaining(['_entities', '_service', 'contact', 'contacts', 'contactByExternalId', 'node']),
    );
    expect(data.entity.kind).toBe('UNION');
    expect(data.entity.possibleTypes.map((t) => t.name).sort()).toEqual(['Agent', 'Call', 'Contact']);
    expect(data.any.kind).toBe('SCALAR');
    expect(data.service.fields.map((f) => f.name)).toContain('sdl');
  });

  it('resolves @key representations in order, with __typename, through one telli call', async () => {
    const picked = [contacts[5], contacts[1], contacts[9]] as SandboxContact[];
    const res = await stack.raw(ENTITIES, { representations: picked.map((c) => rep(c.id)) });
    expect(res.errors).toBeUndefined();
    expect(entitiesOf(res).map((e) => [e?.__typename, e?.id, e?.firstName])).toEqual(
      picked.map((c) => ['Contact', c.id, c.firstName]),
    );
    expect(stack.sandbox.stats.calls).toEqual({ [BATCH]: 1 });
  });
});

describe('_entities through the per-request loader', () => {
  it('N representations with duplicates and unknown ids: one call, order kept, null only for the unknown', async () => {
    const ids = [...contacts.slice(0, 120).map((c) => c.id), unknownId(1), (contacts[3] as SandboxContact).id];
    const res = await stack.raw(ENTITIES, { representations: ids.map(rep) });
    expect(res.errors).toBeUndefined();
    expect(entitiesOf(res).map((e) => e?.id ?? null)).toEqual([...ids.slice(0, 120), null, ids[121]]);
    expect(stack.sandbox.stats.calls).toEqual({ [BATCH]: 1 });
    expect(stack.sandbox.stats.batchSizes).toEqual([121]); // the duplicate is free
  });

  it('2500 representations make ceil(2500/1000) = 3 calls of at most 1000 ids', async () => {
    const ids = Array.from({ length: 2500 }, (_, i) => unknownId(50_000 + i));
    const res = await stack.raw(ENTITIES, { representations: ids.map(rep) });
    expect(res.errors).toBeUndefined();
    expect(entitiesOf(res)).toHaveLength(2500);
    expect(stack.sandbox.stats.calls).toEqual({ [BATCH]: 3 });
    expect(Math.max(...stack.sandbox.stats.batchSizes)).toBeLessThanOrEqual(1000);
  });

  it('a malformed id fails only its entity with BAD_USER_INPUT', async () => {
    const [a, b] = [contacts[7], contacts[8]] as [SandboxContact, SandboxContact];
    const res = await stack.raw(ENTITIES, { representations: [rep(a.id), rep('nope'), rep(b.id)] });
    expect(codesOf(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.path).toEqual(['_entities', 1]);
    expect(entitiesOf(res).map((e) => e?.id ?? null)).toEqual([a.id, null, b.id]);
  });

  it('batches entities together with ids from ordinary fields of the same operation', async () => {
    const [a, b] = [contacts[20], contacts[21]] as [SandboxContact, SandboxContact];
    const res = await stack.raw(
      `query ($representations: [_Any!]!) {
        _entities(representations: $representations) { ... on Contact { id } }
        contact(id: "${b.id}") { id }
      }`,
      { representations: [rep(a.id)] },
    );
    expect(res.errors).toBeUndefined();
    expect(stack.sandbox.stats.batchSizes).toEqual([2]);
  });
});

describe('composition', () => {
  it('schema/schema.graphql composes with a CRM subgraph that references Contact', async () => {
    const result = composeServices([
      {
        name: 'contacts',
        typeDefs: parse(await readFile(new URL('../schema/schema.graphql', import.meta.url), 'utf8')),
      },
      { name: 'deals', typeDefs: parse(DEALS_SDL) },
    ]);
    expect(compositionHasErrors(result) ? result.errors.map((e) => e.message) : []).toEqual([]);
    if (compositionHasErrors(result)) return;
    for (const entity of ['Contact', 'Call', 'Agent']) {
      expect(result.supergraphSdl).toMatch(
        new RegExp(`type ${entity}\\s+implements Node\\s+@join__type\\(graph: CONTACTS, key: "id"\\)`),
      );
    }
    expect(result.publicSdl).toMatch(/type Deal implements Node \{[^}]*contact: Contact/s);
  });
  /*
   * Names are what composition merges on. A name another team's subgraph is likely to define with
   * other fields or values fails composition (INVALID_FIELD_SHARING for objects, enum value
   * mismatches, satisfiability), so every name this subgraph defines is its own: prefixed `Telli`,
   * or in the family of one of its entities (`Contact…`, `Call…`, `Agent…`, the contact and dialer
   * mutations' inputs and payloads) — whoever shares those entities shares their families. The
   * exceptions are meant to be shared: graphql-scalars' scalar names (a scalar merges on its name,
   * with no fields to disagree on) and Relay's `Node` interface.
   */
  const SHARED_NAMES = [
    'DateTime',
    'EmailAddress',
    'JSON',
    'JSONObject',
    'LocalDate',
    'PhoneNumber',
    'TimeZone',
    'URL',
    'Node',
  ];
  const OWN_TYPE =
    /^(Telli|Contact|Call|Agent)|^(Create|Update|Delete)Contacts?(Input|Payload|Result)$|^(ScheduleCalls?|RemoveFromDialer)(Input|Payload|Result)$/;
  const OWN_ROOT_FIELD =
    /^(telli|contact|call|agent)|^(create|update|delete)Contacts?$|^(scheduleCalls?|removeFromDialer)$/;

  it('defines no generic name: each type and root field is namespaced by telli or by one of its entities', () => {
    const generic: string[] = [];
    for (const [name, type] of Object.entries(schema.getTypeMap())) {
      if (name.startsWith('_') || /^(link|federation)__/.test(name) || isSpecifiedScalarType(type)) continue;
      if (['Query', 'Mutation', 'Subscription'].includes(name)) {
        for (const field of Object.keys((type as GraphQLObjectType).getFields())) {
          if (!field.startsWith('_') && !OWN_ROOT_FIELD.test(field) && field !== 'node')
            generic.push(`${name}.${field}`);
        }
      } else if (!OWN_TYPE.test(name) && !SHARED_NAMES.includes(name)) {
        generic.push(name);
      }
    }
    expect(generic).toEqual([]);
  });

  /** A subgraph that defines the generic names this layer avoids, each its own way. */
  const MEETINGS_SDL = /* GraphQL */ `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key"])

    "Meeting notes."
    type Query {
      "A meeting's transcript."
      transcript(meetingId: ID!, after: DateTime): [TranscriptMessage!]!
      "Relay's refetch entry point: a meeting by id."
      node(id: ID!): Node
      "Which build answers."
      service: ServiceInfo!
    }

    "An object with a global id (Relay)."
    interface Node {
      "Globally unique id."
      id: ID!
    }

    "A meeting."
    type Meeting implements Node @key(fields: "id") {
      "Globally unique id."
      id: ID!
    }

    "Build information."
    type ServiceInfo {
      "Service name."
      name: String!
    }

    "The meetings' writes."
    type Mutation {
      "Flags a transcript message."
      flagMessage(id: ID!, reason: UserErrorCode): FlagMessagePayload!
    }

    "One utterance in a meeting."
    type TranscriptMessage {
      "Who spoke."
      speaker: String!
      "What was said."
      text: String!
      "When."
      at: DateTime!
      "Extra data."
      meta: JSON
      "A link to the recording at this point."
      link: URL
    }

    "The result of flagMessage."
    type FlagMessagePayload {
      "What went wrong."
      userErrors: [UserError!]!
    }

    "A problem with the input."
    type UserError {
      "Path to the input."
      field: [String!]
      "What is wrong."
      message: String!
      "Why."
      code: UserErrorCode!
    }

    "Reasons, used as input and output."
    enum UserErrorCode {
      "Too long."
      TOO_LONG
      "Offensive."
      OFFENSIVE
    }

    "ISO date-time."
    scalar DateTime
    "Any JSON."
    scalar JSON
    "A URL."
    scalar URL
  `;

  it('composes beside subgraphs that define those generic names (Hive and Apollo composition)', async () => {
    const subgraphs = [
      {
        name: 'contacts',
        typeDefs: parse(await readFile(new URL('../schema/schema.graphql', import.meta.url), 'utf8')),
        url: 'http://contacts.test/graphql',
      },
      { name: 'deals', typeDefs: parse(DEALS_SDL), url: 'http://deals.test/graphql' },
      { name: 'meetings', typeDefs: parse(MEETINGS_SDL), url: 'http://meetings.test/graphql' },
    ];
    const guild = composeServices(subgraphs);
    expect(compositionHasErrors(guild) ? guild.errors.map((e) => e.message) : []).toEqual([]);
    const apollo = apolloCompose(subgraphs);
    expect(apollo.errors?.map((e) => e.message) ?? []).toEqual([]);
  });
});

describe('through Hive Gateway', () => {
  let contactsServer: Server;
  let dealsServer: Server;
  let gatewayServer: Server;
  let gatewayUrl: string;
  let contactsUrl: string;
  const subgraphCalls: { url: string; query: string; representations: number }[] = [];

  beforeAll(async () => {
    const contactsListening = await listen(stack.app.listener);
    const dealsListening = await listen(createDealsSubgraph());
    contactsServer = contactsListening.server;
    dealsServer = dealsListening.server;
    contactsUrl = contactsListening.url;
    const gateway = await createGateway({ contacts: contactsListening.url, deals: dealsListening.url }, [
      {
        // Observe every request the gateway sends to a subgraph.
        onFetch({ url, options }) {
          const body = JSON.parse(String(options.body ?? '{}')) as {
            query?: string;
            variables?: { representations?: unknown[] };
          };
          subgraphCalls.push({
            url,
            query: body.query ?? '',
            representations: body.variables?.representations?.length ?? 0,
          });
        },
      },
    ]);
    const gatewayListening = await listen(gateway);
    gatewayServer = gatewayListening.server;
    gatewayUrl = gatewayListening.url;
  });
  afterAll(async () => {
    for (const server of [gatewayServer, contactsServer, dealsServer]) {
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
    }
  });
  beforeEach(() => {
    subgraphCalls.length = 0;
  });

  async function viaGateway(query: string): Promise<GraphQLResponse> {
    const res = await fetch(gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as GraphQLResponse;
  }

  it('50 deals with their contacts: one _entities request to this layer, one telli call', async () => {
    const { deals } = createDeals();
    const res = await viaGateway('{ deals { id contact { firstName status contactDetails } } }');
    expect(res.errors).toBeUndefined();
    const got = res.data?.['deals'] as {
      id: string;
      contact: { firstName: string; status: string; contactDetails: unknown };
    }[];
    expect(got).toHaveLength(50);
    const byId = new Map(contacts.map((c) => [c.id, c]));
    got.forEach((deal, i) => {
      const expected = byId.get((deals[i] as { contactId: string }).contactId) as SandboxContact;
      expect(deal.contact.firstName).toBe(expected.firstName);
      expect(deal.contact.contactDetails).toEqual(expected.contactDetails);
    });
    const toContacts = subgraphCalls.filter((c) => c.url === contactsUrl);
    expect(toContacts).toHaveLength(1);
    expect(toContacts[0]?.query).toContain('_entities');
    expect(stack.sandbox.stats.calls).toEqual({ [BATCH]: 1 });
    expect(stack.sandbox.stats.batchSizes).toEqual([49]); // deal 50 repeats contact 0
  });

  it("deals with their contacts' latest call: one _entities request, one list-calls per distinct contact", async () => {
    const { deals } = createDeals();
    const res = await viaGateway('{ deals { id contact { calls(first: 1) { nodes { status agent { title } } } } } }');
    expect(res.errors).toBeUndefined();
    const got = res.data?.['deals'] as { contact: { calls: { nodes: { status: string }[] } } }[];
    const byId = new Map(contacts.map((c) => [c.id, c]));
    got.forEach((deal, i) => {
      const contact = byId.get((deals[i] as { contactId: string }).contactId) as SandboxContact;
      expect(deal.contact.calls.nodes).toHaveLength(Math.min(1, stack.sandbox.calls(contact.id).length));
    });
    expect(subgraphCalls.filter((c) => c.url === contactsUrl)).toHaveLength(1);
    const { calls } = stack.sandbox.stats;
    expect(calls[BATCH]).toBe(1);
    expect(calls['GET /v1/list-calls']).toBe(49); // deal 50 repeats contact 0
    expect(calls['GET /v2/agents/{id}']).toBeLessThanOrEqual(stack.sandbox.agents.length);
  });

  it('an unknown contact nulls only its deal.contact; a malformed one keeps its BAD_USER_INPUT code', async () => {
    const res = await viaGateway(`{
      ok: deal(id: "deal-1") { id contact { firstName status } }
      unknown: deal(id: "deal-unknown-contact") { id contact { firstName status } }
      malformed: deal(id: "deal-malformed-contact") { id contact { firstName status } }
    }`);
    expect(res.data?.['ok']).toEqual({
      id: 'deal-1',
      contact: { firstName: contacts[0]?.firstName, status: expect.any(String) },
    });
    expect(res.data?.['unknown']).toEqual({ id: 'deal-unknown-contact', contact: null });
    expect(res.data?.['malformed']).toEqual({ id: 'deal-malformed-contact', contact: null });
    const badInput = res.errors?.find((e) => e.extensions?.['code'] === 'BAD_USER_INPUT');
    expect(badInput?.message).toContain(MALFORMED_CONTACT_ID);
    expect(badInput?.path?.slice(0, 2)).toEqual(['malformed', 'contact']);
    expect(subgraphCalls.filter((c) => c.url === contactsUrl)).toHaveLength(1);
    expect(stack.sandbox.stats.calls).toEqual({ [BATCH]: 1 });
  });
});

describe('a subscription through Hive Gateway', () => {
  it('reaches the gateway client over SSE when a webhook arrives at this layer', async () => {
    const secret = testSecret();
    const live = await createTestStack({ env: { TELLI_WEBHOOK_SECRET: secret } });
    const servers: Server[] = [];
    try {
      const contact = [...live.sandbox.contacts.values()][3] as SandboxContact;
      const contactsListening = await listen(live.app.listener);
      const dealsListening = await listen(createDealsSubgraph());
      const gatewayListening = await listen(
        await createGateway({ contacts: contactsListening.url, deals: dealsListening.url }),
      );
      servers.push(contactsListening.server, dealsListening.server, gatewayListening.server);
      const sub = await subscribe(
        fetch,
        gatewayListening.url,
        `subscription ($ids: [ID!]) { contactStatusChanged(contactIds: $ids) { contact { id firstName status } webhookStatus } }`,
        { ids: [contact.id] },
      );
      expect(sub.status).toBe(200);
      // The gateway subscribes to this layer once the client has: wait until it has.
      await expect.poll(() => live.layer.live.openSubscriptions()).toBe(1);
      const webhook = signedWebhook(secret, { event: 'contact_status_changed', contact_id: contact.id, status: 'new' });
      const delivered = await live.app.fetch('http://layer.test/webhooks/telli', {
        method: 'POST',
        headers: webhook.headers,
        body: webhook.body,
      });
      expect(delivered.status).toBe(200);
      const frame = await sub.next();
      expect(frame).toEqual({
        data: {
          contactStatusChanged: {
            contact: { id: contact.id, firstName: contact.firstName, status: expect.any(String) },
            webhookStatus: 'new',
          },
        },
      });
      await sub.close();
    } finally {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
      await live.close();
    }
  });
});

describe('npm run federation:gateway, as the worked example runs it', () => {
  let group: number | undefined;
  // Whatever happened in the test (a timeout included), nothing of the group outlives it.
  afterEach(() => {
    if (group === undefined) return;
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // already gone
    }
    group = undefined;
  });

  it('stops on one Ctrl+C', { timeout: 60_000 }, async () => {
    // Detached: a group of its own, which the test signals as a terminal's Ctrl+C does (npm, tsx
    // and node alike get SIGINT).
    const npm = spawn('npm', ['run', 'federation:gateway'], {
      cwd: ROOT,
      detached: true,
      env: { PATH: process.env['PATH'] ?? '', GATEWAY_PORT: '0' },
    });
    group = npm.pid;
    let out = '';
    npm.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const exited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
    const urlOf = () => /Hive Gateway over contacts \+ deals: (http:\S+)/.exec(out)?.[1];
    await expect.poll(urlOf, { timeout: 30_000, interval: 100 }).toBeTruthy();
    const url = urlOf() as string;
    const typename = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query":"{ __typename }"}',
    });
    expect(typename.status).toBe(200);
    process.kill(-(npm.pid as number), 'SIGINT');
    const stopped = await Promise.race([
      exited.then(() => 'stopped'),
      new Promise((resolve) => setTimeout(resolve, 10_000, 'still running')),
    ]);
    expect(stopped).toBe('stopped');
    await expect
      .poll(
        () =>
          fetch(url).then(
            () => 'answering',
            () => 'gone',
          ),
        { timeout: 5_000 },
      )
      .toBe('gone');
  });
});
