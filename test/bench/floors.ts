/**
 * The floors `npm run bench` measures the layer against (issue 26): servers that answer the bench's
 * queries (A `contact(id)`, G aliases, B `contacts(ids)`, C `_entities`, D `{ __typename }`) with
 * as little as a correct server can do, one process each, started with the layer's node flags so
 * that their CPU per operation compares with the layer's.
 *
 * - `memory`: a minimal graphql-yoga server on the same Contact shape (same field names, enum,
 *   scalars), reading from an in-memory Map filled once from the sandbox at start: Yoga's floor.
 * - `batch`: the same server with one undici call to telli's `POST /v1/get-contacts-batch` per
 *   operation (a per-request DataLoader; `JSON.parse`, no validation): the floor of a layer that
 *   reads telli.
 * - `http`: bare `node:http` answering each query with a canned body (built at start from the same
 *   contacts): the floor of HTTP and JSON on this machine.
 *
 * Env: BENCH_FLOOR (memory | batch | http), BENCH_SANDBOX_URL, BENCH_CONTROL_URL, BENCH_API_KEY,
 * PORT. Prints one JSON line `{ "url": … }` when it listens.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import DataLoader from 'dataloader';
import { GraphQLDateTime, GraphQLJSONObject } from 'graphql-scalars';
import { createSchema, createYoga } from 'graphql-yoga';
import { Pool } from 'undici';

type RawContact = Record<string, unknown> & { contact_id: string };
type BatchItem = { status?: string; contact?: RawContact | null; contactId?: string };

const kind = process.env['BENCH_FLOOR'] ?? 'memory';
const sandboxUrl = process.env['BENCH_SANDBOX_URL'] as string;
const controlUrl = process.env['BENCH_CONTROL_URL'] as string;
const apiKey = process.env['BENCH_API_KEY'] as string;
const port = Number(process.env['PORT'] ?? 0);

const pool = new Pool(new URL(sandboxUrl).origin, { connections: 64, pipelining: 1, keepAliveTimeout: 30_000 });

/** One `get-contacts-batch` call; the contacts by lower-cased id. */
async function batch(ids: readonly string[]): Promise<Map<string, RawContact>> {
  const res = await pool.request({
    method: 'POST',
    path: '/v1/get-contacts-batch',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ contact_ids: ids }),
  });
  const items = JSON.parse(await res.body.text()) as BatchItem[];
  const byId = new Map<string, RawContact>();
  for (const item of items) if (item.contact) byId.set(item.contact.contact_id.toLowerCase(), item.contact);
  return byId;
}

const typeDefs = /* GraphQL */ `
  scalar DateTime
  scalar JSONObject
  scalar _Any
  enum ContactStatus {
    IN_PROGRESS
    NOT_REACHED
    REACHED
  }
  type Contact {
    id: ID!
    firstName: String
    lastName: String
    phoneNumber: String
    status: ContactStatus!
    callAttempts: Int
    nextCallAt: DateTime
    contactDetails: JSONObject!
  }
  union _Entity = Contact
  type Query {
    contact(id: ID!): Contact
    contacts(ids: [ID!]!): [Contact]!
    _entities(representations: [_Any!]!): [_Entity]!
  }
`;

interface FloorContext {
  contact: (id: string) => Promise<RawContact | null>;
}

function createFloorSchema() {
  return createSchema<FloorContext>({
    typeDefs,
    resolvers: {
      DateTime: GraphQLDateTime,
      JSONObject: GraphQLJSONObject,
      ContactStatus: { IN_PROGRESS: 'in_progress', NOT_REACHED: 'not_reached', REACHED: 'reached' },
      _Entity: { __resolveType: () => 'Contact' },
      Contact: {
        id: (c: RawContact) => c.contact_id,
        firstName: (c: RawContact) => c['first_name'] ?? null,
        lastName: (c: RawContact) => c['last_name'] ?? null,
        phoneNumber: (c: RawContact) => c['phone_number'] ?? null,
        status: (c: RawContact) => (c['in_call_since'] ? 'in_progress' : c['reached_at'] ? 'reached' : 'not_reached'),
        callAttempts: (c: RawContact) => c['call_attempts'] ?? null,
        nextCallAt: (c: RawContact) => c['next_call_at'] ?? null,
        contactDetails: (c: RawContact) => c['contact_details'] ?? {},
      },
      Query: {
        contact: (_: unknown, { id }: { id: string }, ctx: FloorContext) => ctx.contact(id),
        contacts: (_: unknown, { ids }: { ids: string[] }, ctx: FloorContext) => ids.map((id) => ctx.contact(id)),
        _entities: (_: unknown, { representations }: { representations: { id: string }[] }, ctx: FloorContext) =>
          representations.map((r) => ctx.contact(r.id)),
      },
    },
  });
}

/** Every contact of the sandbox, read once at start (1000 per call, telli's limit). */
async function loadAll(): Promise<Map<string, RawContact>> {
  const ids = (await (await fetch(`${controlUrl}/ids`)).json()) as string[];
  const all = new Map<string, RawContact>();
  for (let i = 0; i < ids.length; i += 1000) for (const [id, c] of await batch(ids.slice(i, i + 1000))) all.set(id, c);
  return all;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  req.setEncoding('utf8');
  for await (const chunk of req) body += chunk as string;
  return body;
}

let server;
if (kind === 'http') {
  // Canned answers, one per query the bench sends: the same size as the real ones.
  const contacts = [...(await loadAll()).values()];
  const shape = (c: RawContact) => ({
    id: c.contact_id,
    firstName: c['first_name'] ?? null,
    lastName: c['last_name'] ?? null,
    phoneNumber: c['phone_number'] ?? null,
    status: 'NOT_REACHED',
    callAttempts: c['call_attempts'] ?? null,
    nextCallAt: c['next_call_at'] ?? null,
    contactDetails: c['contact_details'] ?? {},
  });
  const list = (n: number) => contacts.slice(0, n).map(shape);
  const canned: Record<string, Buffer> = {
    A: Buffer.from(JSON.stringify({ data: { contact: shape(contacts[0] as RawContact) } })),
    G: Buffer.from(JSON.stringify({ data: Object.fromEntries(list(20).map((c, i) => [`c${i}`, c])) })),
    B: Buffer.from(JSON.stringify({ data: { contacts: list(50) } })),
    C: Buffer.from(JSON.stringify({ data: { _entities: list(100) } })),
    D: Buffer.from(JSON.stringify({ data: { __typename: 'Query' } })),
  };
  server = createServer((req, res) => {
    void readBody(req).then((body) => {
      // `{"query":"query A(…` → A; `{"query":"{ __typename }"}` → D.
      const key = body.startsWith('{"query":"query ') ? body.charAt(16) : 'D';
      const answer = canned[key] ?? (canned['D'] as Buffer);
      res.writeHead(200, { 'content-type': 'application/graphql-response+json; charset=utf-8' }).end(answer);
    });
  });
} else {
  const memory = kind === 'memory' ? await loadAll() : undefined;
  const yoga = createYoga<object, FloorContext>({
    schema: createFloorSchema(),
    logging: false,
    graphiql: false,
    landingPage: false,
    context: () => {
      if (memory) return { contact: (id: string) => Promise.resolve(memory.get(id.toLowerCase()) ?? null) };
      const loader = new DataLoader<string, RawContact | null>(async (ids) => {
        const byId = await batch(ids);
        return ids.map((id) => byId.get(id.toLowerCase()) ?? null);
      });
      return { contact: (id: string) => loader.load(id) };
    },
  });
  server = createServer(yoga);
}

server.keepAliveTimeout = 30_000;
server.listen(port, '127.0.0.1', () => {
  const { port: bound } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${bound}` })}\n`);
});
const stop = () => {
  server.close();
  void pool.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
