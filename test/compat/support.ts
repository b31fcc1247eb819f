/**
 * What the compatibility suite shares: the built server (`dist/server.js`, as `npm start` runs it)
 * in sandbox mode or in telli mode against a sandbox on loopback, and telli's webhooks delivered
 * to it, so that subscriptions get events when a test says so.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SAMPLE_CONTACT_ID, startSandbox, type RunningSandbox, type SandboxContact } from '../../src/sandbox/index.js';
import { startLayerProcess, type RunningProcess } from '../support/process.js';
import { deliverStatusChanged, testSecret } from '../support/sse.js';

export { SAMPLE_CONTACT_ID };

/** The subscription every transport test runs: one contact's status changes. */
export const STATUS_CHANGED = /* GraphQL */ `
  subscription StatusChanged($ids: [ID!]) {
    contactStatusChanged(contactIds: $ids) {
      contact {
        id
        firstName
      }
      webhookStatus
    }
  }
`;

export interface StatusChangedData {
  contactStatusChanged: { contact: { id: string; firstName: string | null }; webhookStatus: string };
}

/** The built server in sandbox mode (no key): demo data, no caller auth. */
export function startSandboxLayer(env: Record<string, string> = {}): Promise<RunningProcess> {
  return startLayerProcess(env);
}

export interface TelliLayer {
  layer: RunningProcess;
  telli: RunningSandbox;
  /** The telli key: the server's (`server` auth) or the one callers forward (`forward` auth). */
  key: string;
  contacts: SandboxContact[];
  /** Delivers a `contact_status_changed` webhook for `contactId`, signed as telli (Svix) signs it. */
  statusChanged(contactId: string, status?: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The built server in telli mode against a sandbox on loopback, with a webhook secret, so a test
 * can deliver telli's webhooks itself. `auth: 'forward'` makes callers bring their own telli key.
 */
export async function startTelliLayer(
  options: { auth?: 'server' | 'forward'; env?: Record<string, string> } = {},
): Promise<TelliLayer> {
  const key = `tk_live_compat_${randomBytes(12).toString('hex')}`;
  const secret = testSecret();
  const telli = await startSandbox({ apiKeys: [key] });
  const auth: Record<string, string> =
    options.auth === 'forward' ? { TELLI_AUTH: 'forward' } : { TELLI_AUTH: 'server', TELLI_API_KEY: key };
  let layer: RunningProcess;
  try {
    layer = await startLayerProcess({
      ...auth,
      TELLI_BASE_URL: telli.url,
      TELLI_WEBHOOK_SECRET: secret,
      ...options.env,
    });
  } catch (error) {
    await telli.close();
    throw error;
  }
  return {
    layer,
    telli,
    key,
    contacts: [...telli.contacts.values()],
    async statusChanged(contactId, status = 'new') {
      const answer = await deliverStatusChanged(layer.url, secret, contactId, status);
      if (answer.status !== 200) throw new Error(`webhook delivery answered ${answer.status}: ${answer.text}`);
    },
    async close() {
      await layer.server.stop();
      await telli.close();
    },
  };
}

/** Waits until the layer process counts `count` open subscriptions (its `/metrics`). */
export async function openSubscriptions(layer: RunningProcess): Promise<number> {
  const text = await (await fetch(`${layer.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('telli_subscriptions_open'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** Polls `probe` every 50 ms until it returns true; throws after `timeoutMs`. */
export async function until(probe: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Serves `handler` on a free loopback port. */
export async function listen(
  handler?: RequestListener,
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    server,
    url,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A `fetch` that records every request it sends and the status and headers of every answer. */
export interface RecordedExchange {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
  status?: number;
  responseHeaders?: Record<string, string>;
}

export function recordingFetch(): { fetch: typeof fetch; exchanges: RecordedExchange[] } {
  const exchanges: RecordedExchange[] = [];
  const recording: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const body = init?.body != null ? String(init.body) : undefined;
    const exchange: RecordedExchange = {
      method: request.method,
      url: request.url,
      headers: Object.fromEntries(request.headers),
      body,
    };
    exchanges.push(exchange);
    const response = await fetch(input, init);
    exchange.status = response.status;
    exchange.responseHeaders = Object.fromEntries(response.headers);
    return response;
  };
  return { fetch: recording, exchanges };
}
