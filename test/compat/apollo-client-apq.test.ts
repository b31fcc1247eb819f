/**
 * Apollo Client 4 with `PersistedQueryLink` (APQ) in front of its default `HttpLink`, as its users
 * set it up, against the built server. The only thing not default is a `fetch` that records what
 * crossed the wire, so that the tests can say which requests the link sent.
 */
import { createHash } from 'node:crypto';
import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProcess } from '../support/process.js';
import { recordingFetch, SAMPLE_CONTACT_ID, startSandboxLayer } from './support.js';

const CONTACT = gql`
  query ContactWithCalls($id: ID!) {
    contact(id: $id) {
      id
      firstName
      calls(first: 2) {
        nodes {
          id
          status
        }
      }
    }
  }
`;

interface ContactData {
  contact: { __typename: 'Contact'; id: string; firstName: string; calls: { nodes: { id: string }[] } };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('Apollo Client 4 with PersistedQueryLink (APQ)', () => {
  let off: RunningProcess;
  let allow: RunningProcess;
  beforeAll(async () => {
    [off, allow] = await Promise.all([
      startSandboxLayer(),
      startSandboxLayer({ PERSISTED_OPERATIONS: 'allow', PERSISTED_DOCUMENTS_PATH: 'schema/persisted-documents.json' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([off?.server.stop(), allow?.server.stop()]);
  });

  function apqClient(uri: string) {
    const recorder = recordingFetch();
    const client = new ApolloClient({
      link: new PersistedQueryLink({ sha256 }).concat(new HttpLink({ uri, fetch: recorder.fetch })),
      cache: new InMemoryCache(),
    });
    return { client, exchanges: recorder.exchanges };
  }
  const sent = (body: string | undefined) => {
    const parsed = JSON.parse(body ?? '{}') as { query?: string; extensions?: { persistedQuery?: unknown } };
    return { query: parsed.query !== undefined, hash: parsed.extensions?.persistedQuery !== undefined };
  };

  it('default config (PERSISTED_OPERATIONS=off): the hash-only request is answered PersistedQueryNotSupported, the link falls back and the query is answered', async () => {
    const { client, exchanges } = apqClient(off.graphqlUrl);
    const { data } = await client.query<ContactData>({ query: CONTACT, variables: { id: SAMPLE_CONTACT_ID } });
    expect(data?.contact.id).toBe(SAMPLE_CONTACT_ID);
    expect(exchanges.map((e) => sent(e.body))).toEqual([
      { query: false, hash: true },
      { query: true, hash: false }, // the link stops sending hashes to a server without APQ
    ]);
    const second = await client.query<ContactData>({
      query: CONTACT,
      variables: { id: SAMPLE_CONTACT_ID },
      fetchPolicy: 'network-only',
    });
    expect(second.data?.contact.id).toBe(SAMPLE_CONTACT_ID);
    expect(sent(exchanges[2]?.body)).toEqual({ query: true, hash: false });
  });

  it('the hash-only answer without APQ is the one Apollo Server sends (message, code)', async () => {
    const query = 'query Probe { telliService { name } }';
    const res = await fetch(off.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } }),
    });
    const body = (await res.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
    expect(body.errors?.[0]).toMatchObject({
      message: 'PersistedQueryNotSupported',
      extensions: { code: 'PERSISTED_QUERY_NOT_SUPPORTED' },
    });
  });

  it('PERSISTED_OPERATIONS=allow: the first send registers the query, so the third send is hash-only and answered', async () => {
    const { client, exchanges } = apqClient(allow.graphqlUrl);
    // A document that is not in the trusted-documents manifest: registered by APQ, not the manifest.
    const query = gql`
      query ApqRegistered($id: ID!) {
        contact(id: $id) {
          id
          lastName
        }
      }
    `;
    const first = await client.query<{ contact: { id: string } }>({ query, variables: { id: SAMPLE_CONTACT_ID } });
    expect(first.data?.contact.id).toBe(SAMPLE_CONTACT_ID);
    const again = await client.query<{ contact: { id: string } }>({
      query,
      variables: { id: SAMPLE_CONTACT_ID },
      fetchPolicy: 'network-only',
    });
    expect(again.data?.contact.id).toBe(SAMPLE_CONTACT_ID);
    expect(exchanges.map((e) => [sent(e.body), e.status])).toEqual([
      [{ query: false, hash: true }, expect.any(Number)], // PersistedQueryNotFound
      [{ query: true, hash: true }, 200], // registers
      [{ query: false, hash: true }, 200], // answered from the registered query
    ]);
  });

  it('PERSISTED_OPERATIONS=allow: a hash that is not the sha256 of the sent query registers nothing', async () => {
    const query = 'query Mismatch { telliService { name } }';
    const wrongHash = sha256('query Other { telliService { version } }');
    const post = (body: unknown) =>
      fetch(allow.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
      }).then(async (res) => ({
        status: res.status,
        body: (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] },
      }));
    const mismatch = await post({ query, extensions: { persistedQuery: { version: 1, sha256Hash: wrongHash } } });
    expect(mismatch.body.data).toBeUndefined();
    expect(mismatch.body.errors?.[0]?.extensions?.code).toEqual(expect.any(String));
    const hashOnly = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: wrongHash } } });
    expect(hashOnly.body.errors?.[0]).toMatchObject({
      message: 'PersistedQueryNotFound',
      extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' },
    });
  });
});
