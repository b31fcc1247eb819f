import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SandboxContact } from './data.js';
import { createSandboxCore, type SandboxCore } from './handler.js';

export interface StartSandboxOptions {
  /** Keys to accept; one random key is generated when omitted. */
  apiKeys?: readonly string[];
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Simulated telli latency added to every answer. */
  latencyMs?: number;
  contacts?: SandboxContact[];
}

export interface RunningSandbox extends SandboxCore {
  /** Base URL, e.g. `http://127.0.0.1:43121` — use as `TELLI_BASE_URL`. */
  url: string;
  /** The first accepted key. */
  apiKey: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 5 * 1024 * 1024;

/** Serves the telli emulator on loopback over real HTTP (keep-alive, like telli). */
export async function startSandbox(options: StartSandboxOptions = {}): Promise<RunningSandbox> {
  const apiKeys = options.apiKeys ?? [`sandbox_${randomBytes(12).toString('hex')}`];
  const core = createSandboxCore({ apiKeys, ...(options.contacts && { contacts: options.contacts }) });
  const latencyMs = options.latencyMs ?? 0;
  let open = 0;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    open++;
    core.stats.maxConcurrent = Math.max(core.stats.maxConcurrent, open);
    // Closed once answered (or on abort): the client may send its next request right after.
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      open--;
    };
    res.once('close', close);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413, { 'content-type': 'application/json' }).end('{"error":"Payload too large"}');
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      const requestId = req.headers['x-request-id'];
      const result = core.handle({
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        authorization: req.headers.authorization,
        body: Buffer.concat(chunks).toString('utf8'),
        ...(typeof requestId === 'string' && { requestId }),
      });
      const send = () => {
        close();
        const body = result.body === undefined ? '' : JSON.stringify(result.body);
        res.writeHead(result.status, { 'content-type': 'application/json', ...result.headers }).end(body);
      };
      if (latencyMs > 0) setTimeout(send, latencyMs);
      else send();
    });
  });
  server.keepAliveTimeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';

  return Object.assign(core, {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    apiKey: apiKeys[0] as string,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}
