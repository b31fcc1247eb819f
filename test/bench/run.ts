/**
 * `npm run bench`: a reproducible benchmark of the layer's overhead (README, "Performance").
 *
 * Three processes, all on loopback:
 * - the telli sandbox (`sandbox-process.ts`), with an optional latency; its own counters give the
 *   upstream calls per operation;
 * - the layer as production runs it: `node dist/server.js` (compiled by `npm run build`) in telli
 *   mode against that sandbox, so its RSS is its own and it never shares an event loop with the
 *   load generator;
 * - this script, the load generator (autocannon).
 *
 * Scenarios at a fixed concurrency for a fixed duration: A `contact(id)`, B `contacts(ids)` × 50,
 * C `_entities` × 100, D `service` (no I/O: the GraphQL cost alone), E the single-contact REST call
 * made directly to the sandbox, and F: A's query answered from a second layer process's warm
 * contact cache (A without the telli hop), which splits A / D into the two costs it is made of.
 * Every request asks for different ids (F: different ones from its hot set), so cross-request
 * single-flight never flatters the numbers. Then two 100k-request runs of A for peak RSS and
 * growth, and the time from process start to `/health` 200.
 *
 *   npm run bench -- [--latency 20ms] [--duration 12s] [--rounds 3] [--connections 32] [--rss-requests 100000]
 *                    [--warmup 2s] [--entry dist/server.js]
 *
 * Prints a Markdown table and writes bench-results/bench-<time>.json and bench-results/latest.json.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const API_KEY = 'bench_0123456789abcdef';
const CONTACTS = 20_000;
/** Ids scenario F cycles through; all of them sit in the cached layer's contact cache. */
const HOT_IDS = 2_000;

// ---------------------------------------------------------------------------------------------
// Options

function parseDurationMs(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(value.trim());
  if (!match) throw new Error(`not a duration: ${value} (e.g. 20ms, 10s)`);
  return Number(match[1]) * (match[2] === 's' ? 1000 : 1);
}

function parseArgs(argv: string[]) {
  const options = {
    latencyMs: 0,
    durationS: 12,
    /** Each scenario's time is split into this many rounds, interleaved with the other scenarios. */
    rounds: 3,
    connections: 32,
    rssRequests: 100_000,
    warmupS: 2,
    /** Another build of the layer to measure (same flags), e.g. to compare two commits. */
    entry: 'dist/server.js',
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--latency') options.latencyMs = parseDurationMs(value);
    else if (flag === '--duration') options.durationS = Math.max(1, Math.round(parseDurationMs(value) / 1000));
    else if (flag === '--connections') options.connections = Number(value);
    else if (flag === '--rss-requests') options.rssRequests = Number(value);
    else if (flag === '--warmup') options.warmupS = Math.round(parseDurationMs(value) / 1000);
    else if (flag === '--entry') options.entry = value;
    else if (flag === '--rounds') options.rounds = Math.max(1, Math.round(Number(value)));
    else throw new Error(`unknown option ${flag}`);
    i++;
  }
  // An unsuffixed --duration is seconds, an unsuffixed --latency milliseconds.
  return options;
}

// ---------------------------------------------------------------------------------------------
// Processes

const out = (line = '') => process.stdout.write(`${line}\n`);

/** Every process this script started, so that a failure never leaves one running. */
const children = new Set<ChildProcess>();
function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

interface SandboxProcess {
  child: ChildProcess;
  url: string;
  control: string;
}

async function startSandboxProcess(latencyMs: number): Promise<SandboxProcess> {
  const child = track(
    spawn(process.execPath, ['--import', 'tsx', 'test/bench/sandbox-process.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env['PATH'] ?? '',
        BENCH_API_KEY: API_KEY,
        BENCH_LATENCY_MS: String(latencyMs),
        BENCH_CONTACTS: String(CONTACTS),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const ready = JSON.parse(line) as { url: string; control: string };
    lines.close();
    return { child, ...ready };
  }
  throw new Error('sandbox process exited before it was ready');
}

interface LayerProcess {
  child: ChildProcess;
  url: string;
  /** ms from spawn to the first `/health` 200. */
  startupMs: number;
}

/** The node flags of `npm run start:prod`, so the bench measures exactly what production runs. */
async function productionNodeArgs(): Promise<string[]> {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const [node, ...args] = (pkg.scripts['start:prod'] ?? '').trim().split(/\s+/);
  if (node !== 'node' || args.at(-1) !== 'dist/server.js') {
    throw new Error('expected scripts["start:prod"] to be `node [flags] dist/server.js`');
  }
  return args;
}

async function startLayer(sandboxUrl: string, entry: string, env: Record<string, string> = {}): Promise<LayerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = await productionNodeArgs();
  const started = performance.now();
  const child = track(
    spawn(process.execPath, [...args.slice(0, -1), entry], {
      cwd: ROOT,
      env: {
        PATH: process.env['PATH'] ?? '',
        NODE_ENV: 'production',
        PORT: String(port),
        HOST: '127.0.0.1',
        TELLI_API_KEY: API_KEY,
        TELLI_BASE_URL: sandboxUrl,
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    }),
  );
  for (;;) {
    if (child.exitCode !== null) throw new Error(`layer exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/health`);
      await res.arrayBuffer();
      if (res.status === 200) return { child, url, startupMs: performance.now() - started };
    } catch {
      // not listening yet
    }
    if (performance.now() - started > 30_000) throw new Error('layer not healthy within 30 s');
    await sleep(5);
  }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/** A memory figure of a process, in MB, from /proc (Linux). */
async function procStatusMb(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** CPU time a process has used so far, in ms (user + system; /proc counts in 1/100 s). */
async function cpuMs(pid: number): Promise<number> {
  const { user, system } = await cpuSplitMs(pid);
  return user + system;
}

/** The same, split into user and system (kernel) time. */
async function cpuSplitMs(pid: number): Promise<{ user: number; system: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) * 10, system: Number(fields[12]) * 10 };
}

/** Samples the layer's resident set every 100 ms while a scenario runs; `stop` returns the peak. */
function rssSampler(pid: number) {
  let peak = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      peak = Math.max(peak, await procStatusMb(pid, 'VmRSS'));
      await sleep(100);
    }
  })();
  return {
    async stop(): Promise<number> {
      stopped = true;
      await loop;
      return Math.max(peak, await procStatusMb(pid, 'VmRSS'));
    },
  };
}

/** The commit measured, `+dirty` when the work tree has changes. */
function gitDescribe(): string {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty=+dirty'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios

const FIELDS = 'id firstName lastName phoneNumber status callAttempts nextCallAt contactDetails';
const QUERY_A = `query A($id: ID!) { contact(id: $id) { ${FIELDS} } }`;
const QUERY_B = `query B($ids: [ID!]!) { contacts(ids: $ids) { ${FIELDS} } }`;
const QUERY_C = `query C($representations: [_Any!]!) { _entities(representations: $representations) { ... on Contact { ${FIELDS} } } }`;
const QUERY_D = '{ service { name version federation } }';

interface Scenario {
  key: string;
  title: string;
  /** `cachedLayer`: a second layer process with the contact cache on, warmed with `HOT_IDS` ids. */
  target: 'layer' | 'cachedLayer' | 'sandbox';
  path: string;
  headers: Record<string, string>;
  /** Body of the n-th request (every request gets different ids). */
  body: (n: number) => string;
  /** Is this response body a correct answer? */
  ok: (body: string) => boolean;
}

function scenarios(ids: string[]): Scenario[] {
  const id = (n: number) => ids[n % ids.length] as string;
  const slice = (n: number, size: number) => Array.from({ length: size }, (_, i) => id(n * size + i));
  const graphql = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
  const noErrors = (body: string) => body.startsWith('{"data":{') && !body.includes('"errors":[');
  // Parsing every large answer would load the generator's CPU (shared with the layer on this
  // machine); every 16th is parsed and checked in full, the rest must at least have no errors.
  let checked = 0;
  const allFound = (field: string, size: number) => (body: string) => {
    if (!noErrors(body)) return false;
    if (checked++ % 16 !== 0) return true;
    const list = (JSON.parse(body) as { data: Record<string, unknown[]> }).data[field];
    return Array.isArray(list) && list.length === size && list.every((c) => c !== null);
  };
  return [
    {
      key: 'A',
      title: 'contact(id)',
      target: 'layer',
      path: '/graphql',
      headers: graphql,
      body: (n) => JSON.stringify({ query: QUERY_A, variables: { id: id(n) } }),
      ok: (body) => noErrors(body) && body.includes('"firstName"'),
    },
    {
      // A's query and server, answered from the layer's own contact cache: the GraphQL cost of A
      // without the telli hop (the sandbox's counter must show 0 calls). A / F is what the hop
      // costs; F / D what A's selection costs over D's.
      key: 'F',
      title: 'contact(id), cache hot (A without the hop)',
      target: 'cachedLayer',
      path: '/graphql',
      headers: graphql,
      body: (n) => JSON.stringify({ query: QUERY_A, variables: { id: ids[n % HOT_IDS] } }),
      ok: (body) => noErrors(body) && body.includes('"firstName"'),
    },
    {
      key: 'B',
      title: 'contacts(ids) × 50',
      target: 'layer',
      path: '/graphql',
      headers: graphql,
      body: (n) => JSON.stringify({ query: QUERY_B, variables: { ids: slice(n, 50) } }),
      ok: allFound('contacts', 50),
    },
    {
      key: 'C',
      title: '_entities × 100',
      target: 'layer',
      path: '/graphql',
      headers: graphql,
      body: (n) =>
        JSON.stringify({
          query: QUERY_C,
          variables: { representations: slice(n, 100).map((cid) => ({ __typename: 'Contact', id: cid })) },
        }),
      ok: allFound('_entities', 100),
    },
    {
      key: 'D',
      title: 'service (no I/O, ceiling)',
      target: 'layer',
      path: '/graphql',
      headers: graphql,
      body: () => JSON.stringify({ query: QUERY_D }),
      ok: (body) => noErrors(body) && body.includes('"telli-graphql"'),
    },
    {
      key: 'E',
      title: 'REST direct to sandbox (floor)',
      target: 'sandbox',
      path: '/v1/get-contacts-batch',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
      body: (n) => JSON.stringify({ contact_ids: [id(n)] }),
      ok: (body) => body.startsWith('[{"status":"success"'),
    },
  ];
}

interface LoadOptions {
  url: string;
  scenario: Scenario;
  connections: number;
  durationS?: number;
  amount?: number;
  /** First request number (so consecutive runs keep asking for new ids). */
  offset: number;
}

async function load({ url, scenario, connections, durationS, amount, offset }: LoadOptions) {
  let n = offset;
  let bad = 0;
  let badSample: string | undefined;
  const result = await autocannon({
    url,
    connections,
    pipelining: 1,
    ...(amount !== undefined ? { amount } : { duration: durationS ?? 10 }),
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path: scenario.path,
        headers: scenario.headers,
        setupRequest: (request) => ({ ...request, body: scenario.body(n++) }),
        onResponse: (status, body) => {
          if (status !== 200 || !scenario.ok(body)) {
            bad++;
            badSample ??= `${status} ${body.slice(0, 300)}`;
          }
        },
      },
    ],
  });
  return { result, bad, badSample, next: n };
}

async function controlJson<T>(sandbox: SandboxProcess, path: string, method = 'GET'): Promise<T> {
  const res = await fetch(`${sandbox.control}${path}`, { method });
  return (method === 'GET' ? await res.json() : undefined) as T;
}

interface Row {
  scenario: string;
  title: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  upstreamCallsPerOp: number | null;
  peakRssMb: number | null;
  /** Layer CPU time per completed request: robust to other load on the machine, unlike req/s. */
  layerCpuUsPerOp: number | null;
  /** The kernel's share of it (socket reads and writes, waking other processes). */
  layerSystemCpuUsPerOp: number | null;
  /** Share of one core the layer used: ~100 % means the layer, not the generator or telli, set the pace. */
  layerCpuPercent: number;
  sandboxCpuPercent: number;
  requests: number;
  badResponses: number;
  errors: number;
}

/** One round of one scenario. */
interface Measurement {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  upstreamCalls: number;
  sent: number;
  peakRssMb: number;
  layerCpuUsPerOp: number;
  layerSystemCpuUsPerOp: number;
  layerCpuPercent: number;
  sandboxCpuPercent: number;
  requests: number;
  bad: number;
  errors: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function summarize(scenario: Scenario, rounds: Measurement[]): Row {
  const sum = (pick: (m: Measurement) => number) => rounds.reduce((total, m) => total + pick(m), 0);
  const layer = scenario.target !== 'sandbox';
  return {
    scenario: scenario.key,
    title: scenario.title,
    requestsPerSecond: median(rounds.map((m) => m.requestsPerSecond)),
    p50Ms: median(rounds.map((m) => m.p50Ms)),
    p99Ms: median(rounds.map((m) => m.p99Ms)),
    upstreamCallsPerOp: layer ? sum((m) => m.upstreamCalls) / sum((m) => m.sent) : null,
    peakRssMb: layer ? Math.max(...rounds.map((m) => m.peakRssMb)) : null,
    layerCpuUsPerOp: layer ? median(rounds.map((m) => m.layerCpuUsPerOp)) : null,
    layerSystemCpuUsPerOp: layer ? median(rounds.map((m) => m.layerSystemCpuUsPerOp)) : null,
    layerCpuPercent: median(rounds.map((m) => m.layerCpuPercent)),
    sandboxCpuPercent: median(rounds.map((m) => m.sandboxCpuPercent)),
    requests: sum((m) => m.requests),
    badResponses: sum((m) => m.bad),
    errors: sum((m) => m.errors),
  };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const began = performance.now();
  const sandbox = await startSandboxProcess(options.latencyMs);
  const ids = await controlJson<string[]>(sandbox, '/ids');

  // Start-up: three fresh processes, median reported.
  const startups: number[] = [];
  for (let i = 0; i < 3; i++) {
    const layer = await startLayer(sandbox.url, options.entry);
    startups.push(layer.startupMs);
    await stopProcess(layer.child);
  }
  startups.sort((a, b) => a - b);

  const layer = await startLayer(sandbox.url, options.entry);
  const pid = layer.child.pid as number;
  // Same build and flags, plus a contact cache that outlives the bench, warmed with every id F asks for.
  const cachedLayer = await startLayer(sandbox.url, options.entry, {
    TELLI_CACHE_TTL_MS: String(60 * 60_000),
    TELLI_CACHE_MAX_ENTRIES: String(HOT_IDS),
  });
  const all = scenarios(ids);
  let offset = 0;

  // Warm-up (JIT, sockets, parser cache), not measured.
  for (const scenario of all.filter((s) => s.target !== 'sandbox')) {
    if (scenario.target === 'cachedLayer') {
      // Every hot id once (so F never calls telli), then the usual warm-up.
      await load({ url: cachedLayer.url, scenario, connections: options.connections, amount: HOT_IDS, offset: 0 });
    }
    const warm = await load({
      url: scenario.target === 'cachedLayer' ? cachedLayer.url : layer.url,
      scenario,
      connections: options.connections,
      durationS: options.warmupS,
      offset,
    });
    offset = warm.next;
  }

  /*
   * Rounds: every scenario runs `rounds` times for durationS / rounds, in turn (A F B C D E, A F …).
   * Other jobs on a shared machine come and go within seconds; interleaving spreads that noise over
   * all scenarios instead of letting it land on one, so ratios such as A / D compare like with
   * like. A row shows the median round (req/s, latency, CPU per request) and the whole-scenario
   * upstream calls per operation and peak RSS.
   */
  const roundS = Math.max(1, Math.round(options.durationS / options.rounds));
  const measurements = new Map<string, Measurement[]>();
  for (let round = 0; round < options.rounds; round++) {
    for (const scenario of all) {
      const measurement = await measure(scenario, roundS);
      const list = measurements.get(scenario.key) ?? [];
      list.push(measurement);
      measurements.set(scenario.key, list);
    }
  }
  const rows: Row[] = all.map((scenario) => summarize(scenario, measurements.get(scenario.key) ?? []));

  async function measure(scenario: Scenario, durationS: number): Promise<Measurement> {
    await controlJson(sandbox, '/reset', 'POST');
    const measured = scenario.target === 'cachedLayer' ? cachedLayer : layer;
    const measuredPid = measured.child.pid as number;
    const sampler = rssSampler(measuredPid);
    const sandboxPid = sandbox.child.pid as number;
    const [layerCpu0, sandboxCpu0, wall0] = [await cpuSplitMs(measuredPid), await cpuMs(sandboxPid), performance.now()];
    const run = await load({
      url: scenario.target === 'sandbox' ? sandbox.url : measured.url,
      scenario,
      connections: options.connections,
      durationS,
      offset,
    });
    offset = run.next;
    const wallMs = performance.now() - wall0;
    const layerCpuNow = await cpuSplitMs(measuredPid);
    const layerSystemCpu = layerCpuNow.system - layerCpu0.system;
    const layerCpu = layerCpuNow.user - layerCpu0.user + layerSystemCpu;
    const sandboxCpu = (await cpuMs(sandboxPid)) - sandboxCpu0;
    const peakRssMb = await sampler.stop();
    await sleep(200); // let requests cut off at the end reach the sandbox before counting
    const stats = await controlJson<{ totalCalls: number }>(sandbox, '/stats');
    const { result } = run;
    if (run.badSample) out(`  ! ${scenario.key}: ${run.bad} bad responses, e.g. ${run.badSample}`);
    return {
      requestsPerSecond: result.requests.total / ((result.duration as number) || durationS),
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      upstreamCalls: stats.totalCalls,
      sent: result.requests.sent,
      peakRssMb,
      layerCpuUsPerOp: (layerCpu * 1000) / result.requests.total,
      layerSystemCpuUsPerOp: (layerSystemCpu * 1000) / result.requests.total,
      layerCpuPercent: (layerCpu / wallMs) * 100,
      sandboxCpuPercent: (sandboxCpu / wallMs) * 100,
      requests: result.requests.total,
      bad: run.bad,
      errors: result.errors + result.timeouts,
    };
  }

  await stopProcess(cachedLayer.child);

  // Memory: two consecutive runs of A with a fixed request count.
  const memoryRuns: { requests: number; peakRssMb: number; rssAfterMb: number; seconds: number }[] = [];
  const scenarioA = all[0] as Scenario;
  for (let i = 0; i < 2; i++) {
    const sampler = rssSampler(pid);
    const t0 = performance.now();
    const run = await load({
      url: layer.url,
      scenario: scenarioA,
      connections: options.connections,
      amount: options.rssRequests,
      offset,
    });
    offset = run.next;
    const peak = await sampler.stop();
    await sleep(1000);
    memoryRuns.push({
      requests: run.result.requests.total,
      peakRssMb: peak,
      rssAfterMb: await procStatusMb(pid, 'VmRSS'),
      seconds: (performance.now() - t0) / 1000,
    });
  }
  const hwmMb = await procStatusMb(pid, 'VmHWM');

  await stopProcess(layer.child);
  await stopProcess(sandbox.child);

  const byKey = (key: string) => rows.find((r) => r.scenario === key) as Row;
  const ratioAD = byKey('A').requestsPerSecond / byKey('D').requestsPerSecond;
  const cpuRatioAD = (byKey('D').layerCpuUsPerOp ?? NaN) / (byKey('A').layerCpuUsPerOp ?? NaN);
  // A / D = (F / D) × (A / F): what A's selection costs over D's, times what the telli hop costs.
  const ratioFD = byKey('F').requestsPerSecond / byKey('D').requestsPerSecond;
  const ratioAF = byKey('A').requestsPerSecond / byKey('F').requestsPerSecond;
  const [run1, run2] = memoryRuns as [(typeof memoryRuns)[0], (typeof memoryRuns)[0]];
  const growth = run2.peakRssMb / run1.peakRssMb - 1;
  const machine = {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform}-${process.arch}`,
  };
  const report = {
    date: new Date().toISOString(),
    commit: gitDescribe(),
    machine,
    options,
    startupMs: { median: startups[1], all: startups },
    scenarios: rows,
    ratios: { aOverD: ratioAD, aOverDByLayerCpu: cpuRatioAD, fOverD: ratioFD, aOverF: ratioAF },
    memoryRuns,
    layerVmHwmMb: hwmMb,
    totalSeconds: (performance.now() - began) / 1000,
  };

  const fmt = (v: number | null, digits = 0) => (v === null ? '—' : v.toFixed(digits));
  out();
  out(
    `telli-graphql bench — ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, Node ${machine.node}; ` +
      `${options.connections} connections, ${options.durationS} s per scenario in ${options.rounds} interleaved rounds (median round shown), ` +
      `sandbox latency ${options.latencyMs} ms; ` +
      `${options.entry} at ${report.commit}`,
  );
  out();
  out(
    '| scenario | req/s | p50 ms | p99 ms | upstream calls/op | layer peak RSS MB | layer CPU µs/op | of which system | layer CPU % | sandbox CPU % | bad |',
  );
  out('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    out(
      `| ${r.scenario} ${r.title} | ${fmt(r.requestsPerSecond)} | ${fmt(r.p50Ms, 1)} | ${fmt(r.p99Ms, 1)} | ` +
        `${fmt(r.upstreamCallsPerOp, 3)} | ${fmt(r.peakRssMb, 1)} | ${fmt(r.layerCpuUsPerOp)} | ${fmt(r.layerSystemCpuUsPerOp)} | ` +
        `${fmt(r.layerCpuPercent)} | ${fmt(r.sandboxCpuPercent)} | ${r.badResponses + r.errors} |`,
    );
  }
  out();
  out(
    `A / D throughput: ${ratioAD.toFixed(2)}   A / D by layer CPU per op: ${cpuRatioAD.toFixed(2)}   ` +
      `A p99 / p50: ${(byKey('A').p99Ms / byKey('A').p50Ms).toFixed(2)}`,
  );
  out(
    `A / D = (F / D) × (A / F): ${ratioFD.toFixed(2)} × ${ratioAF.toFixed(2)}   ` +
      "(F / D: the cost of A's selection over D's, no I/O; A / F: the cost of the telli hop)",
  );
  out(
    `Memory, ${options.rssRequests} requests of A, twice: peak RSS ${run1.peakRssMb.toFixed(1)} MB then ` +
      `${run2.peakRssMb.toFixed(1)} MB (${(growth * 100).toFixed(1)} %), after ${run1.rssAfterMb.toFixed(1)} / ` +
      `${run2.rssAfterMb.toFixed(1)} MB; VmHWM ${hwmMb.toFixed(1)} MB`,
  );
  out(`Start to /health 200: ${startups.map((s) => s.toFixed(0)).join(', ')} ms (median ${startups[1]?.toFixed(0)})`);
  out(`Total bench time: ${report.totalSeconds.toFixed(0)} s`);

  const dir = join(ROOT, 'bench-results');
  await mkdir(dir, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const stamp = report.date.replace(/[:.]/g, '-');
  await writeFile(join(dir, `bench-${stamp}.json`), json);
  await writeFile(join(dir, 'latest.json'), json);
  out(`Wrote bench-results/bench-${stamp}.json`);
}

main().catch((error: unknown) => {
  for (const child of children) child.kill('SIGKILL');
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
