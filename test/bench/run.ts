/**
 * `npm run bench`: a reproducible benchmark of the layer's overhead (docs/performance.md).
 *
 * Processes, all on loopback:
 * - the telli sandbox (`sandbox-process.ts`), with an optional latency; its own counters give the
 *   upstream calls per operation and the ids per call;
 * - the layer as users run it: `node dist/server.js` with the node flags of `npm start` (compiled
 *   by `npm run build`), in telli mode against that sandbox, so its RSS is its own and it never
 *   shares an event loop with the load generator;
 * - with `--baseline-ref <git ref>`, a second layer built from that commit (its `src/` and
 *   `package.json`, extracted with `git archive` into `bench-results/baseline-<sha>/` so that
 *   `node_modules` resolves, built with its own build script and run with its own `npm start`
 *   flags), measured in the same rounds: every figure then comes as a side-by-side pair;
 * - a second sandbox answering `--remote-latency` later (a remote telli) with one layer per build,
 *   for A at `--remote-connections` (256);
 * - this script, the load generator (autocannon; a sequential client for A at 1 connection, whose
 *   sub-millisecond latencies autocannon's whole-millisecond histogram cannot show).
 *
 * Scenarios: A `contact(id)`; A at 1 connection (latency); G 20 aliased `contact(id)`s; B
 * `contacts(ids)` × 50; C `_entities` × 100; D `{ __typename }` (no I/O: the GraphQL cost alone);
 * E the single-contact REST call made directly to the sandbox; F A's query answered from a second
 * layer process's warm contact cache (A without the telli hop); R: A at 256 connections against
 * the remote sandbox; S (the sweep): A at 1 to 256 connections against both sandboxes, drawn as
 * the SVG chart docs/performance.md embeds; X (scale-out): three layer processes against the remote
 * sandbox, each a third of the connections, asking a hot set of 1000 contacts — per process
 * (no Redis); with REDIS_URL and one telli budget (`--scale-out-budget`, 10/s); with the contact
 * cache in Redis; with both. Every request asks for ids no other request in flight asks for, so
 * single-flight never flatters a number: whatever sharing there is, is group commit of distinct
 * ids. Then two 100k-request runs of A for peak RSS and growth, and the time from process start to
 * `/health` 200.
 *
 * The floors (`floors.ts`, issue 26), each a process with the layer's node flags, answer A, G, B, C
 * and D in the same interleaved rounds: a minimal graphql-yoga server on the same Contact shape
 * reading from an in-memory Map, the same with one undici batch call to the sandbox per operation,
 * and bare node:http with canned bodies. Under the table, the ratios the issue names (per contact
 * in lists, contact(id), `{ __typename }`), per round paired, median [min–max].
 * `--only floors` runs just these (A, G, B, C, D, the layer and the floors, no memory runs).
 *
 *   npm run bench -- [--baseline-ref <ref>] [--latency 0ms] [--remote-latency 20ms] [--remote-connections 256]
 *                    [--duration 12s] [--rounds 3] [--connections 32] [--rss-requests 100000] [--warmup 2s]
 *                    [--only A,A1,G,B,C,D,E,F,R,S | --only floors] [--floors off] [--entry dist/server.js]
 *                    [--sweep 1,4,16,64,256] [--sweep-duration 3s] [--chart docs/performance.svg]
 *                    [--scale-out-budget 10]
 *
 * Prints a Markdown table and writes bench-results/bench-<time>.json, bench-results/latest.json and,
 * with S, the chart (`--chart`, docs/performance.svg).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Pool } from 'undici';
import { npmStartNodeArgs } from '../support/process.js';
import { startRedis } from '../support/redis.js';
import { sweepChart, type SweepPoint, type SweepSeries } from './chart.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const API_KEY = 'bench_0123456789abcdef';
const CONTACTS = 20_000;
/** Ids scenario F cycles through; all of them sit in the cached layer's contact cache. */
const HOT_IDS = 2_000;
const ALL_SCENARIOS = ['A', 'A1', 'F', 'G', 'B', 'C', 'D', 'E', 'R', 'S', 'X'] as const;
/** `--only floors`: the layer beside its floors, and nothing else (about 5 minutes at the defaults). */
const FLOOR_SCENARIOS = ['A', 'G', 'B', 'C', 'D'] as const;
/** The floors (`floors.ts`), each a process of its own, measured on every scenario they can answer. */
const FLOORS = [
  { kind: 'batch', label: 'floor: Yoga + 1 batch call' },
  { kind: 'memory', label: 'floor: Yoga + Map' },
  { kind: 'http', label: 'floor: node:http, canned' },
] as const;

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
    /** Latency of the second sandbox, for scenario R. */
    remoteLatencyMs: 20,
    remoteConnections: 256,
    durationS: 12,
    /** Each scenario's time is split into this many rounds, interleaved with the other scenarios. */
    rounds: 3,
    connections: 32,
    rssRequests: 100_000,
    warmupS: 2,
    /** The build of this work tree to measure (its node flags come from package.json). */
    entry: 'dist/server.js',
    /** A git ref to build and measure beside this work tree, e.g. the main branch's last commit. */
    baselineRef: undefined as string | undefined,
    only: new Set<string>(ALL_SCENARIOS),
    /** Run the floors beside the layer (`--floors off` to skip them). */
    floors: true,
    /** S: A at each of these connection counts, against both sandboxes (the chart). */
    sweepConnections: [1, 4, 16, 64, 256],
    sweepDurationS: 3,
    /** X: the telli budget of the third configuration, calls per second. */
    scaleOutBudget: 10,
    /** Where the sweep's chart goes (besides bench-results/sweep.svg); docs/performance.md embeds it. */
    chart: 'docs/performance.svg',
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--latency') options.latencyMs = parseDurationMs(value);
    else if (flag === '--remote-latency') options.remoteLatencyMs = parseDurationMs(value);
    else if (flag === '--remote-connections') options.remoteConnections = Number(value);
    else if (flag === '--duration') options.durationS = Math.max(1, Math.round(parseDurationMs(value) / 1000));
    else if (flag === '--connections') options.connections = Number(value);
    else if (flag === '--rss-requests') options.rssRequests = Number(value);
    else if (flag === '--warmup') options.warmupS = Math.round(parseDurationMs(value) / 1000);
    else if (flag === '--entry') options.entry = value;
    else if (flag === '--baseline-ref') options.baselineRef = value;
    else if (flag === '--rounds') options.rounds = Math.max(1, Math.round(Number(value)));
    else if (flag === '--sweep') options.sweepConnections = value.split(',').map((c) => Number(c.trim()));
    else if (flag === '--sweep-duration')
      options.sweepDurationS = Math.max(1, Math.round(parseDurationMs(value) / 1000));
    else if (flag === '--chart') options.chart = value;
    else if (flag === '--scale-out-budget') options.scaleOutBudget = Number(value);
    else if (flag === '--floors') options.floors = value !== 'off';
    else if (flag === '--only' && value === 'floors') {
      options.only = new Set(FLOOR_SCENARIOS);
      options.floors = true;
      if (!argv.includes('--rss-requests')) options.rssRequests = 0;
    } else if (flag === '--only') {
      options.only = new Set(value.split(',').map((s) => s.trim()));
      const unknown = [...options.only].filter((s) => !(ALL_SCENARIOS as readonly string[]).includes(s));
      if (unknown.length)
        throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${ALL_SCENARIOS.join(',')}`);
    } else throw new Error(`unknown option ${flag}`);
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

/** A build of the layer: where it lives and how `npm start` runs it there. */
interface Build {
  /** `this build` or the baseline's short commit. */
  label: string;
  commit: string;
  dir: string;
  entry: string;
  nodeArgs: string[];
}

const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();

/**
 * Extracts `ref`'s `src/`, `scripts/` (the build's steps after esbuild) and `package.json` into `bench-results/baseline-<sha>/` (inside the
 * repository, so that its imports resolve to this work tree's `node_modules`) and builds it with
 * its own build script.
 */
async function prepareBaseline(ref: string): Promise<Build> {
  const commit = git('rev-parse', '--short=7', `${ref}^{commit}`);
  const dir = join(ROOT, 'bench-results', `baseline-${commit}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const paths = ['src', 'scripts', 'package.json', 'tsconfig.json'].filter((path) => {
    try {
      git('cat-file', '-e', `${commit}:${path}`);
      return true;
    } catch {
      return false;
    }
  });
  const archive = execFileSync('git', ['archive', '--format=tar', commit, ...paths], { cwd: ROOT });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const build = pkg.scripts['build'];
  if (!build) throw new Error(`${ref} has no build script`);
  execFileSync('sh', ['-c', build], {
    cwd: dir,
    stdio: 'inherit',
    env: { ...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env['PATH'] ?? ''}` },
  });
  return { label: commit, commit, dir, entry: 'dist/server.js', nodeArgs: npmStartNodeArgs(dir) };
}

/** A server process whose CPU and memory a scenario measures: a layer or a floor. */
interface MeasuredProcess {
  child: ChildProcess;
  pid: number;
  url: string;
}

interface LayerProcess extends MeasuredProcess {
  build: Build;
  /** ms from spawn to the first `/health` 200. */
  startupMs: number;
}

async function startLayer(sandboxUrl: string, build: Build, env: Record<string, string> = {}): Promise<LayerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = track(
    spawn(process.execPath, [...build.nodeArgs, build.entry], {
      cwd: build.dir,
      env: {
        PATH: process.env['PATH'] ?? '',
        NODE_ENV: 'production',
        PORT: String(port),
        HOST: '127.0.0.1',
        TELLI_API_KEY: API_KEY,
        TELLI_BASE_URL: sandboxUrl,
        LOG_LEVEL: 'warn',
        // The default admission budget (5000) is sized for bursts of 1000-contact operations on two
        // cores; 32 closed-loop clients of G (cost 180 each) would meet it, and G's row would
        // measure refusals instead of work. Builds without admission control ignore it.
        MAX_COST_IN_FLIGHT: '100000',
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
      if (res.status === 200)
        return { child, pid: child.pid as number, url, build, startupMs: performance.now() - started };
    } catch {
      // not listening yet
    }
    if (performance.now() - started > 30_000) throw new Error('layer not healthy within 30 s');
    await sleep(5);
  }
}

/** A floor server (`floors.ts`) with the layer's node flags, reading from `sandbox`. */
async function startFloor(sandbox: SandboxProcess, kind: string, nodeArgs: string[]): Promise<MeasuredProcess> {
  const child = track(
    spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'test/bench/floors.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env['PATH'] ?? '',
        NODE_ENV: 'production',
        BENCH_FLOOR: kind,
        BENCH_SANDBOX_URL: sandbox.url,
        BENCH_CONTROL_URL: sandbox.control,
        BENCH_API_KEY: API_KEY,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const { url } = JSON.parse(line) as { url: string };
    lines.close();
    return { child, pid: child.pid as number, url };
  }
  throw new Error(`floor ${kind} exited before it was ready`);
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

/** Samples a process's resident set every 100 ms while a scenario runs; `stop` returns the peak. */
function rssSampler(pid: number) {
  let peak = 0;
  let stopped = false;
  // A process that exits mid-scenario ends the sampling; `measure` then says which one it was.
  const sample = () => procStatusMb(pid, 'VmRSS').catch(() => 0);
  const loop = (async () => {
    while (!stopped) {
      peak = Math.max(peak, await sample());
      await sleep(100);
    }
  })();
  return {
    async stop(): Promise<number> {
      stopped = true;
      await loop;
      return Math.max(peak, await sample());
    },
  };
}

/** The commit measured, `+dirty` when the work tree has changes. */
function gitDescribe(): string {
  try {
    return git('describe', '--always', '--dirty=+dirty');
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------------------------------------
// Workloads: what is asked, and how an answer is checked

const FIELDS = 'id firstName lastName phoneNumber status callAttempts nextCallAt contactDetails';
const QUERY_A = `query A($id: ID!) { contact(id: $id) { ${FIELDS} } }`;
const ALIASES = 20;
const QUERY_G = `query G(${Array.from({ length: ALIASES }, (_, i) => `$i${i}: ID!`).join(', ')}) { ${Array.from(
  { length: ALIASES },
  (_, i) => `c${i}: contact(id: $i${i}) { ${FIELDS} }`,
).join(' ')} }`;
const QUERY_B = `query B($ids: [ID!]!) { contacts(ids: $ids) { ${FIELDS} } }`;
const QUERY_C = `query C($representations: [_Any!]!) { _entities(representations: $representations) { ... on Contact { ${FIELDS} } } }`;
const QUERY_D = '{ __typename }';

interface Workload {
  key: string;
  title: string;
  path: string;
  headers: Record<string, string>;
  /** Body of the n-th request (every request gets different ids). */
  body: (n: number) => string;
  /** Is this response body a correct answer? */
  ok: (body: string) => boolean;
}

function workloads(ids: string[]) {
  const id = (n: number) => ids[n % ids.length] as string;
  const slice = (n: number, size: number) => Array.from({ length: size }, (_, i) => id(n * size + i));
  const graphql = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
  const noErrors = (body: string) => body.startsWith('{"data":{') && !body.includes('"errors":[');
  // Parsing every large answer would load the generator's CPU (shared with the layer on this
  // machine); every 16th is parsed and checked in full, the rest must at least have no errors.
  let checked = 0;
  const allFound = (pick: (data: Record<string, unknown>) => unknown[] | undefined, size: number) => (body: string) => {
    if (!noErrors(body)) return false;
    if (checked++ % 16 !== 0) return true;
    const list = pick((JSON.parse(body) as { data: Record<string, unknown> }).data);
    return Array.isArray(list) && list.length === size && list.every((c) => c !== null && typeof c === 'object');
  };
  const a: Workload = {
    key: 'A',
    title: 'contact(id)',
    path: '/graphql',
    headers: graphql,
    body: (n) => JSON.stringify({ query: QUERY_A, variables: { id: id(n) } }),
    ok: (body) => noErrors(body) && body.includes('"firstName"'),
  };
  return {
    A: a,
    // A's query and server, answered from the layer's own contact cache: the GraphQL cost of A
    // without the telli hop (the sandbox's counter must show 0 calls).
    F: {
      ...a,
      key: 'F',
      title: 'contact(id), cache hot (A without the hop)',
      body: (n: number) => JSON.stringify({ query: QUERY_A, variables: { id: ids[n % HOT_IDS] } }),
    },
    G: {
      key: 'G',
      title: `${ALIASES} aliased contact(id)`,
      path: '/graphql',
      headers: graphql,
      body: (n: number) =>
        JSON.stringify({
          query: QUERY_G,
          variables: Object.fromEntries(slice(n, ALIASES).map((cid, i) => [`i${i}`, cid])),
        }),
      ok: allFound((data) => Object.values(data), ALIASES),
    },
    B: {
      key: 'B',
      title: 'contacts(ids) × 50',
      path: '/graphql',
      headers: graphql,
      body: (n: number) => JSON.stringify({ query: QUERY_B, variables: { ids: slice(n, 50) } }),
      ok: allFound((data) => data['contacts'] as unknown[], 50),
    },
    C: {
      key: 'C',
      title: '_entities × 100',
      path: '/graphql',
      headers: graphql,
      body: (n: number) =>
        JSON.stringify({
          query: QUERY_C,
          variables: { representations: slice(n, 100).map((cid) => ({ __typename: 'Contact', id: cid })) },
        }),
      ok: allFound((data) => data['_entities'] as unknown[], 100),
    },
    D: {
      key: 'D',
      title: '{ __typename } (no I/O, ceiling)',
      path: '/graphql',
      headers: graphql,
      body: () => JSON.stringify({ query: QUERY_D }),
      ok: (body: string) => body === '{"data":{"__typename":"Query"}}',
    },
    E: {
      key: 'E',
      title: 'REST direct to sandbox (floor)',
      path: '/v1/get-contacts-batch',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
      body: (n: number) => JSON.stringify({ contact_ids: [id(n)] }),
      ok: (body: string) => body.startsWith('[{"status":"success"'),
    },
  } satisfies Record<string, Workload>;
}

// ---------------------------------------------------------------------------------------------
// Measuring

/** Where a scenario's requests go, and which processes' CPU and memory belong to it. */
interface Target {
  url: string;
  /** The layer (or floor) process measured; none for E (the sandbox alone). */
  layer: MeasuredProcess | undefined;
  sandbox: SandboxProcess;
}

interface Scenario {
  /** e.g. `A`, `A1`, `R` */
  key: string;
  title: string;
  /** Build label (or floor label), `—` for E. */
  build: string;
  workload: Workload;
  target: Target;
  connections: number;
  /** `sequential`: one request after the other, timed to the microsecond (A at 1 connection). */
  mode: 'load' | 'sequential';
  /** Which of the two interleaved phases: 'local' (main sandbox) or 'remote'. */
  phase: 'local' | 'remote';
}

interface LoadResult {
  requests: number;
  sent: number;
  durationS: number;
  p50Ms: number;
  p99Ms: number;
  bad: number;
  badSample: string | undefined;
  errors: number;
  next: number;
}

interface LoadOptions {
  url: string;
  workload: Workload;
  connections: number;
  durationS?: number;
  amount?: number;
  /** First request number (so consecutive runs keep asking for new ids). */
  offset: number;
}

async function load({ url, workload, connections, durationS, amount, offset }: LoadOptions): Promise<LoadResult> {
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
        path: workload.path,
        headers: workload.headers,
        setupRequest: (request) => ({ ...request, body: workload.body(n++) }),
        onResponse: (status, body) => {
          if (status !== 200 || !workload.ok(body)) {
            bad++;
            badSample ??= `${status} ${body.slice(0, 300)}`;
          }
        },
      },
    ],
  });
  return {
    requests: result.requests.total,
    sent: result.requests.sent,
    durationS: (result.duration as number) || (durationS ?? 0),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    bad,
    badSample,
    errors: result.errors + result.timeouts,
    next: n,
  };
}

/** One request at a time over one keep-alive connection, each timed with `performance.now()`. */
async function sequential({ url, workload, durationS, offset }: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(url, { connections: 1, pipelining: 1 });
  const latencies: number[] = [];
  let n = offset;
  let bad = 0;
  let badSample: string | undefined;
  const started = performance.now();
  const end = started + (durationS ?? 10) * 1000;
  try {
    while (performance.now() < end) {
      const t0 = performance.now();
      const res = await pool.request({
        method: 'POST',
        path: workload.path,
        headers: workload.headers,
        body: workload.body(n++),
      });
      const text = await res.body.text();
      latencies.push(performance.now() - t0);
      if (res.statusCode !== 200 || !workload.ok(text)) {
        bad++;
        badSample ??= `${res.statusCode} ${text.slice(0, 300)}`;
      }
    }
  } finally {
    await pool.close();
  }
  latencies.sort((x, y) => x - y);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    requests: latencies.length,
    sent: latencies.length,
    durationS: (performance.now() - started) / 1000,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    bad,
    badSample,
    errors: 0,
    next: n,
  };
}

async function controlJson<T>(sandbox: SandboxProcess, path: string, method = 'GET'): Promise<T> {
  const res = await fetch(`${sandbox.control}${path}`, { method });
  return (method === 'GET' ? await res.json() : undefined) as T;
}

/** One round of one scenario. */
interface Measurement {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  upstreamCalls: number;
  upstreamIds: number;
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

interface Row {
  scenario: string;
  title: string;
  build: string;
  connections: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  upstreamCallsPerOp: number | null;
  /** Contact ids per telli call (the sandbox's own count). */
  idsPerCall: number | null;
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
  /** Layer CPU µs/op and req/s of each round, in round order (pairs with other rows' rounds). */
  roundsCpuUsPerOp: number[];
  roundsRequestsPerSecond: number[];
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
  const layer = scenario.target.layer !== undefined;
  return {
    scenario: scenario.key,
    title: scenario.title,
    build: scenario.build,
    connections: scenario.connections,
    requestsPerSecond: median(rounds.map((m) => m.requestsPerSecond)),
    p50Ms: median(rounds.map((m) => m.p50Ms)),
    p99Ms: median(rounds.map((m) => m.p99Ms)),
    upstreamCallsPerOp: layer ? sum((m) => m.upstreamCalls) / sum((m) => m.sent) : null,
    // Only where the scenario itself calls telli: a few requests of the previous scenario, cut off
    // at its end, may still arrive after the counters were reset.
    idsPerCall:
      layer && sum((m) => m.upstreamCalls) > 0.01 * sum((m) => m.sent)
        ? sum((m) => m.upstreamIds) / sum((m) => m.upstreamCalls)
        : null,
    peakRssMb: layer ? Math.max(...rounds.map((m) => m.peakRssMb)) : null,
    layerCpuUsPerOp: layer ? median(rounds.map((m) => m.layerCpuUsPerOp)) : null,
    layerSystemCpuUsPerOp: layer ? median(rounds.map((m) => m.layerSystemCpuUsPerOp)) : null,
    layerCpuPercent: median(rounds.map((m) => m.layerCpuPercent)),
    sandboxCpuPercent: median(rounds.map((m) => m.sandboxCpuPercent)),
    requests: sum((m) => m.requests),
    badResponses: sum((m) => m.bad),
    errors: sum((m) => m.errors),
    roundsCpuUsPerOp: rounds.map((m) => m.layerCpuUsPerOp),
    roundsRequestsPerSecond: rounds.map((m) => m.requestsPerSecond),
  };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const began = performance.now();
  const wants = (key: string) => options.only.has(key);
  const current: Build = {
    label: 'this build',
    commit: gitDescribe(),
    dir: ROOT,
    entry: options.entry,
    nodeArgs: npmStartNodeArgs(ROOT),
  };
  const baseline = options.baselineRef ? await prepareBaseline(options.baselineRef) : undefined;
  const builds = baseline ? [current, baseline] : [current];

  const sandbox = await startSandboxProcess(options.latencyMs);
  const remoteSandbox = wants('R') || wants('S') ? await startSandboxProcess(options.remoteLatencyMs) : undefined;
  const ids = await controlJson<string[]>(sandbox, '/ids');
  const work = workloads(ids);

  // Start-up: three fresh processes per build, median reported.
  const startups = new Map<Build, number[]>();
  for (const build of builds) {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const layer = await startLayer(sandbox.url, build);
      times.push(layer.startupMs);
      await stopProcess(layer.child);
    }
    startups.set(
      build,
      times.sort((a, b) => a - b),
    );
  }

  const layers = new Map<Build, LayerProcess>();
  for (const build of builds) layers.set(build, await startLayer(sandbox.url, build));
  const remoteLayers = new Map<Build, LayerProcess>();
  if (remoteSandbox) for (const build of builds) remoteLayers.set(build, await startLayer(remoteSandbox.url, build));
  // Same build and flags, plus a contact cache that outlives the bench, warmed with every id F asks for.
  const cachedLayer = wants('F')
    ? await startLayer(sandbox.url, current, {
        TELLI_CACHE_TTL_MS: String(60 * 60_000),
        TELLI_CACHE_MAX_ENTRIES: String(HOT_IDS),
      })
    : undefined;

  const floors: { label: string; process: MeasuredProcess }[] = [];
  if (options.floors && FLOOR_SCENARIOS.some(wants)) {
    for (const floor of FLOORS)
      floors.push({ label: floor.label, process: await startFloor(sandbox, floor.kind, current.nodeArgs) });
  }

  // The scenarios, in the order each round runs them: a build's figure right beside its baseline's
  // and its floors'.
  const scenarios: Scenario[] = [];
  const perBuild = (key: string, workload: Workload, title: string, connections: number, mode: Scenario['mode']) => {
    if (!wants(key)) return;
    for (const build of builds) {
      const layer = layers.get(build) as LayerProcess;
      scenarios.push({
        key,
        title,
        build: build.label,
        workload,
        target: { url: layer.url, layer, sandbox },
        connections,
        mode,
        phase: 'local',
      });
    }
    if (mode !== 'load' || !(FLOOR_SCENARIOS as readonly string[]).includes(key)) return;
    for (const floor of floors) {
      scenarios.push({
        key,
        title,
        build: floor.label,
        workload,
        target: { url: floor.process.url, layer: floor.process, sandbox },
        connections,
        mode,
        phase: 'local',
      });
    }
  };
  perBuild('A', work.A, work.A.title, options.connections, 'load');
  perBuild('A1', work.A, `${work.A.title}, 1 connection`, 1, 'sequential');
  if (cachedLayer) {
    scenarios.push({
      key: 'F',
      title: work.F.title,
      build: current.label,
      workload: work.F,
      target: { url: cachedLayer.url, layer: cachedLayer, sandbox },
      connections: options.connections,
      mode: 'load',
      phase: 'local',
    });
  }
  perBuild('G', work.G, work.G.title, options.connections, 'load');
  perBuild('B', work.B, work.B.title, options.connections, 'load');
  perBuild('C', work.C, work.C.title, options.connections, 'load');
  perBuild('D', work.D, work.D.title, options.connections, 'load');
  if (wants('E')) {
    scenarios.push({
      key: 'E',
      title: work.E.title,
      build: '—',
      workload: work.E,
      target: { url: sandbox.url, layer: undefined, sandbox },
      connections: options.connections,
      mode: 'load',
      phase: 'local',
    });
  }
  if (remoteSandbox && wants('R')) {
    for (const build of builds) {
      const layer = remoteLayers.get(build) as LayerProcess;
      scenarios.push({
        key: 'R',
        title: `${work.A.title}, telli +${options.remoteLatencyMs} ms`,
        build: build.label,
        workload: work.A,
        target: { url: layer.url, layer, sandbox: remoteSandbox },
        connections: options.remoteConnections,
        mode: 'load',
        phase: 'remote',
      });
    }
  }

  let offset = 0;
  const run = (scenario: Scenario, durationS: number) => {
    const runner = scenario.mode === 'sequential' ? sequential : load;
    return runner({
      url: scenario.target.url,
      workload: scenario.workload,
      connections: scenario.connections,
      durationS,
      offset,
    });
  };

  // Warm-up (JIT, sockets, parser cache), not measured.
  if (cachedLayer) {
    // Every hot id once (so F never calls telli), then the usual warm-up.
    await load({
      url: cachedLayer.url,
      workload: work.F,
      connections: options.connections,
      amount: HOT_IDS,
      offset: 0,
    });
  }
  for (const scenario of scenarios.filter((s) => s.target.layer)) offset = (await run(scenario, options.warmupS)).next;

  /*
   * Rounds: every scenario runs `rounds` times for durationS / rounds, in turn (A A' A1 A1' F G G' …,
   * then A' A A1' A1 F G' G …), where ' is the baseline build. Other jobs on a shared machine come and go within seconds;
   * interleaving spreads that noise over all scenarios instead of letting it land on one, so
   * ratios such as A / D, or this build / the baseline, compare like with like. A row shows the
   * median round (req/s, latency, CPU per request) and the whole-scenario upstream calls per
   * operation and peak RSS.
   */
  const roundS = Math.max(1, Math.round(options.durationS / options.rounds));
  const measurements = new Map<Scenario, Measurement[]>();
  for (let round = 0; round < options.rounds; round++) {
    // Every other round runs a scenario's builds in the opposite order, so that neither build is
    // always the one measured right after a different scenario (or a burst of other work).
    for (const scenario of round % 2 === 0 ? scenarios : swapPairs(scenarios)) {
      const list = measurements.get(scenario) ?? [];
      list.push(await measure(scenario, roundS));
      measurements.set(scenario, list);
    }
  }
  const rows: Row[] = scenarios.map((scenario) => summarize(scenario, measurements.get(scenario) ?? []));

  /*
   * S, the sweep behind the chart: A at each connection count, against the local sandbox and the
   * remote one, each build right after the other at every point. One round per point: the chart
   * shows shapes (how throughput and telli calls per operation move with concurrency), which a
   * busy second on a shared machine bends but does not reverse.
   */
  const sweep: SweepSeries[] = [];
  if (wants('S')) {
    const phases = [
      { latencyMs: options.latencyMs, sandbox, layers },
      ...(remoteSandbox ? [{ latencyMs: options.remoteLatencyMs, sandbox: remoteSandbox, layers: remoteLayers }] : []),
    ];
    for (const phase of phases) {
      const series = builds.map((build) => ({
        label: `${build === current ? 'this build' : build.label}, telli +${phase.latencyMs} ms`,
        latencyMs: phase.latencyMs,
        baseline: build !== current,
        points: [] as SweepPoint[],
      }));
      for (const connections of options.sweepConnections) {
        for (const [i, build] of builds.entries()) {
          const layer = phase.layers.get(build) as LayerProcess;
          const scenario: Scenario = {
            key: 'S',
            title: `${work.A.title} at ${connections} connections, telli +${phase.latencyMs} ms`,
            build: build.label,
            workload: work.A,
            target: { url: layer.url, layer, sandbox: phase.sandbox },
            connections,
            mode: 'load',
            phase: phase.sandbox === sandbox ? 'local' : 'remote',
          };
          const m = await measure(scenario, options.sweepDurationS);
          (series[i] as SweepSeries).points.push({
            connections,
            requestsPerSecond: m.requestsPerSecond,
            upstreamCallsPerOp: m.sent > 0 ? m.upstreamCalls / m.sent : NaN,
          });
        }
      }
      sweep.push(...series);
    }
  }

  async function measure(scenario: Scenario, durationS: number): Promise<Measurement> {
    const { sandbox: upstream, layer } = scenario.target;
    await controlJson(upstream, '/reset', 'POST');
    const measuredPid = layer?.pid;
    const sampler = measuredPid === undefined ? undefined : rssSampler(measuredPid);
    const sandboxPid = upstream.child.pid as number;
    const zero = { user: 0, system: 0 };
    const layerCpu0 = measuredPid === undefined ? zero : await cpuSplitMs(measuredPid);
    const [sandboxCpu0, wall0] = [await cpuMs(sandboxPid), performance.now()];
    const result = await run(scenario, durationS);
    offset = result.next;
    for (const process of [layer?.child, upstream.child]) {
      if (process && (process.exitCode !== null || process.signalCode !== null)) {
        throw new Error(
          `${process === upstream.child ? 'the sandbox' : `the layer (${scenario.build})`} exited ` +
            `(${process.signalCode ?? `code ${process.exitCode}`}) during ${scenario.key}`,
        );
      }
    }
    const wallMs = performance.now() - wall0;
    const layerCpuNow = measuredPid === undefined ? zero : await cpuSplitMs(measuredPid);
    const layerSystemCpu = layerCpuNow.system - layerCpu0.system;
    const layerCpu = layerCpuNow.user - layerCpu0.user + layerSystemCpu;
    const sandboxCpu = (await cpuMs(sandboxPid)) - sandboxCpu0;
    const peakRssMb = (await sampler?.stop()) ?? 0;
    await sleep(200); // let requests cut off at the end reach the sandbox before counting
    const stats = await controlJson<{ totalCalls: number; batchIds: number }>(upstream, '/stats');
    if (result.badSample)
      out(`  ! ${scenario.key} (${scenario.build}): ${result.bad} bad responses, e.g. ${result.badSample}`);
    return {
      requestsPerSecond: result.requests / (result.durationS || durationS),
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      upstreamCalls: stats.totalCalls,
      upstreamIds: stats.batchIds,
      sent: result.sent,
      peakRssMb,
      layerCpuUsPerOp: (layerCpu * 1000) / result.requests,
      layerSystemCpuUsPerOp: (layerSystemCpu * 1000) / result.requests,
      layerCpuPercent: (layerCpu / wallMs) * 100,
      sandboxCpuPercent: (sandboxCpu / wallMs) * 100,
      requests: result.requests,
      bad: result.bad,
      errors: result.errors,
    };
  }

  // The mixed load's peak, per build: the largest resident set sampled while its local layer
  // answered A, A1, G, B, C and D, and the kernel's high-water mark of that process so far.
  const mixedPeak = new Map<Build, { peakRssMb: number; vmHwmMb: number }>();
  for (const build of builds) {
    const peaks = rows.filter((r) => r.build === build.label && r.scenario !== 'F' && r.scenario !== 'R');
    mixedPeak.set(build, {
      peakRssMb: Math.max(0, ...peaks.map((r) => r.peakRssMb ?? 0)),
      vmHwmMb: await procStatusMb((layers.get(build) as LayerProcess).pid, 'VmHWM'),
    });
  }
  if (cachedLayer) await stopProcess(cachedLayer.child);
  for (const floor of floors) await stopProcess(floor.process.child);
  for (const layer of remoteLayers.values()) await stopProcess(layer.child);

  // Memory: two consecutive runs of A with a fixed request count, on this build's layer.
  const memoryRuns: { requests: number; peakRssMb: number; rssAfterMb: number; seconds: number }[] = [];
  const primary = layers.get(current) as LayerProcess;
  for (let i = 0; i < 2 && options.rssRequests > 0; i++) {
    const sampler = rssSampler(primary.pid);
    const t0 = performance.now();
    const result = await load({
      url: primary.url,
      workload: work.A,
      connections: options.connections,
      amount: options.rssRequests,
      offset,
    });
    offset = result.next;
    const peak = await sampler.stop();
    await sleep(1000);
    memoryRuns.push({
      requests: result.requests,
      peakRssMb: peak,
      rssAfterMb: await procStatusMb(primary.pid, 'VmRSS'),
      seconds: (performance.now() - t0) / 1000,
    });
  }
  const hwmMb = await procStatusMb(primary.pid, 'VmHWM');
  const scaleOutRows = wants('X') ? await scaleOut(current, ids, options) : [];

  for (const layer of layers.values()) await stopProcess(layer.child);
  await stopProcess(sandbox.child);
  if (remoteSandbox) await stopProcess(remoteSandbox.child);

  const machine = {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform}-${process.arch}`,
  };
  const row = (key: string, build: Build) => rows.find((r) => r.scenario === key && r.build === build.label);
  const comparisons = report(builds, row, mixedPeak);
  const floorLines = floorReport(rows);
  const result = {
    date: new Date().toISOString(),
    commit: current.commit,
    baseline: baseline && { ref: options.baselineRef, commit: baseline.commit },
    machine,
    options: { ...options, only: [...options.only] },
    nodeArgs: Object.fromEntries(builds.map((b) => [b.label, b.nodeArgs])),
    startupMs: Object.fromEntries(builds.map((b) => [b.label, startups.get(b)])),
    scenarios: rows,
    comparisons,
    floors: floorLines,
    mixedLoadPeak: Object.fromEntries(builds.map((b) => [b.label, mixedPeak.get(b)])),
    memoryRuns,
    // What the chart is drawn from (`tsx test/bench/chart.ts` draws it again from this file).
    sweepChart: sweep.length > 0 && {
      series: sweep,
      caption:
        `npm run bench at ${current.commit}, ${new Date().toISOString().slice(0, 10)}: ${cpus().length} × ` +
        `${(cpus()[0]?.model ?? 'unknown').trim()}, Node ${process.version}; ${options.sweepDurationS} s per point`,
    },
    layerVmHwmMb: hwmMb,
    scaleOut: scaleOutRows,
    totalSeconds: (performance.now() - began) / 1000,
  };

  const fmt = (v: number | null | undefined, digits = 0) =>
    v === null || v === undefined || Number.isNaN(v) ? '—' : v.toFixed(digits);
  out();
  out(
    `telli-graphql bench — ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, Node ${machine.node}; ` +
      `${options.durationS} s per scenario in ${options.rounds} interleaved rounds (median round shown); ` +
      `sandbox latency ${options.latencyMs} ms (R: ${options.remoteLatencyMs} ms); ` +
      `this build: ${options.entry} at ${current.commit}${baseline ? `; baseline: ${options.baselineRef} = ${baseline.commit}` : ''}; ` +
      `node ${current.nodeArgs.join(' ')}`,
  );
  out();
  out(
    '| scenario | build | conns | req/s | p50 ms | p99 ms | telli calls/op | ids/call | layer peak RSS MB | layer CPU µs/op | of which system | layer CPU % | sandbox CPU % | bad |',
  );
  out('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const latencyDigits = r.scenario === 'A1' ? 2 : 1;
    out(
      `| ${r.scenario} ${r.title} | ${r.build} | ${r.connections} | ${fmt(r.requestsPerSecond)} | ${fmt(r.p50Ms, latencyDigits)} | ` +
        `${fmt(r.p99Ms, latencyDigits)} | ${fmt(r.upstreamCallsPerOp, 3)} | ${fmt(r.idsPerCall, 1)} | ${fmt(r.peakRssMb, 1)} | ` +
        `${fmt(r.layerCpuUsPerOp)} | ${fmt(r.layerSystemCpuUsPerOp)} | ${fmt(r.layerCpuPercent)} | ${fmt(r.sandboxCpuPercent)} | ` +
        `${r.badResponses + r.errors} |`,
    );
  }
  out();
  if (scaleOutRows.length > 0) {
    out(
      `X scale-out: three layer processes against a telli ${options.remoteLatencyMs} ms away, ` +
        `${options.remoteConnections} connections in all, contact(id) over ${SCALE_OUT_HOT_IDS} contacts; ${options.durationS} s each`,
    );
    out();
    out(
      '| configuration | req/s | p50 ms | p99 ms | telli calls/op | telli calls/s | refused (TELLI_BUDGET_EXHAUSTED) | bad |',
    );
    out('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of scaleOutRows) {
      out(
        `| ${r.configuration} | ${fmt(r.requestsPerSecond)} | ${fmt(r.p50Ms, 1)} | ${fmt(r.p99Ms, 1)} | ` +
          `${fmt(r.telliCallsPerOp, 3)} | ${fmt(r.telliCallsPerSecond)} | ${r.refused} | ${r.bad} |`,
      );
    }
    out();
  }
  for (const line of comparisons.lines) out(line);
  if (floorLines.length > 0) {
    out();
    for (const line of floorLines) out(line);
    out();
  }
  if (memoryRuns.length === 2) {
    const [run1, run2] = memoryRuns as [(typeof memoryRuns)[0], (typeof memoryRuns)[0]];
    out(
      `Memory (this build), ${options.rssRequests} requests of A, twice: peak RSS ${run1.peakRssMb.toFixed(1)} MB then ` +
        `${run2.peakRssMb.toFixed(1)} MB (${((run2.peakRssMb / run1.peakRssMb - 1) * 100).toFixed(1)} %), after ` +
        `${run1.rssAfterMb.toFixed(1)} / ${run2.rssAfterMb.toFixed(1)} MB; VmHWM ${hwmMb.toFixed(1)} MB`,
    );
  }
  for (const build of builds) {
    const times = startups.get(build) ?? [];
    out(
      `Start to /health 200 (${build.label}): ${times.map((s) => s.toFixed(0)).join(', ')} ms (median ${times[1]?.toFixed(0)})`,
    );
  }
  out(`Total bench time: ${result.totalSeconds.toFixed(0)} s`);

  const dir = join(ROOT, 'bench-results');
  await mkdir(dir, { recursive: true });
  const json = `${JSON.stringify(result, null, 2)}\n`;
  const stamp = result.date.replace(/[:.]/g, '-');
  await writeFile(join(dir, `bench-${stamp}.json`), json);
  await writeFile(join(dir, 'latest.json'), json);
  out(`Wrote bench-results/bench-${stamp}.json`);
  if (result.sweepChart) {
    const svg = sweepChart(result.sweepChart.series, result.sweepChart.caption);
    await writeFile(join(dir, 'sweep.svg'), svg);
    await writeFile(join(ROOT, options.chart), svg);
    out(`Wrote ${options.chart} (and bench-results/sweep.svg)`);
    out();
    out('Sweep (A): connections → req/s, telli calls/op');
    for (const series of sweep) {
      out(
        `- ${series.label}: ` +
          series.points
            .map((p) => `${p.connections} → ${p.requestsPerSecond.toFixed(0)}, ${p.upstreamCallsPerOp.toFixed(3)}`)
            .join('; '),
      );
    }
  }
}

/** X asks for these many contacts, over and over: what a cache can serve. */
const SCALE_OUT_HOT_IDS = 1_000;

interface ScaleOutRow {
  configuration: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  telliCallsPerOp: number;
  telliCallsPerSecond: number;
  /** Answers whose errors are all TELLI_BUDGET_EXHAUSTED (counted apart from `bad`). */
  refused: number;
  bad: number;
}

/**
 * X: three replicas of this build against a telli `--remote-latency` away, load spread evenly
 * over them (one autocannon per replica, a third of `--remote-connections` each), in three
 * configurations side by side: each process on its own; one contact cache in Redis; that and one
 * telli budget. telli's own counters give the calls.
 */
async function scaleOut(build: Build, ids: string[], options: ReturnType<typeof parseArgs>): Promise<ScaleOutRow[]> {
  const redis = await startRedis();
  const telli = await startSandboxProcess(options.remoteLatencyMs);
  const hot = workloads(ids.slice(0, SCALE_OUT_HOT_IDS)).A;
  const budgetCode = '"TELLI_BUDGET_EXHAUSTED"';
  let refused = 0;
  const workload: Workload = {
    ...hot,
    ok: (body) => {
      if (body.includes(budgetCode) && !body.replaceAll(budgetCode, '').includes('"code":')) refused++;
      return hot.ok(body);
    },
  };
  const redisUrl = { REDIS_URL: redis.url };
  const budget = { TELLI_RATE_LIMIT_PER_SECOND: String(options.scaleOutBudget) };
  const cache = { TELLI_CACHE_TTL_MS: '60000' };
  const configurations = [
    { configuration: 'per process (no REDIS_URL)', env: {} },
    {
      configuration: `REDIS_URL, TELLI_RATE_LIMIT_PER_SECOND=${options.scaleOutBudget}`,
      env: { ...redisUrl, ...budget },
    },
    { configuration: 'REDIS_URL, cache in Redis (TELLI_CACHE_TTL_MS=60000)', env: { ...redisUrl, ...cache } },
    { configuration: 'REDIS_URL, both', env: { ...redisUrl, ...budget, ...cache } },
  ].map((c, i) => ({ ...c, env: { ...c.env, REDIS_PREFIX: `bench-${process.pid}-${i}:` } }));
  const rows: ScaleOutRow[] = [];
  try {
    for (const { configuration, env } of configurations) {
      const replicas = await Promise.all([0, 1, 2].map(() => startLayer(telli.url, build, env)));
      await controlJson(telli, '/reset', 'POST');
      refused = 0;
      const connections = Math.max(1, Math.round(options.remoteConnections / 3));
      const results = await Promise.all(
        replicas.map((replica, i) =>
          load({ url: replica.url, workload, connections, durationS: options.durationS, offset: i * 333 }),
        ),
      );
      const stats = await controlJson<{ totalCalls: number }>(telli, '/stats');
      const requests = results.reduce((sum, r) => sum + r.requests, 0);
      const seconds = Math.max(...results.map((r) => r.durationS));
      rows.push({
        configuration,
        requestsPerSecond: requests / seconds,
        // The replicas' latencies are alike: the median of their medians, the worst of their p99s.
        p50Ms: median(results.map((r) => r.p50Ms)),
        p99Ms: Math.max(...results.map((r) => r.p99Ms)),
        telliCallsPerOp: stats.totalCalls / Math.max(1, requests),
        telliCallsPerSecond: stats.totalCalls / seconds,
        refused,
        bad: results.reduce((sum, r) => sum + r.bad + r.errors, 0) - refused,
      });
      for (const replica of replicas) await stopProcess(replica.child);
    }
  } finally {
    await stopProcess(telli.child);
    await redis.stop();
  }
  return rows;
}

/** The scenarios in the same order, but each run of same-key scenarios (one per build) reversed. */
function swapPairs(scenarios: Scenario[]): Scenario[] {
  const out: Scenario[] = [];
  for (let i = 0; i < scenarios.length;) {
    let j = i;
    while (j < scenarios.length && scenarios[j]?.key === scenarios[i]?.key) j++;
    out.push(...scenarios.slice(i, j).reverse());
    i = j;
  }
  return out;
}

/**
 * The layer against its floors (issue 26's targets), by layer CPU per operation: the median round
 * and, since the rounds are interleaved, the ratio of each round's pair — median [min–max] — so
 * that the spread shows what the machine's noise did to it. Per contact in a list of n is
 * (list − contact(id)) / (n − 1): what one more contact costs, the operation's fixed cost aside.
 */
function floorReport(rows: Row[]): string[] {
  const find = (key: string, build: string) => rows.find((r) => r.scenario === key && r.build === build);
  const layer = 'this build';
  const [batch, memory] = [FLOORS[0].label, FLOORS[1].label];
  if (!find('A', batch) && !find('D', memory)) return [];
  const f = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : '—');
  const spread = (values: number[]) => {
    const finite = values.filter(Number.isFinite);
    if (finite.length === 0) return '—';
    return `${f(median(finite))} [${f(Math.min(...finite))}–${f(Math.max(...finite))}]`;
  };
  const perRound = (key: string, build: string, pick: (r: Row) => number[]) => {
    const r = find(key, build);
    return r ? pick(r) : [];
  };
  const cpu = (key: string, build: string) => perRound(key, build, (r) => r.roundsCpuUsPerOp);
  const zip = (a: number[], b: number[], op: (x: number, y: number) => number) =>
    a.slice(0, Math.min(a.length, b.length)).map((x, i) => op(x, b[i] as number));
  const perContact = (key: string, n: number, build: string) =>
    zip(cpu(key, build), cpu('A', build), (list, one) => (list - one) / (n - 1));
  const lines = [
    'The layer beside its floors (layer CPU µs per operation, median round; ratios are per round, median [min–max]):',
  ];
  for (const [key, n, name] of [
    ['B', 50, 'contacts(ids) × 50'],
    ['C', 100, '_entities × 100'],
  ] as const) {
    const [mine, floor, map] = [perContact(key, n, layer), perContact(key, n, batch), perContact(key, n, memory)];
    if (mine.length === 0 || floor.length === 0) continue;
    lines.push(
      `- per contact in ${name}: this build ${f(median(mine), 1)} µs, Yoga + 1 batch call ${f(median(floor), 1)}, ` +
        `Yoga + Map ${f(median(map), 1)}; this build / batch floor ${spread(zip(mine, floor, (x, y) => x / y))} (target ≤ 1.25)`,
    );
  }
  const a = [cpu('A', layer), cpu('A', batch)] as const;
  if (a[0].length && a[1].length) {
    lines.push(
      `- contact(id): this build ${f(median(a[0]), 0)} µs, Yoga + 1 batch call ${f(median(a[1]), 0)}; ` +
        `this build / batch floor ${spread(zip(a[0], a[1], (x, y) => x / y))} (target ≤ 1.15)`,
    );
  }
  const d = [cpu('D', layer), cpu('D', memory), cpu('D', FLOORS[2].label)] as const;
  if (d[0].length && d[1].length) {
    lines.push(
      `- { __typename }: this build ${f(median(d[0]), 0)} µs, Yoga + Map ${f(median(d[1]), 0)}, node:http ${f(median(d[2]), 0)}; ` +
        `this build / Yoga's floor ${spread(zip(d[0], d[1], (x, y) => x / y))} (target ≤ 1, at Yoga's floor)`,
    );
  }
  const rps = (key: string, build: string) => perRound(key, build, (r) => r.roundsRequestsPerSecond);
  const aOverD = (build: string) => zip(rps('A', build), rps('D', build), (x, y) => x / y);
  if (rps('A', layer).length && rps('D', layer).length) {
    lines.push(
      `- contact(id) / { __typename } by req/s: this build ${spread(aOverD(layer))}, Yoga + Map ${spread(aOverD(memory))}, ` +
        `Yoga + 1 batch call ${spread(aOverD(batch))} (target ≥ 0.75 for this build)`,
    );
  }
  return lines;
}

/** The ratios and side-by-side pairs printed under the table (and kept in the JSON). */
function report(
  builds: Build[],
  row: (key: string, build: Build) => Row | undefined,
  mixedPeak: Map<Build, { peakRssMb: number; vmHwmMb: number }>,
) {
  const lines: string[] = [];
  const figures: Record<string, Record<string, number>> = {};
  const ratio = (a: number | null | undefined, b: number | null | undefined) =>
    a === null || a === undefined || b === null || b === undefined ? NaN : a / b;
  const f = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : '—');
  for (const build of builds) {
    const [a, d, fRow] = [row('A', build), row('D', build), row('F', build)];
    const aOverD = ratio(a?.requestsPerSecond, d?.requestsPerSecond);
    const aOverDCpu = ratio(d?.layerCpuUsPerOp, a?.layerCpuUsPerOp);
    figures[build.label] = { aOverD, aOverDByLayerCpu: aOverDCpu };
    lines.push(
      `${build.label}: A / D throughput ${f(aOverD)}, by layer CPU per op ${f(aOverDCpu)}; ` +
        `A p99 / p50 ${f(ratio(a?.p99Ms, a?.p50Ms))}` +
        (fRow
          ? `; A / D = (F / D) × (A / F): ${f(ratio(fRow.requestsPerSecond, d?.requestsPerSecond))} × ` +
            `${f(ratio(a?.requestsPerSecond, fRow.requestsPerSecond))} (F / D: A's selection over D's, no I/O; A / F: the telli hop)`
          : ''),
    );
  }
  const [current, baseline] = builds as [Build, Build | undefined];
  if (baseline) {
    lines.push('');
    lines.push(
      `This build beside ${baseline.label} (same run, interleaved rounds; ratio = this build / ${baseline.label}):`,
    );
    for (const key of ['A', 'G', 'B', 'C', 'D', 'R']) {
      const [now, then] = [row(key, current), row(key, baseline)];
      if (!now || !then) continue;
      const throughput = ratio(now.requestsPerSecond, then.requestsPerSecond);
      const cpu = ratio(now.layerCpuUsPerOp, then.layerCpuUsPerOp);
      figures[`${key}`] = { throughput, cpuPerOp: cpu, p99Now: now.p99Ms, p99Then: then.p99Ms };
      lines.push(
        `- ${key} ${now.title} (${now.connections} conns): req/s ${f(throughput)}×, CPU µs/op ${f(cpu)}×, ` +
          `p50 ${f(now.p50Ms, 1)} vs ${f(then.p50Ms, 1)} ms, p99 ${f(now.p99Ms, 1)} vs ${f(then.p99Ms, 1)} ms, ` +
          `telli calls/op ${f(now.upstreamCallsPerOp ?? NaN, 3)} vs ${f(then.upstreamCallsPerOp ?? NaN, 3)}`,
      );
    }
    const [now1, then1] = [row('A1', current), row('A1', baseline)];
    if (now1 && then1) {
      figures['A1'] = { p50Now: now1.p50Ms, p50Then: then1.p50Ms, p99Now: now1.p99Ms, p99Then: then1.p99Ms };
      lines.push(
        `- A1 at 1 connection: p50 ${f(now1.p50Ms, 3)} vs ${f(then1.p50Ms, 3)} ms (${now1.p50Ms >= then1.p50Ms ? '+' : ''}` +
          `${f(now1.p50Ms - then1.p50Ms, 3)} ms), p99 ${f(now1.p99Ms, 3)} vs ${f(then1.p99Ms, 3)} ms, CPU µs/op ` +
          `${f(now1.layerCpuUsPerOp ?? NaN, 0)} vs ${f(then1.layerCpuUsPerOp ?? NaN, 0)}`,
      );
    }
    const [peakNow, peakThen] = [mixedPeak.get(current), mixedPeak.get(baseline)];
    if (peakNow && peakThen) {
      lines.push(
        `- Peak RSS over the mixed load (A, A1, G, B, C, D; node ${current.nodeArgs.join(' ')} vs ${baseline.nodeArgs.join(' ')}): ` +
          `${f(peakNow.peakRssMb, 1)} vs ${f(peakThen.peakRssMb, 1)} MB; VmHWM ${f(peakNow.vmHwmMb, 1)} vs ${f(peakThen.vmHwmMb, 1)} MB`,
      );
    }
  }
  return { lines, figures };
}

main().catch((error: unknown) => {
  for (const child of children) child.kill('SIGKILL');
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
