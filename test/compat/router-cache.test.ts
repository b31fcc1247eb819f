/**
 * Router response caches (Apollo Router's entity/response cache, Cosmo's, a CDN in front of a
 * gateway) decide from `Cache-Control` whether a subgraph answer may be kept and shared. An
 * answer with one tenant's data must never be shareable: every GraphQL response says `private`
 * or `no-store`, whatever the method, and whether it carries data or errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProcess } from '../support/process.js';
import { SAMPLE_CONTACT_ID, startSandboxLayer } from './support.js';

let layer: RunningProcess;
beforeAll(async () => {
  layer = await startSandboxLayer();
});
afterAll(async () => {
  await layer?.server.stop();
});

const QUERY = `{ contact(id: "${SAMPLE_CONTACT_ID}") { id firstName } }`;
const notShareable = (header: string | null) => /\b(private|no-store)\b/.test(header ?? '');

describe('Cache-Control on GraphQL responses', () => {
  it('a POST query with tenant data', async () => {
    const res = await fetch(layer.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query: QUERY }),
    });
    expect(res.status).toBe(200);
    expect({ cacheControl: res.headers.get('cache-control') }).toEqual({
      cacheControl: expect.toSatisfy(notShareable),
    });
  });

  it('a GET query with tenant data (the request shape a shared cache would key on)', async () => {
    const url = new URL(layer.graphqlUrl);
    url.searchParams.set('query', QUERY);
    // The CSRF header only so that this test is about caching, whatever GET's CSRF rules become.
    const res = await fetch(url, { headers: { accept: 'application/json', 'x-graphql-yoga-csrf': '1' } });
    expect(res.status).toBe(200);
    expect({ cacheControl: res.headers.get('cache-control') }).toEqual({
      cacheControl: expect.toSatisfy(notShareable),
    });
  });

  it('errors and refusals are not kept either', async () => {
    const invalid = await fetch(layer.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query: '{ nope }' }),
    });
    expect(invalid.status).toBe(400);
    expect({ cacheControl: invalid.headers.get('cache-control') }).toEqual({
      cacheControl: expect.toSatisfy(notShareable),
    });
  });
});
