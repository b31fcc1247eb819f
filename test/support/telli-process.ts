import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { createInterface } from 'node:readline';
import { ROOT } from './process.js';

/**
 * The telli sandbox in a process of its own (`telli-process-main.ts`), for tests where several
 * layer processes and the test's own load would otherwise share the sandbox's event loop — and
 * so its arrival times, which the budget tests measure. A control port serves its counters and
 * takes faults.
 */
export interface TelliProcess {
  /** Base URL: `TELLI_BASE_URL`. */
  url: string;
  /** Counters since the last `reset`. */
  stats(): Promise<TelliProcessStats>;
  reset(): Promise<void>;
  /** The next `times` requests are answered `status` with `headers` (e.g. 429, `Retry-After`). */
  fault(fault: { status: number; headers?: Record<string, string>; times: number }): Promise<void>;
  /** A contact as telli holds it now (default account), or null. */
  contact(id: string): Promise<{ firstName: string | null } | null>;
  stop(): Promise<void>;
}

export interface TelliProcessStats {
  /** Every request as it arrived, with the `Authorization` it carried (see `StartSandboxOptions.rateLimit`). */
  arrivals: { key: string; at: number; throttled: boolean }[];
  throttled: number;
  /** Routed calls by endpoint name. */
  calls: Record<string, number>;
  /** Routed calls by API key. */
  callsByKey: Record<string, number>;
  /** Writes telli carried out, in arrival order (endpoint and body). */
  writes: { endpoint: string; body: unknown }[];
}

export async function startTelliProcess(options: {
  apiKeys: readonly string[];
  /** Requests per key in any one second; more get 429 (the sandbox's opt-in limit). */
  rateLimitPerSecond?: number;
  latencyMs?: number;
}): Promise<TelliProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'test/support/telli-process-main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      TELLI_KEYS: options.apiKeys.join(','),
      TELLI_RATE_LIMIT: String(options.rateLimitPerSecond ?? 0),
      TELLI_LATENCY_MS: String(options.latencyMs ?? 0),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Its arrival times are the measurement: on a busy machine, a process the scheduler holds back
  // receives a few requests at once and stamps them together. A higher priority (root only)
  // keeps the instrument closer to true; without it the process runs as usual.
  if (child.pid !== undefined) {
    try {
      setPriority(child.pid, -10);
    } catch {
      // not root
    }
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  let ready: { url: string; control: string } | undefined;
  for await (const line of lines) {
    ready = JSON.parse(line) as { url: string; control: string };
    break;
  }
  lines.close();
  if (!ready) throw new Error('the telli process exited before it was ready');
  const { url, control } = ready;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${control}${path}`, {
      method,
      ...(body !== undefined && { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await res.text();
    return text ? (JSON.parse(text) as unknown) : undefined;
  };
  return {
    url,
    stats: async () => (await call('GET', '/stats')) as TelliProcessStats,
    reset: async () => void (await call('POST', '/reset')),
    fault: async (fault) => void (await call('POST', '/fault', fault)),
    contact: async (id) => (await call('GET', `/contacts/${id}`)) as { firstName: string | null } | null,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
