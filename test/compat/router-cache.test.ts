/**
 * Router response caches (Apollo Router's entity/response cache, Cosmo's, a CDN in front of a
 * gateway) decide from `Cache-Control` whether a subgraph answer may be kept and shared. An
 * answer with one tenant's data must never be kept: every GraphQL response says `no-store`,
 * whatever the method, and whether it carries data, errors or a stream. (`private` alone is not
 * enough: Apollo Router's response cache keeps `private` answers per user once configured to tell
 * users apart, and its user need not be the telli key.)
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningProcess } from '../support/process.js';
import { SAMPLE_CONTACT_ID, startSandboxLayer, startTelliLayer, until, type TelliLayer } from './support.js';

let layer: RunningProcess;
beforeAll(async () => {
  layer = await startSandboxLayer();
});
afterAll(async () => {
  await layer?.server.stop();
});

const QUERY = `{ contact(id: "${SAMPLE_CONTACT_ID}") { id firstName } }`;
const notShareable = (header: string | null) => /\bno-store\b/.test(header ?? '') && /\bprivate\b/.test(header ?? '');

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
    const res = await fetch(url, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(200);
    expect({ cacheControl: res.headers.get('cache-control') }).toEqual({
      cacheControl: expect.toSatisfy(notShareable),
    });
    // What else the answer depends on: the media type asked for and the credentials.
    const vary = (res.headers.get('vary') ?? '').toLowerCase().split(/\s*,\s*/);
    expect(vary).toEqual(expect.arrayContaining(['accept', 'authorization']));
  });

  it('a subscription stream (SSE)', async () => {
    const controller = new AbortController();
    const res = await fetch(layer.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: `subscription { contactStatusChanged { status } }` }),
      signal: controller.signal,
    });
    try {
      expect(res.status).toBe(200);
      expect({ cacheControl: res.headers.get('cache-control') }).toEqual({
        cacheControl: expect.toSatisfy(notShareable),
      });
    } finally {
      controller.abort();
    }
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
    const notAcceptable = await fetch(layer.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/csv' },
      body: JSON.stringify({ query: QUERY }),
    });
    expect(notAcceptable.status).toBe(406);
    expect({ cacheControl: notAcceptable.headers.get('cache-control') }).toEqual({
      cacheControl: expect.toSatisfy(notShareable),
    });
  });
});

describe("Cache-Control on the edge's own refusals", () => {
  const TOKEN = 'gateway-token-router-cache-0123456789';
  let telli: TelliLayer;
  beforeAll(async () => {
    telli = await startTelliLayer({ env: { CALLER_TOKENS: TOKEN, MAX_OPERATIONS_IN_FLIGHT: '1' } });
  });
  afterAll(async () => {
    await telli?.close();
  });

  it('a caller without its token (401) and a request over capacity (503)', async () => {
    const unauthenticated = await fetch(telli.layer.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(unauthenticated.status).toBe(401);
    expect({ cacheControl: unauthenticated.headers.get('cache-control') }).toEqual({
      cacheControl: expect.toSatisfy(notShareable),
    });

    // One request holds the only operation slot: its body never ends.
    const held = request(telli.layer.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'x-caller-token': TOKEN },
    });
    held.on('error', () => undefined);
    held.write('{"query":');
    try {
      await until(async () => {
        const res = await fetch(telli.layer.graphqlUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-caller-token': TOKEN },
          body: JSON.stringify({ query: '{ __typename }' }),
        });
        if (res.status !== 503) return false;
        expect({ cacheControl: res.headers.get('cache-control') }).toEqual({
          cacheControl: expect.toSatisfy(notShareable),
        });
        return true;
      }, 'a request refused for capacity');
    } finally {
      held.destroy();
    }
  });
});
