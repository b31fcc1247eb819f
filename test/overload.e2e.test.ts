import { readFile } from 'node:fs/promises';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoContacts, startSandbox, type RunningSandbox } from '../src/sandbox/index.js';
import { startLayerProcess, startProbe, type GraphQLBody, type RunningProcess } from './support/process.js';

/**
 * Admission control on the process `npm start` runs, with its default limits: a burst many times
 * what it admits gets every request answered — data, or a fast OVERLOADED — within the deadline,
 * memory stays bounded, `/health` keeps answering, and full service returns right after.
 * (Before: 1500 such requests drove RSS to 3.8 GB and left /health dead for minutes.)
 */
const BURST = 600;
const DEADLINE_MS = 10_000;
/** The bound this test holds the layer's peak resident set to (its idle RSS is ~90 MB). */
const RSS_BOUND_MB = 400;

const HEAVY = 'query Heavy ($ids: [ID!]!) { contacts(ids: $ids) { id firstName } }';

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
}

describe('a burst of heavy operations, many times the admission limit', () => {
  const key = 'tk_live_overload_0123456789abcdef';
  let telli: RunningSandbox;
  let layer: RunningProcess;
  let ids: string[];
  beforeAll(async () => {
    const contacts = createDemoContacts(1000);
    ids = contacts.map((c) => c.id);
    telli = await startSandbox({ apiKeys: [key], contacts });
    layer = await startLayerProcess({
      TELLI_API_KEY: key,
      TELLI_BASE_URL: telli.url,
      REQUEST_DEADLINE_MS: String(DEADLINE_MS),
    });
  });
  afterAll(async () => {
    await layer.server.stop();
    await telli.close();
  });

  it('answers every request within the deadline, keeps /health under a second and memory bounded', async () => {
    // Every request on a socket of its own, all at once, as a crowd of clients would.
    const crowd = new Agent({ connections: BURST, pipelining: 0 });
    const body = JSON.stringify({ query: HEAVY, variables: { ids } });
    const probe = startProbe(`${layer.url}/health`);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the probe is polling

    const started = performance.now();
    const outcomes = await Promise.all(
      Array.from({ length: BURST }, async () => {
        const t0 = performance.now();
        const res = await fetch(layer.graphqlUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
          body,
          dispatcher: crowd,
        } as RequestInit);
        const payload = (await res.json()) as GraphQLBody;
        return { status: res.status, ms: performance.now() - t0, payload, retryAfter: res.headers.get('retry-after') };
      }),
    );
    const burstMs = performance.now() - started;
    const probes = await probe.stop();
    await crowd.close();

    const served = outcomes.filter((o) => o.status === 200);
    const refused = outcomes.filter((o) => o.status === 503);
    expect(served.length + refused.length).toBe(BURST);
    for (const o of served) {
      expect(o.payload.errors).toBeUndefined();
      expect((o.payload.data?.['contacts'] as unknown[]).length).toBe(1000);
    }
    for (const o of refused) {
      expect(o.payload.errors?.map((e) => e.extensions?.['code'])).toEqual(['OVERLOADED']);
      expect(o.retryAfter).toBe('1');
    }
    expect(served.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(DEADLINE_MS + 1000);
    expect(probes.length).toBeGreaterThan(0);
    expect(Math.max(...probes)).toBeLessThan(1000);
    const rss = await peakRssMb(layer.server.child.pid as number);
    expect(rss).toBeLessThan(RSS_BOUND_MB);
    // What happened, for whoever reads the test output.
    process.stdout.write(
      `burst of ${BURST}: ${served.length} served, ${refused.length} OVERLOADED, in ${Math.round(burstMs)} ms; ` +
        `slowest answer ${Math.round(Math.max(...outcomes.map((o) => o.ms)))} ms; /health max ${Math.round(Math.max(...probes))} ms ` +
        `over ${probes.length} probes; layer peak RSS ${Math.round(rss)} MB\n`,
    );

    // Full service right after.
    const after = await fetch(layer.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(after.status).toBe(200);
    expect(((await after.json()) as GraphQLBody).data?.['contacts']).toHaveLength(1000);
  });
});
