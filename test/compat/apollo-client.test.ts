/**
 * Apollo Client 4 as its users set it up: `InMemoryCache` and the default `HttpLink` (which sends
 * subscriptions as Apollo's multipart protocol). Its `PersistedQueryLink` (APQ) is
 * apollo-client-apq.test.ts.
 */
import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProcess } from '../support/process.js';
import {
  openSubscriptions,
  SAMPLE_CONTACT_ID,
  startSandboxLayer,
  startTelliLayer,
  STATUS_CHANGED,
  until,
  type StatusChangedData,
  type TelliLayer,
} from './support.js';

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

describe("Apollo Client 4 subscriptions over the default HttpLink (Apollo's multipart protocol)", () => {
  let telli: TelliLayer;
  beforeAll(async () => {
    telli = await startTelliLayer();
  });
  afterAll(async () => {
    await telli?.close();
  });

  it('receives a status change as it happens, and the server counts the subscription until the client leaves', async () => {
    const contact = telli.contacts[4]!;
    const client = new ApolloClient({
      link: new HttpLink({ uri: telli.layer.graphqlUrl }),
      cache: new InMemoryCache(),
    });
    const results: { data?: unknown; error?: unknown }[] = [];
    const errors: unknown[] = [];
    const subscription = client
      .subscribe<StatusChangedData>({ query: gql(STATUS_CHANGED), variables: { ids: [contact.id] } })
      .subscribe({ next: (result) => results.push(result), error: (error: unknown) => errors.push(error) });
    try {
      await until(
        async () => errors.length > 0 || results.some((r) => r.error) || (await openSubscriptions(telli.layer)) === 1,
        'the subscription to open',
      );
      expect(errors.map(String)).toEqual([]);
      expect(results.filter((r) => r.error).map((r) => String(r.error))).toEqual([]);
      await telli.statusChanged(contact.id, 'new');
      await until(() => results.length > 0 || errors.length > 0, 'the first event');
      expect(errors.map(String)).toEqual([]);
      expect(results[0]?.data).toEqual({
        contactStatusChanged: {
          __typename: 'ContactStatusChange',
          contact: { __typename: 'Contact', id: contact.id, firstName: contact.firstName },
          webhookStatus: 'new',
        },
      });
    } finally {
      subscription.unsubscribe();
    }
    await until(async () => (await openSubscriptions(telli.layer)) === 0, 'the server to close the subscription');
  });
});
