/**
 * Apollo Client 4's subscriptions as its users set them up: `InMemoryCache` and the default
 * `HttpLink`, which sends a subscription with Apollo's multipart protocol
 * (`Accept: multipart/mixed;boundary=graphql;subscriptionSpec=1.0,…`).
 */
import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openSubscriptions,
  startTelliLayer,
  STATUS_CHANGED,
  until,
  type StatusChangedData,
  type TelliLayer,
} from './support.js';

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
