/**
 * The telli emulator as its own process for `npm run bench`, so the layer's RSS and CPU are the
 * layer's alone and scenario E measures the upstream by itself. Besides the sandbox it serves a
 * bench-only control port (never part of the production sandbox): `GET /stats`, `POST /reset`,
 * `GET /ids`. Prints one JSON line with both URLs when ready.
 *
 * Env: BENCH_API_KEY, BENCH_LATENCY_MS, BENCH_CONTACTS.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDemoContacts, startSandbox } from '../../src/sandbox/index.js';

const apiKey = process.env['BENCH_API_KEY'] ?? 'bench_key';
const latencyMs = Number(process.env['BENCH_LATENCY_MS'] ?? 0);
const count = Number(process.env['BENCH_CONTACTS'] ?? 20_000);

const contacts = createDemoContacts(count);
const sandbox = await startSandbox({ apiKeys: [apiKey], latencyMs, contacts });
const ids = JSON.stringify(contacts.map((c) => c.id));

const control = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        calls: sandbox.stats.calls,
        totalCalls: sandbox.totalCalls(),
        batchIds: sandbox.stats.batchSizes.reduce((a, b) => a + b, 0),
        unauthorized: sandbox.stats.unauthorized,
        requests: sandbox.transport.requests,
        maxInFlight: sandbox.transport.maxInFlight,
      }),
    );
    return;
  }
  if (req.method === 'POST' && req.url === '/reset') {
    // Also drops the per-call arrays (request ids, batch sizes) the stats keep, so they never grow
    // across scenarios.
    sandbox.resetStats();
    res.writeHead(204).end();
    return;
  }
  if (req.method === 'GET' && req.url === '/ids') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(ids);
    return;
  }
  res.writeHead(404).end();
});
await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
const { port } = control.address() as AddressInfo;

process.stdout.write(`${JSON.stringify({ url: sandbox.url, control: `http://127.0.0.1:${port}` })}\n`);

const stop = () => {
  control.close();
  void sandbox.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
