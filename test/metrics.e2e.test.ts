import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_OPERATION_NAME_LENGTH, MAX_OPERATION_NAMES, OTHER_OPERATIONS } from '../src/http/use-metrics.js';
import { SAMPLE_CONTACT_ID } from '../src/sandbox/index.js';
import { postGraphQL, startLayerProcess, type RunningProcess } from './support/process.js';

/**
 * `/metrics` of the process `npm start` runs, after what a client can choose — aliases, operation
 * names — was made different on every request: every label stays bounded by the schema or the
 * code, so the registry stops growing however many requests come.
 */
const seriesOf = (text: string, metric: string) => text.split('\n').filter((line) => line.startsWith(`${metric}{`));

describe('/metrics cardinality', () => {
  let layer: RunningProcess;
  beforeAll(async () => {
    layer = await startLayerProcess({});
  });
  afterAll(async () => {
    await layer?.server.stop();
  });
  const scrape = async () => (await fetch(`${layer.url}/metrics`)).text();

  it('uniquely aliased failing fields add no series: errors are labelled by schema coordinate', async () => {
    // 100 aliases (the limit), each a field error: a response path of its own for every one.
    const send = async (n: number) => {
      const fields = Array.from({ length: 100 }, (_, a) => `r${n}_a${a}: contact(id: "not-a-uuid-${a}") { id }`);
      const res = await postGraphQL(layer.graphqlUrl, { query: `query Q { ${fields.join(' ')} }` });
      expect(res.body.errors).toHaveLength(100);
    };
    // The operation's own series (durations, counts) exist from its first request on.
    await send(1_000_000);
    const before = await scrape();
    const requests = 100;
    const t0 = performance.now();
    for (let r = 0; r < requests; r += 10) await Promise.all(Array.from({ length: 10 }, (_, i) => send(r + i)));
    const sendMs = performance.now() - t0;
    const t1 = performance.now();
    const after = await scrape();
    const scrapeMs = performance.now() - t1;
    const errorSeries = seriesOf(after, 'graphql_envelop_error_result');
    process.stdout.write(
      `metrics after ${requests} more requests × 100 unique aliased errors (${Math.round(sendMs)} ms): ` +
        `graphql_envelop_error_result ${seriesOf(before, 'graphql_envelop_error_result').length} → ${errorSeries.length} series, ` +
        `/metrics ${(before.length / 1024).toFixed(0)} → ${(after.length / 1024).toFixed(0)} KiB, scrape ${Math.round(scrapeMs)} ms\n`,
    );
    expect(errorSeries).toEqual([
      `graphql_envelop_error_result{operationName="Q",operationType="query",phase="execute",path="Query.contact"} ${(requests + 1) * 100}`,
    ]);
    expect(after).not.toContain('r0_a0');
    // Only numbers grew (counters, histogram sums); before, each request added 100 series.
    expect(after.length - before.length).toBeLessThan(4 * 1024);
  }, 60_000);

  it('client-chosen operation names are capped in number and length', async () => {
    const long = 'L'.repeat(MAX_OPERATION_NAME_LENGTH + 1);
    await postGraphQL(layer.graphqlUrl, { query: `query ${long} { __typename }` });
    for (let n = 0; n < MAX_OPERATION_NAMES + 50; n += 25) {
      await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          postGraphQL(layer.graphqlUrl, { query: `query Name${n + i}_${'x'.repeat(80)} { __typename }` }),
        ),
      );
    }
    const text = await scrape();
    const names = new Set(
      seriesOf(text, 'graphql_envelop_request').map((line) => /operationName="([^"]*)"/.exec(line)?.[1]),
    );
    expect(names.size).toBeLessThanOrEqual(MAX_OPERATION_NAMES + 1);
    expect(names.has(OTHER_OPERATIONS)).toBe(true);
    expect(text).not.toContain(long);
    for (const name of names) expect((name ?? '').length).toBeLessThanOrEqual(MAX_OPERATION_NAME_LENGTH);
    // Every label of every series, whatever the metric: no value a client sent in a query.
    expect(text).not.toContain(SAMPLE_CONTACT_ID);
    expect(text).not.toContain('not-a-uuid');
  });
});

describe('/metrics of the telli budget', () => {
  let layer: RunningProcess;
  beforeAll(async () => {
    // One call per second and a one-second deadline: the second read in a row cannot get a slot.
    layer = await startLayerProcess({ TELLI_RATE_LIMIT_PER_SECOND: '1', REQUEST_DEADLINE_MS: '1000' });
  });
  afterAll(async () => {
    await layer?.server.stop();
  });

  it('counts waits and refusals by reason, with no label naming a key', async () => {
    const read = { query: `{ contact(id: "${SAMPLE_CONTACT_ID}") { id } }` };
    expect((await postGraphQL(layer.graphqlUrl, read)).body.errors).toBeUndefined();
    const refused = await postGraphQL(layer.graphqlUrl, {
      query: '{ contactByExternalId(externalId: "crm/acme deals 42") { id } }',
    });
    expect(refused.body.errors?.[0]?.extensions?.['code']).toBe('TELLI_BUDGET_EXHAUSTED');
    const text = await (await fetch(`${layer.url}/metrics`)).text();
    expect(text).toContain('telli_budget_refusals_total{reason="budget"} 1\n');
    expect(text).toMatch(/^telli_budget_wait_seconds_count [1-9]/m);
    // Every budget series: no label but `reason` (and the histogram's `le`).
    const labels = text
      .split('\n')
      .filter((line) => line.startsWith('telli_budget_'))
      .flatMap((line) => [...line.matchAll(/([a-z_]+)="/g)].map((m) => m[1]));
    expect(new Set(labels)).toEqual(new Set(['le', 'reason']));
  });
});
