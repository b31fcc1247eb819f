import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LiveCallOutcome } from './calls/live.js';
import { SAMPLE_CONTACT_ID } from './contacts/demo.js';
import type { SandboxContact } from './contacts/model.js';
import { createSandboxCore, type SandboxCore } from './core.js';
import { createWebhookSender, type WebhookSender } from './dialer/webhooks.js';

export interface StartSandboxOptions {
  /** Keys to accept; one random key is generated when omitted. */
  apiKeys?: readonly string[];
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Simulated telli latency added to every answer. */
  latencyMs?: number;
  /**
   * Opt-in, off by default (telli documents no limits): at most `perSecond` requests per API key
   * in any one-second interval (a sliding window over arrival times); beyond it, 429 with
   * `Retry-After` (whole seconds until the window has room), as a rate-limited telli answers.
   * Every arrival is then recorded in `transport.arrivals` for tests to check the layer's budget.
   */
  rateLimit?: { perSecond: number };
  contacts?: SandboxContact[];
  /** Further keys, each a separate telli account with its own contacts. */
  tenants?: Record<string, SandboxContact[]>;
  /** When the demo data is dated from (epoch ms). Default: when the sandbox starts. */
  now?: number;
  /**
   * Be telli's dialer and webhook sender: scheduled calls are placed and end (see
   * `DialerOptions`), and every change is delivered, Svix-signed with `secret`, to the URL given
   * to `webhooks.setTarget` (the layer's is known only once it listens). Every account's webhooks
   * go to that one endpoint. Without it, scheduled calls stay queued and nothing is sent.
   */
  live?: {
    secret: string;
    /** A call starts this long after it is scheduled and ends this long after it started (default 3000). */
    callMs?: number;
    /** Schedules a call of `autopilotContactId` this often; 0 or omitted: never. */
    autopilotMs?: number;
    /** Whether a call reaches its contact (default: every other call, the first one does). */
    outcome?: (contactId: string, attempt: number) => LiveCallOutcome;
    /** Waits before each redelivery of a webhook that was not answered 2xx. */
    retryDelaysMs?: readonly number[];
  };
}

/** What a fault does to a request instead of answering it normally. */
export type SandboxFault =
  /** Answer with this status (and headers, body) — e.g. 429 with `Retry-After`, 503. */
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  /** Never answer (the socket stays open until the client gives up). */
  | { kind: 'hang' }
  /** Reset the TCP connection (RST) without answering. */
  | { kind: 'reset' }
  /** 200 with a body that is not JSON. */
  | { kind: 'malformed' }
  /**
   * Handle the request (a write takes effect), then reset the connection without answering: the
   * client cannot tell whether telli acted, which is the case its "may have happened" path covers.
   */
  | { kind: 'reset-after' }
  /** Handle the request (a write takes effect), then never answer. */
  | { kind: 'hang-after' };

/** Faults that let the core handle the request first. */
const AFTER_HANDLING: ReadonlySet<SandboxFault['kind']> = new Set(['reset-after', 'hang-after']);

export interface FaultRule {
  fault: SandboxFault;
  /** Which requests it hits; all when omitted. */
  match?: (request: { method: string; url: string; body: string }) => boolean;
  /** How many requests it hits before it expires; forever when omitted. */
  times?: number;
}

/** Transport-level counters: every HTTP request, faulted or not, authorised or not. */
export interface TransportStats {
  requests: number;
  faulted: number;
  inFlight: number;
  maxInFlight: number;
  /** With `rateLimit`: requests answered 429 for being over it. */
  throttled: number;
  /**
   * With `rateLimit`: every request as it arrived (`at`: epoch ms, sub-millisecond), by the
   * `Authorization` header it carried, and whether the limit let it through.
   */
  arrivals: { key: string; at: number; throttled: boolean }[];
}

export interface RunningSandbox extends SandboxCore {
  /** Base URL, e.g. `http://127.0.0.1:43121` — use as `TELLI_BASE_URL`. */
  url: string;
  /** The first accepted key. */
  apiKey: string;
  readonly transport: TransportStats;
  /** Fault injection for resilience tests: the first matching live rule handles the request. */
  injectFault(rule: FaultRule): void;
  clearFaults(): void;
  /** The webhook sender, with `live`; undefined otherwise. */
  readonly webhooks: WebhookSender | undefined;
  /** The demo contact the autopilot calls (a default-account contact that is not in a call, not the sample). */
  readonly autopilotContactId: string | undefined;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 5 * 1024 * 1024;

/**
 * A sliding one-second window per key over the arrival times of the requests it let through:
 * returns how long until the window has room when this request is over the limit, else undefined.
 */
function createRateLimit(perSecond: number) {
  const passed = new Map<string, number[]>();
  return (key: string, transport: TransportStats): number | undefined => {
    const at = performance.timeOrigin + performance.now();
    const times = passed.get(key) ?? [];
    while (times.length > 0 && (times[0] as number) <= at - 1000) times.shift();
    const throttled = times.length >= perSecond;
    transport.arrivals.push({ key, at, throttled });
    if (throttled) {
      transport.throttled++;
      return (times[0] as number) + 1000 - at;
    }
    times.push(at);
    passed.set(key, times);
    return undefined;
  };
}

/** Serves the telli emulator on loopback over real HTTP (keep-alive, like telli). */
export async function startSandbox(options: StartSandboxOptions = {}): Promise<RunningSandbox> {
  const apiKeys = options.apiKeys ?? [`sandbox_${randomBytes(12).toString('hex')}`];
  const live = options.live;
  const webhooks =
    live &&
    createWebhookSender({ secret: live.secret, ...(live.retryDelaysMs && { retryDelaysMs: live.retryDelaysMs }) });
  const core = createSandboxCore({
    apiKeys,
    ...(options.contacts && { contacts: options.contacts }),
    ...(options.tenants && { tenants: options.tenants }),
    ...(options.now !== undefined && { now: options.now }),
    ...(webhooks && {
      dialer: {
        callMs: live.callMs ?? 3_000,
        emit: (type, payload) => void webhooks.send(type, payload),
        ...(live.outcome && { outcome: live.outcome }),
      },
    }),
  });
  const autopilotContactId = live
    ? [...core.contacts.values()].find((c) => c.id !== SAMPLE_CONTACT_ID && c.inCallSince === null)?.id
    : undefined;
  let autopilot: NodeJS.Timeout | undefined;
  if (live?.autopilotMs && autopilotContactId) {
    const contactId = autopilotContactId;
    autopilot = setInterval(() => core.scheduleCall(contactId), live.autopilotMs);
    autopilot.unref();
  }
  const latencyMs = options.latencyMs ?? 0;
  const transport: TransportStats = {
    requests: 0,
    faulted: 0,
    inFlight: 0,
    maxInFlight: 0,
    throttled: 0,
    arrivals: [],
  };
  const limit = options.rateLimit && createRateLimit(options.rateLimit.perSecond);
  let faults: { rule: FaultRule; left: number }[] = [];

  function takeFault(request: { method: string; url: string; body: string }): SandboxFault | undefined {
    const live = faults.find((f) => f.left > 0 && (!f.rule.match || f.rule.match(request)));
    if (!live) return undefined;
    live.left--;
    return live.rule.fault;
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    transport.requests++;
    // Timed on arrival, before the body: what telli's own limiter would count.
    const refusedForMs = limit?.(req.headers.authorization ?? '', transport);
    transport.inFlight++;
    transport.maxInFlight = Math.max(transport.maxInFlight, transport.inFlight);
    let done = false;
    const finish = () => {
      if (!done) transport.inFlight--;
      done = true;
    };
    res.once('close', finish);
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
      const body = Buffer.concat(chunks).toString('utf8');
      const method = req.method ?? 'GET';
      const url = req.url ?? '/';
      if (refusedForMs !== undefined) {
        res
          .writeHead(429, { 'content-type': 'application/json', 'retry-after': String(Math.ceil(refusedForMs / 1000)) })
          .end('{"message":"Too many requests"}');
        return;
      }
      const fault = faults.length ? takeFault({ method, url, body }) : undefined;
      if (fault) transport.faulted++;
      if (fault && !AFTER_HANDLING.has(fault.kind)) {
        if (fault.kind === 'hang') return;
        if (fault.kind === 'reset') {
          req.socket.resetAndDestroy();
          return;
        }
        if (fault.kind === 'malformed') {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"contact_ids": [oops');
          return;
        }
        if (fault.kind === 'status')
          res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers }).end(fault.body ?? '{}');
        return;
      }
      const result = core.handle({
        method,
        url,
        authorization: req.headers.authorization,
        body,
        ...(typeof requestId === 'string' && { requestId }),
      });
      const send = () => {
        if (fault?.kind === 'hang-after') return;
        if (fault?.kind === 'reset-after') {
          req.socket.resetAndDestroy();
          return;
        }
        // Counted as finished once answered: the client may send its next request right after.
        finish();
        if (result.body === undefined) {
          // 204: no body, so no content type either.
          res.writeHead(result.status, { ...result.headers }).end();
          return;
        }
        res
          .writeHead(result.status, { 'content-type': 'application/json', ...result.headers })
          .end(JSON.stringify(result.body));
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

  const resetCore = core.resetStats;
  return Object.assign(core, {
    resetStats() {
      resetCore();
      Object.assign(transport, {
        requests: 0,
        faulted: 0,
        maxInFlight: transport.inFlight,
        throttled: 0,
        arrivals: [],
      });
    },
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    apiKey: apiKeys[0] as string,
    transport,
    injectFault(rule: FaultRule) {
      faults.push({ rule, left: rule.times ?? Number.POSITIVE_INFINITY });
    },
    clearFaults() {
      faults = [];
    },
    webhooks,
    autopilotContactId,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(autopilot);
        core.stopDialer();
        webhooks?.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}
