import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. `dist/server.js` there is built once per test run (`test/support/build.ts`). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  /** Every JSON log line the process printed so far. */
  lines: Record<string, unknown>[];
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first log line matching. */
  waitForLine(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * The node flags `npm start` runs `dist/server.js` with, from `scripts.start` in `dir`'s
 * package.json (`[exec] node [flags] dist/server.js`).
 */
export function npmStartNodeArgs(dir = ROOT): string[] {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const [node, ...args] = (pkg.scripts['start'] ?? '')
    .trim()
    .replace(/^exec\s+/, '')
    .split(/\s+/);
  if (node !== 'node' || args.at(-1) !== 'dist/server.js') {
    throw new Error(`expected scripts.start in ${dir}/package.json to be \`[exec] node [flags] dist/server.js\``);
  }
  return args.slice(0, -1);
}

/**
 * Starts the built server (`node dist/server.js`; `nodeArgs`, e.g. `npmStartNodeArgs()`, go
 * before the script) with this env. Tests stop
 * it with SIGTERM, so the drain period is off unless a test asks for one; the sandbox's demo
 * autopilot (on by default, so that `npm start` shows live events) is off unless a test turns it
 * on: its calls would change demo contacts under other tests.
 */
export function startServerProcess(env: Record<string, string>, nodeArgs: readonly string[] = []): ServerProcess {
  const child = spawn(process.execPath, [...nodeArgs, 'dist/server.js'], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', SHUTDOWN_DRAIN_MS: '0', SANDBOX_AUTOPILOT_MS: '0', ...env },
  });
  let out = '';
  let err = '';
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  // Only the lines completed by each chunk are parsed: a process that logs thousands of lines
  // must not make this test process re-read all of its output on every chunk.
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    const complete = (partial + chunk).split('\n');
    partial = complete.pop() ?? '';
    for (const line of complete) {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ raw: line });
      }
    }
    for (const wake of waiters) wake();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForLine(predicate, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find(predicate);
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching log line within ${timeoutMs} ms; stdout:\n${out}\nstderr:\n${err}`));
        }, timeoutMs);
        waiters.add(check);
        void exited.then(() => {
          if (waiters.has(check)) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`server exited; stdout:\n${out}\nstderr:\n${err}`));
          }
        });
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface RunningProcess {
  server: ServerProcess;
  /** e.g. `http://127.0.0.1:43121` */
  url: string;
  graphqlUrl: string;
}

/** Starts the built server and waits for its start-up line (sandbox or telli mode). */
export async function startLayerProcess(env: Record<string, string>): Promise<RunningProcess> {
  const server = startServerProcess({ PORT: '0', LOG_LEVEL: 'info', ...env });
  const banner = await server
    .waitForLine((l) => typeof l['graphiql'] === 'string' || typeof l['graphql'] === 'string')
    .catch(async (error: unknown) => {
      await server.stop('SIGKILL'); // never leave a half-started server behind
      throw error;
    });
  const graphqlUrl = (banner['graphiql'] ?? banner['graphql']) as string;
  return { server, graphqlUrl, url: new URL(graphqlUrl).origin };
}

/** A GraphQL POST over a real socket: status, headers and the parsed body. */
export async function postGraphQL(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: GraphQLBody }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as GraphQLBody };
}

export interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

/**
 * Polls `url` from a process of its own — a fresh connection every 50 ms, as a load balancer's
 * probe does — so that what it measures is the server's latency, not this test process's own
 * event loop (which may be busy generating load). `stop` resolves with every probe's latency in
 * ms (Infinity for a failed probe). `headers` go with every probe (e.g. the CSRF header of a
 * GraphQL GET).
 */
export function startProbe(url: string, headers: Record<string, string> = {}): { stop(): Promise<number[]> } {
  const script = `
    const latencies = [];
    let running = true;
    process.stdin.on('data', () => { running = false; });
    while (running) {
      const t0 = performance.now();
      try {
        const res = await fetch(process.argv[1], { headers: { ...JSON.parse(process.argv[2]), connection: 'close' } });
        await res.arrayBuffer();
        latencies.push(res.ok ? performance.now() - t0 : null);
      } catch { latencies.push(null); }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    process.stdout.write(JSON.stringify(latencies));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, url, JSON.stringify(headers)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async stop() {
      child.stdin.end('stop');
      await exited;
      return (JSON.parse(out) as (number | null)[]).map((ms) => ms ?? Number.POSITIVE_INFINITY);
    },
  };
}
