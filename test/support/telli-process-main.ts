/**
 * The sandbox as a process of its own (see `telli-process.ts`): prints one JSON line with its URL
 * and its control URL when ready. Env: TELLI_KEYS (comma-separated), TELLI_RATE_LIMIT (0 = none),
 * TELLI_LATENCY_MS.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSandbox } from '../../src/sandbox/index.js';

const apiKeys = (process.env['TELLI_KEYS'] ?? 'test_key').split(',');
const perSecond = Number(process.env['TELLI_RATE_LIMIT'] ?? 0);
const sandbox = await startSandbox({
  apiKeys,
  latencyMs: Number(process.env['TELLI_LATENCY_MS'] ?? 0),
  ...(perSecond > 0 && { rateLimit: { perSecond } }),
});

const control = createServer((req, res) => {
  const reply = (value: unknown) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value ?? null));
  if (req.method === 'GET' && req.url === '/stats') {
    const { arrivals, throttled } = sandbox.transport;
    const { calls, callsByKey, writes } = sandbox.stats;
    return reply({ arrivals, throttled, calls, callsByKey, writes });
  }
  if (req.method === 'POST' && req.url === '/reset') {
    sandbox.resetStats();
    return reply(null);
  }
  if (req.method === 'GET' && req.url?.startsWith('/contacts/')) {
    const contact = sandbox.contacts.get(req.url.slice('/contacts/'.length).toLowerCase());
    return reply(contact ? { firstName: contact.firstName } : null);
  }
  if (req.method === 'POST' && req.url === '/fault') {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const fault = JSON.parse(body) as { status: number; headers?: Record<string, string>; times: number };
      sandbox.injectFault({
        fault: { kind: 'status', status: fault.status, ...(fault.headers && { headers: fault.headers }) },
        times: fault.times,
      });
      reply(null);
    });
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
