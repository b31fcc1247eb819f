/**
 * Apollo Client 4 as its users set it up: `InMemoryCache` and the default `HttpLink`. Its
 * subscriptions over that `HttpLink` are apollo-multipart.test.ts; its `PersistedQueryLink` (APQ)
 * is apollo-client-apq.test.ts.
 */
import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProcess } from '../support/process.js';
import { SAMPLE_CONTACT_ID, startSandboxLayer } from './support.js';

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

describe('Apollo Client 4 queries (InMemoryCache, HttpLink)', () => {
  let layer: RunningProcess;
  beforeAll(async () => {
    layer = await startSandboxLayer();
  });
  afterAll(async () => {
    await layer?.server.stop();
  });

  it('a query is answered and normalised into the cache by __typename and id', async () => {
    const client = new ApolloClient({ link: new HttpLink({ uri: layer.graphqlUrl }), cache: new InMemoryCache() });
    const { data } = await client.query<ContactData>({ query: CONTACT, variables: { id: SAMPLE_CONTACT_ID } });
    expect(data?.contact.id).toBe(SAMPLE_CONTACT_ID);
    expect(data?.contact.calls.nodes.length).toBeGreaterThan(0);
    const normalised = client.cache.extract() as Record<string, { id?: string; firstName?: string }>;
    expect(normalised[`Contact:${SAMPLE_CONTACT_ID}`]).toMatchObject({
      id: SAMPLE_CONTACT_ID,
      firstName: data?.contact.firstName,
    });
    for (const call of data?.contact.calls.nodes ?? []) expect(normalised[`Call:${call.id}`]).toBeDefined();
  });
});
