/**
 * What a cross-site page can make a browser send without a CORS preflight ("simple" requests: a
 * GET, or a POST with a `text/plain`, form-urlencoded or multipart body and no custom header) must
 * never run a mutation — however GET queries and subscriptions are opened up for urql, gateways'
 * SSE GET and EventSource. These pass today and must keep passing: telli sees no write.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTelliLayer, type TelliLayer } from './support.js';

let telli: TelliLayer;
beforeAll(async () => {
  telli = await startTelliLayer();
});
afterAll(async () => {
  await telli?.close();
});
beforeEach(() => telli.telli.resetStats());

const writes = () => Object.keys(telli.telli.stats.calls).filter((call) => !/^GET |get-contacts-batch/.test(call));

describe('simple cross-site requests run no mutation', () => {
  const mutation = () =>
    `mutation { updateContact(input: { id: "${telli.contacts[30]!.id}", lastName: "Cross-site" }) { contact { id } } }`;

  it('a GET with a mutation in the query string', async () => {
    const url = new URL(telli.layer.graphqlUrl);
    url.searchParams.set('query', mutation());
    const res = await fetch(url);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(writes()).toEqual([]);
  });

  for (const [contentType, body] of [
    ['text/plain', () => JSON.stringify({ query: mutation() })],
    ['application/x-www-form-urlencoded', () => new URLSearchParams({ query: mutation() }).toString()],
  ] as const) {
    it(`a POST with Content-Type ${contentType}`, async () => {
      const res = await fetch(telli.layer.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: body(),
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(writes()).toEqual([]);
    });
  }

  it('a POST with a multipart/form-data body', async () => {
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: mutation() }));
    form.set('map', '{}');
    const res = await fetch(telli.layer.graphqlUrl, { method: 'POST', body: form });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(writes()).toEqual([]);
  });

  it('the same mutation as a JSON POST does write (the checks above can fail)', async () => {
    const res = await fetch(telli.layer.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: mutation() }),
    });
    expect(res.status).toBe(200);
    expect(writes()).not.toEqual([]);
  });
});
