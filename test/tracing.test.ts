import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { SAMPLE_CONTACT_ID, type SandboxContact } from '../src/sandbox/index.js';
import { createTracing, type Tracing } from '../src/tracing.js';
import { startServerProcess } from './support/process.js';
import { createTestStack, type TestStack } from './support/stack.js';
import { PARTIAL_CALLS_IN_FLIGHT } from '../src/telli/contacts/group-commit.js';

describe('tracing', () => {
  it('is off unless an OTLP endpoint is configured', () => {
    expect(parseConfig({}).tracing).toBeUndefined();
    expect(parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing).toEqual({
      otlpTracesUrl: 'http://collector:4318/v1/traces',
      serviceName: 'telli-graphql',
    });
  });

  describe('spans', () => {
    const exporter = new InMemorySpanExporter();
    let tracing: Tracing;
    let stack: TestStack;
    beforeAll(async () => {
      tracing = createTracing({ serviceName: 'telli-graphql-test', processor: new SimpleSpanProcessor(exporter) });
      stack = await createTestStack({ deps: { tracing }, sandbox: { latencyMs: 150 } });
    });
    afterAll(async () => {
      await stack.close();
      await tracing.shutdown();
    });

    it('a span per operation, with a child span per telli call and no key in any attribute', async () => {
      const [a, b] = [...stack.sandbox.contacts.values()] as [SandboxContact, SandboxContact];
      const res = await stack.raw(`query Pair { a: contact(id: "${a.id}") { id } b: contact(id: "${b.id}") { id } }`);
      expect(res.errors).toBeUndefined();
      const spans = exporter.getFinishedSpans();
      const operation = spans.find((s) => s.name === 'graphql.query Pair');
      const upstream = spans.filter((s) => s.name === 'telli POST /v1/get-contacts-batch');
      expect(operation?.attributes).toMatchObject({ 'graphql.operation.name': 'Pair', 'graphql.errors': 0 });
      expect(upstream).toHaveLength(1);
      expect(upstream[0]?.parentSpanContext?.spanId).toBe(operation?.spanContext().spanId);
      expect(upstream[0]?.spanContext().traceId).toBe(operation?.spanContext().traceId);
      expect(upstream[0]?.attributes).toMatchObject({
        'http.request.method': 'POST',
        'http.response.status_code': 200,
      });
      expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain(stack.sandbox.apiKey);
    });

    it('a telli call shared by several operations is a child of the operation that opened its batch', async () => {
      exporter.reset();
      const picked = [...stack.sandbox.contacts.values()].slice(5, 5 + PARTIAL_CALLS_IN_FLIGHT + 2);
      const run = (c: SandboxContact, i: number) => stack.raw(`query Op${i} { contact(id: "${c.id}") { id } }`);
      // The first operations fill the key's calls in flight…
      const first = picked.slice(0, PARTIAL_CALLS_IN_FLIGHT).map(run);
      while (stack.sandbox.transport.inFlight < PARTIAL_CALLS_IN_FLIGHT) await new Promise((r) => setTimeout(r, 1));
      // …so the last two share the next call, sent when one of those settles.
      const later = picked.slice(PARTIAL_CALLS_IN_FLIGHT).map((c, i) => run(c, PARTIAL_CALLS_IN_FLIGHT + i));
      await Promise.all([...first, ...later]);
      const spans = exporter.getFinishedSpans();
      const operationOf = (spanId: string | undefined) =>
        spans.find((s) => s.spanContext().spanId === spanId && s.name.startsWith('graphql.query'))?.name;
      const upstream = spans.filter((s) => s.name === 'telli POST /v1/get-contacts-batch');
      expect(upstream).toHaveLength(PARTIAL_CALLS_IN_FLIGHT + 1);
      const parents = upstream.map((s) => operationOf(s.parentSpanContext?.spanId));
      // Each call alone is its operation's; the shared one is sent from another call's answer,
      // but is in the trace of the later operation that opened its batch.
      expect(new Set(parents.slice(0, PARTIAL_CALLS_IN_FLIGHT))).toEqual(
        new Set(Array.from({ length: PARTIAL_CALLS_IN_FLIGHT }, (_, i) => `graphql.query Op${i}`)),
      );
      expect([
        `graphql.query Op${PARTIAL_CALLS_IN_FLIGHT}`,
        `graphql.query Op${PARTIAL_CALLS_IN_FLIGHT + 1}`,
      ]).toContain(parents[PARTIAL_CALLS_IN_FLIGHT]);
    });
  });

  it('exports spans over OTLP/HTTP from the running server', async () => {
    const bodies: { path: string; body: string }[] = [];
    const collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
      const server = startServerProcess({ PORT: '0', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
      const url = (await server.waitForLine((l) => typeof l['graphiql'] === 'string'))['graphiql'] as string;
      await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: `query Traced { contact(id: "${SAMPLE_CONTACT_ID}") { id } }` }),
      });
      expect(await server.stop('SIGTERM')).toBe(0); // shutdown flushes the batch processor
      const traces = bodies
        .filter((b) => b.path === '/v1/traces')
        .map((b) => b.body)
        .join('\n');
      expect(traces).toContain('graphql.query Traced');
      expect(traces).toContain('telli POST /v1/get-contacts-batch');
    } finally {
      collector.closeAllConnections();
      await new Promise((resolve) => collector.close(resolve));
    }
  });
});
