/**
 * urql as its users set it up: `createClient({ url, exchanges: [cacheExchange, fetchExchange] })`.
 * Since urql 5 a query within the URL length limit goes out as a GET (`preferGetMethod:
 * 'within-url-limit'`), with no custom header. The recording `fetch` only observes.
 */
import { cacheExchange, createClient, fetchExchange, gql } from '@urql/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProcess } from '../support/process.js';
import { recordingFetch, SAMPLE_CONTACT_ID, startSandboxLayer } from './support.js';

let layer: RunningProcess;
beforeAll(async () => {
  layer = await startSandboxLayer();
});
afterAll(async () => {
  await layer?.server.stop();
});

describe('urql default client', () => {
  it('a query goes out as a GET without a CSRF header and is answered', async () => {
    const recorder = recordingFetch();
    const client = createClient({
      url: layer.graphqlUrl,
      exchanges: [cacheExchange, fetchExchange],
      fetch: recorder.fetch,
    });
    const result = await client
      .query(
        gql`
          query Contact($id: ID!) {
            contact(id: $id) {
              id
              firstName
            }
          }
        `,
        { id: SAMPLE_CONTACT_ID },
      )
      .toPromise();
    expect(recorder.exchanges.map((e) => e.method)).toEqual(['GET']);
    expect(Object.keys(recorder.exchanges[0]?.headers ?? {})).not.toContain('x-graphql-yoga-csrf');
    expect(result.error?.message).toBeUndefined();
    expect(result.data).toEqual({
      contact: { __typename: 'Contact', id: SAMPLE_CONTACT_ID, firstName: expect.any(String) },
    });
  });

  it('a mutation goes out as a POST and is not refused for CSRF', async () => {
    const recorder = recordingFetch();
    const client = createClient({
      url: layer.graphqlUrl,
      exchanges: [cacheExchange, fetchExchange],
      fetch: recorder.fetch,
    });
    const result = await client
      .mutation(
        gql`
          mutation Update($input: UpdateContactInput!) {
            updateContact(input: $input) {
              contact {
                id
              }
              userErrors {
                code
              }
            }
          }
        `,
        { input: { id: SAMPLE_CONTACT_ID, lastName: 'Urql' } },
      )
      .toPromise();
    expect(recorder.exchanges.map((e) => e.method)).toEqual(['POST']);
    expect(result.error?.message).toBeUndefined();
    expect(result.data).toMatchObject({ updateContact: { contact: { id: SAMPLE_CONTACT_ID }, userErrors: [] } });
  });
});
