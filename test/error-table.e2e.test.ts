import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/error-codes.js';
import { SAMPLE_CONTACT_ID, startSandbox, type RunningSandbox } from '../src/sandbox/index.js';
import { postGraphQL, ROOT, startLayerProcess, type GraphQLBody, type RunningProcess } from './support/process.js';
import { freePort, upgradeAnswer } from './support/net.js';
import { signedWebhook, subscribe, testSecret } from './support/sse.js';

/**
 * docs/errors.md is the error table users read: every code of `src/error-codes.ts` has a row, and
 * every row is produced here, against the built server, with the HTTP status the row documents.
 */
interface Row {
  code: string;
  status: number;
}

async function documentedRows(): Promise<Row[]> {
  const page = await readFile(`${ROOT}docs/errors.md`, 'utf8');
  return [...page.matchAll(/^\| `([A-Z_]+)`\s*\| (\d{3})\s*\|/gm)].map((m) => ({
    code: m[1] as string,
    status: Number(m[2]),
  }));
}

interface Answer {
  status: number;
  body: GraphQLBody;
}

const key = 'tk_live_error_table_0123456789abcdef';
const webhookSecret = testSecret();
const token = 'gateway-token-error-table-0123456789';
let telli: RunningSandbox;
let sandboxMode: RunningProcess;
let telliMode: RunningProcess;
let persisted: RunningProcess;
/** Sandbox mode with a telli budget of one call per second and a one-second deadline. */
let budgeted: RunningProcess;
let apq: RunningProcess;

beforeAll(async () => {
  telli = await startSandbox({ apiKeys: [key] });
  // A Redis nobody listens on: the event bus is down from the start.
  const noRedis = await freePort();
  [sandboxMode, telliMode, persisted, budgeted, apq] = await Promise.all([
    startLayerProcess({ SUBSCRIPTIONS_MAX_PER_CALLER: '1' }),
    startLayerProcess({
      TELLI_WEBHOOK_SECRET: webhookSecret,
      REDIS_URL: `redis://127.0.0.1:${noRedis}`,
      TELLI_API_KEY: key,
      TELLI_BASE_URL: telli.url,
      TELLI_TIMEOUT_MS: '300',
      TELLI_RETRY_BASE_MS: '10',
      TELLI_RETRY_MAX_MS: '20',
      CALLER_TOKENS: token,
      MAX_OPERATIONS_IN_FLIGHT: '1',
    }),
    startLayerProcess({ PERSISTED_OPERATIONS: 'only', PERSISTED_DOCUMENTS_PATH: 'schema/persisted-documents.json' }),
    startLayerProcess({ TELLI_RATE_LIMIT_PER_SECOND: '1', REQUEST_DEADLINE_MS: '1000' }),
    startLayerProcess({ PERSISTED_OPERATIONS: 'allow' }),
  ]);
});
afterAll(async () => {
  await Promise.all([sandboxMode, telliMode, persisted, budgeted, apq].map((p) => p?.server.stop()));
  await telli?.close();
});

const raw = async (url: string, init: RequestInit = {}): Promise<Answer> => {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as GraphQLBody) : {} };
};
const sandboxQuery = (body: unknown, headers?: Record<string, string>) =>
  postGraphQL(sandboxMode.graphqlUrl, body, headers);
/** A query to the telli-mode server, as the gateway holding the caller token. */
const telliQuery = (body: unknown) => postGraphQL(telliMode.graphqlUrl, body, { 'x-caller-token': token });
const oneContact = { query: `{ contact(id: "${SAMPLE_CONTACT_ID}") { id firstName } }` };
/** Runs `produce` with `fault` injected into telli for as long as it runs. */
async function withFault<T>(fault: Parameters<RunningSandbox['injectFault']>[0], produce: () => Promise<T>) {
  telli.injectFault(fault);
  try {
    return await produce();
  } finally {
    telli.clearFaults();
  }
}

const PRODUCERS: Record<ErrorCode, () => Promise<Answer>> = {
  BAD_USER_INPUT: () => sandboxQuery({ query: '{ contact(id: "not-a-uuid") { id } }' }),
  UNAUTHENTICATED: () => postGraphQL(telliMode.graphqlUrl, oneContact),
  TELLI_SERVER_KEY_REJECTED: () => withFault({ fault: { kind: 'status', status: 401 } }, () => telliQuery(oneContact)),
  RATE_LIMITED: () =>
    withFault({ fault: { kind: 'status', status: 429, headers: { 'retry-after': '120' } } }, () =>
      telliQuery(oneContact),
    ),
  TELLI_BUDGET_EXHAUSTED: async () => {
    // The first call takes this second's slot; the next one is 1.25 s away, past the deadline.
    await postGraphQL(budgeted.graphqlUrl, oneContact);
    return postGraphQL(budgeted.graphqlUrl, {
      query: '{ contactByExternalId(externalId: "crm/acme deals 42") { id } }',
    });
  },
  UPSTREAM_TIMEOUT: () => withFault({ fault: { kind: 'hang' } }, () => telliQuery(oneContact)),
  UPSTREAM_UNAVAILABLE: () => withFault({ fault: { kind: 'status', status: 503 } }, () => telliQuery(oneContact)),
  UPSTREAM_INVALID_RESPONSE: () => withFault({ fault: { kind: 'malformed' } }, () => telliQuery(oneContact)),
  UPSTREAM_ITEM_ERROR: async () => {
    telli.setItemError(SAMPLE_CONTACT_ID, 'Internal error while loading contact');
    try {
      return await telliQuery(oneContact);
    } finally {
      telli.setItemError(SAMPLE_CONTACT_ID, undefined);
    }
  },
  UPSTREAM_OUTCOME_UNKNOWN: () =>
    withFault({ fault: { kind: 'status', status: 503 }, match: (r) => r.url === '/v2/contacts' }, () =>
      telliQuery({
        query:
          'mutation { createContact(input: { firstName: "Grace", lastName: "Hopper", phoneNumber: "+4915112345678" }) { contact { id } userErrors { code } } }',
      }),
    ),
  GRAPHQL_PARSE_FAILED: () => sandboxQuery({ query: '{' }),
  GRAPHQL_VALIDATION_FAILED: () => sandboxQuery({ query: '{ nope }' }),
  OPERATION_RESOLUTION_FAILURE: () => sandboxQuery({ query: 'query A { __typename }', operationName: 'B' }),
  QUERY_TOO_COMPLEX: () =>
    sandboxQuery({ query: `{ ${Array.from({ length: 101 }, (_, i) => `a${i}: telliService { name }`).join(' ')} }` }),
  COST_LIMIT_EXCEEDED: () =>
    sandboxQuery({
      query:
        'query ($ids: [ID!]!) { a: contacts(ids: $ids) { id } b: contacts(ids: $ids) { id } c: contacts(ids: $ids) { id } }',
      variables: { ids: Array.from({ length: 1000 }, () => SAMPLE_CONTACT_ID) },
    }),
  PAYLOAD_TOO_LARGE: () =>
    sandboxQuery(JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(1024 * 1024) } })),
  OVERLOADED: async () => {
    // MAX_OPERATIONS_IN_FLIGHT is 1 on this server: a request waiting on telli holds the one slot.
    return withFault({ fault: { kind: 'hang' } }, async () => {
      const holding = telliQuery(oneContact);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const refused = await telliQuery(oneContact);
      await holding;
      return refused;
    });
  },
  BAD_REQUEST: () => sandboxQuery('{"query":'),
  // A "simple" POST, the kind a cross-site form can send: text/plain, no CSRF header.
  CSRF_HEADER_REQUIRED: () =>
    raw(sandboxMode.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', accept: 'application/graphql-response+json' },
      body: '{"query":"{ __typename }"}',
    }),
  // A WebSocket opened by a page of another site (CORS_ORIGINS unset): refused before the handshake.
  ORIGIN_NOT_ALLOWED: async () => {
    const answer = await upgradeAnswer(sandboxMode.graphqlUrl, { origin: 'https://elsewhere.example' });
    return { status: answer.status, body: JSON.parse(answer.body) as GraphQLBody };
  },
  METHOD_NOT_ALLOWED: () =>
    raw(sandboxMode.graphqlUrl, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"query":"{ __typename }"}',
    }),
  NOT_ACCEPTABLE: () => sandboxQuery({ query: '{ __typename }' }, { accept: 'text/csv' }),
  UNSUPPORTED_MEDIA_TYPE: () =>
    raw(sandboxMode.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<q/>' }),
  NOT_FOUND: () => raw(`${sandboxMode.url}/nope`),
  PERSISTED_QUERY_NOT_FOUND: () => postGraphQL(persisted.graphqlUrl, { documentId: `sha256:${'0'.repeat(64)}` }),
  PERSISTED_QUERY_ONLY: () => postGraphQL(persisted.graphqlUrl, { query: '{ __typename }' }),
  PERSISTED_QUERY_INVALID_ID: () => postGraphQL(persisted.graphqlUrl, { documentId: 'not-a-hash' }),
  PERSISTED_QUERY_NOT_SUPPORTED: () =>
    sandboxQuery({ extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } } }),
  PERSISTED_QUERY_MISMATCH: () =>
    postGraphQL(apq.graphqlUrl, {
      query: '{ __typename }',
      extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } },
    }),
  INTERNAL_SERVER_ERROR: () => withFault({ fault: { kind: 'status', status: 400 } }, () => telliQuery(oneContact)),
  TOO_MANY_SUBSCRIPTIONS: async () => {
    // SUBSCRIPTIONS_MAX_PER_CALLER is 1 on this server: one open subscription, then another.
    const query = 'subscription { callEnded { occurredAt } }';
    const open = await subscribe(fetch, sandboxMode.graphqlUrl, query);
    try {
      return await sandboxQuery({ query });
    } finally {
      await open.close();
    }
  },
  WEBHOOK_SIGNATURE_INVALID: () =>
    raw(`${sandboxMode.url}/webhooks/telli`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    }),
  EVENT_BUS_UNAVAILABLE: () => {
    const webhook = signedWebhook(webhookSecret, { event: 'contact_status_changed', contact_id: SAMPLE_CONTACT_ID });
    return raw(`${telliMode.url}/webhooks/telli`, { method: 'POST', headers: webhook.headers, body: webhook.body });
  },
};

describe('docs/errors.md', () => {
  it('has a row for every code the layer answers with, and no other', async () => {
    const rows = await documentedRows();
    expect(rows.map((r) => r.code).sort()).toEqual(Object.values(ErrorCode).sort());
  });

  it('is true: each code is produced with the status its row documents', async () => {
    const found: Row[] = [];
    const rows = await documentedRows();
    for (const row of rows) {
      const answer = await PRODUCERS[row.code as ErrorCode]();
      const codes = (answer.body.errors ?? []).map((e) => e.extensions?.['code']);
      found.push({
        code: codes.includes(row.code) ? row.code : `${row.code} missing in ${JSON.stringify(codes)}`,
        status: answer.status,
      });
    }
    expect(found).toEqual(rows);
  });
});
