/**
 * `npm run bench:client`: what one single-contact read costs the layer's telli client, in CPU,
 * without GraphQL around it. This process drives 32 concurrent read loops against the sandbox
 * in its own process (`sandbox-process.ts`) and reports CPU µs per read (user + system, and system
 * alone) for three stacks, in interleaved rounds (median round shown):
 *
 * - `exchange`: the bare undici dispatch of `src/telli/transport/http.ts` plus `JSON.parse` — the floor;
 * - `client`: `createTelliClient().getContactsBatch` — limiter, retries, zod, mapping by id;
 * - `shared`: the same behind `createCoalescingClient`, with a per-read `Cancellation` as the
 *   request budget gives it — what `contact(id)` uses. The 32 loops read distinct ids with one
 *   key, so group commit shares calls between them: its figure is the cost of a read when
 *   concurrent operations share calls, the other two that of a call per read.
 *
 *   npm run bench:client -- [--rounds 3] [--seconds 3] [--loops 32]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import { exchange } from '../../src/telli/transport/http.js';
import { parseConfig } from '../../src/config.js';
import { Cancellation, createCoalescingClient, createTelliClient } from '../../src/telli/index.js';

const API_KEY = 'bench_0123456789abcdef';
const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const rounds = option('rounds', 3);
const seconds = option('seconds', 3);
const loops = option('loops', 32);

const sandbox = spawn(process.execPath, ['--import', 'tsx', 'test/bench/sandbox-process.ts'], {
  cwd: new URL('../../', import.meta.url),
  env: { PATH: process.env['PATH'] ?? '', BENCH_API_KEY: API_KEY, BENCH_LATENCY_MS: '0', BENCH_CONTACTS: '20000' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let urls: { url: string; control: string } | undefined;
for await (const line of createInterface({ input: sandbox.stdout! })) {
  urls = JSON.parse(line) as { url: string; control: string };
  break;
}
if (!urls) throw new Error('sandbox process exited before it was ready');
const ids = (await (await fetch(`${urls.control}/ids`)).json()) as string[];

const pool = new Pool(new URL(urls.url).origin, { connections: 64, pipelining: 1, keepAliveTimeout: 30_000 });
const upstream = parseConfig({}).telli;
const client = createTelliClient({ ...upstream, baseUrl: urls.url });
const shared = createCoalescingClient(client);
let n = 0;
const nextId = () => ids[n++ % ids.length] as string;
const call = () => ({ apiKey: API_KEY, requestId: 'bench', deadline: Date.now() + 15_000 });

const stacks: Record<string, () => Promise<unknown>> = {
  exchange: async () => {
    const response = await exchange(pool, {
      method: 'POST',
      path: '/v1/get-contacts-batch',
      headers: {
        accept: 'application/json',
        authorization: `Bearer ${API_KEY}`,
        'content-type': 'application/json',
        'x-request-id': 'bench',
      },
      body: JSON.stringify({ contact_ids: [nextId()] }),
      timeoutMs: 5_000,
      maxBodyBytes: upstream.maxResponseBytes,
      signal: undefined,
    });
    return JSON.parse(response.text ?? 'null');
  },
  client: () => client.getContactsBatch([nextId()], call()),
  shared: () => shared.getContactsBatch([nextId()], { ...call(), signal: new Cancellation() }),
};

async function measure(read: () => Promise<unknown>, ms: number) {
  const loop = async () => {
    const end = performance.now() + ms;
    while (performance.now() < end) await read();
  };
  const [cpu0, reads0] = [process.cpuUsage(), n];
  await Promise.all(Array.from({ length: loops }, loop));
  const cpu = process.cpuUsage(cpu0);
  const reads = n - reads0;
  return { total: (cpu.user + cpu.system) / reads, system: cpu.system / reads };
}

const results = new Map<string, { total: number; system: number }[]>();
for (const read of Object.values(stacks)) await measure(read, 1_500); // warm-up: JIT, sockets
for (let round = 0; round < rounds; round++) {
  for (const [name, read] of Object.entries(stacks)) {
    results.set(name, [...(results.get(name) ?? []), await measure(read, seconds * 1000)]);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] as number;
process.stdout.write(`\ntelli client, one single-contact read; ${loops} loops, ${rounds} rounds of ${seconds} s\n\n`);
process.stdout.write('| stack | CPU µs per read | of which system |\n| --- | ---: | ---: |\n');
for (const [name, list] of results) {
  const total = median(list.map((r) => r.total)).toFixed(0);
  process.stdout.write(`| ${name} | ${total} | ${median(list.map((r) => r.system)).toFixed(0)} |\n`);
}
await Promise.all([pool.close(), client.close()]);
sandbox.kill('SIGTERM');
await once(sandbox, 'exit');
