import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Builds dist/ exactly as `npm start` does. */
export function buildServer(): void {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

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
 * Starts the built server (`node dist/server.js`) with exactly this env; `nodeArgs` (e.g.
 * `npmStartNodeArgs()`, what `npm start` adds) go before the script.
 */
export function startServerProcess(env: Record<string, string>, nodeArgs: readonly string[] = []): ServerProcess {
  const child = spawn(process.execPath, [...nodeArgs, 'dist/server.js'], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env },
  });
  let out = '';
  let err = '';
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    const complete = out.split('\n');
    lines.length = 0;
    for (const line of complete.slice(0, -1)) {
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
