import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from './net.js';

/**
 * A real `redis-server` (Debian's package; `.ci/run` installs it) on a free loopback port, with no
 * persistence, for the multi-instance tests. `stop` and `start` again on the same port play an
 * outage and its recovery.
 */
export interface RedisServer {
  port: number;
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** `args` go after the defaults, e.g. `['--enable-debug-command', 'local']` for `DEBUG SLEEP`. */
export async function startRedis(args: readonly string[] = []): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const redis: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const proc = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--loglevel',
          'warning',
          ...args,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child = proc;
      let output = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000);
        // Ready when it accepts a connection (it prints little at loglevel warning).
        const poll = setInterval(() => {
          const probe = connect(port, '127.0.0.1', () => {
            probe.end();
            clearInterval(poll);
            clearTimeout(timer);
            resolve();
          });
          probe.on('error', () => probe.destroy());
        }, 50);
        proc.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
        proc.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
        proc.once('exit', (code) => {
          clearInterval(poll);
          clearTimeout(timer);
          reject(new Error(`redis-server exited with ${code}:\n${output}`));
        });
      });
    },
    async stop() {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      await exited;
    },
  };
  await redis.start();
  return redis;
}
