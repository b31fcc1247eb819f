import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_CONTACT_ID, startSandbox, type RunningSandbox } from '../src/sandbox/index.js';
import { npmStartNodeArgs, ROOT, startServerProcess, type ServerProcess } from './support/process.js';
import { subscribe } from './support/sse.js';

/** The front door: the built server as a real process, talking real HTTP. */
const DONE_WHEN_QUERY = (ids: string[]) => `{
  a: contact(id: "${ids[0]}") { id firstName status }
  b: contacts(ids: ["${ids[1]}", "${ids[2]}", "${ids[0]}"]) { id lastName contactDetails }
}`;

async function graphql(url: string, query: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] } };
}

describe('npm start without TELLI_API_KEY (sandbox mode)', () => {
  let server: ServerProcess;
  let graphiql: string;
  let startedIn: number;

  beforeAll(async () => {
    const t0 = performance.now();
    server = startServerProcess({ PORT: '0', LOG_LEVEL: 'info' });
    const banner = await server.waitForLine((l) => typeof l['graphiql'] === 'string');
    startedIn = performance.now() - t0;
    graphiql = banner['graphiql'] as string;
  });
  afterAll(() => server.stop());

  it('announces sandbox mode, the GraphiQL URL and a sample contact id', () => {
    const banner = server.lines.find((l) => l['mode'] === 'sandbox');
    expect(banner).toMatchObject({ sampleContactId: SAMPLE_CONTACT_ID });
    expect(String(banner?.['msg'])).toMatch(
      /sandbox mode.*GraphiQL: http:\/\/127\.0\.0\.1:\d+\/graphql.*sample contact id/,
    );
    expect(startedIn).toBeLessThan(10_000);
  });

  it('serves /health, /readiness and /metrics', async () => {
    expect((await fetch(new URL('/health', graphiql))).status).toBe(200);
    expect((await fetch(new URL('/readiness', graphiql))).status).toBe(200);
    expect(await (await fetch(new URL('/metrics', graphiql))).text()).toContain('process_resident_memory_bytes');
  });

  it('keeps caller auth off in sandbox mode (demo data only), saying so in its log', async () => {
    const sandboxed = startServerProcess({ PORT: '0', CALLER_TOKENS: 'ignored-in-sandbox-mode-aaaaaaaa' });
    try {
      const url = (await sandboxed.waitForLine((l) => typeof l['graphiql'] === 'string'))['graphiql'] as string;
      const res = await graphql(url, '{ __typename }');
      expect(res).toEqual({ status: 200, body: { data: { __typename: 'Query' } } });
      expect(sandboxed.lines.some((l) => String(l['msg']).includes('CALLER_TOKENS is ignored'))).toBe(true);
    } finally {
      await sandboxed.stop();
    }
  });

  it('serves GraphiQL whose default query names a real demo contact', async () => {
    const res = await fetch(graphiql, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('graphiql');
    expect(html).toContain(SAMPLE_CONTACT_ID);
  });

  it('answers the done-when query with demo data', async () => {
    const { status, body } = await graphql(
      graphiql,
      DONE_WHEN_QUERY([SAMPLE_CONTACT_ID, SAMPLE_CONTACT_ID, SAMPLE_CONTACT_ID]),
    );
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data?.['a']).toMatchObject({ id: SAMPLE_CONTACT_ID, firstName: 'Ada', status: 'REACHED' });
  });

  it('points GET / to /graphql: a redirect a browser follows into GraphiQL, a body naming it', async () => {
    const root = new URL('/', graphiql);
    const res = await fetch(root, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/graphql');
    expect(await res.json()).toMatchObject({ graphql: '/graphql' });
    const followed = await fetch(new URL('/?from=bookmark', graphiql), { headers: { accept: 'text/html' } });
    expect(followed.url).toBe(graphiql);
    expect(await followed.text()).toContain('graphiql');
    const posted = await fetch(root, { method: 'POST', body: '{}' });
    expect(posted.status).toBe(405);
    expect(await posted.json()).toMatchObject({ errors: [{ extensions: { code: 'METHOD_NOT_ALLOWED' } }] });
  });

  it('exits 0 on SIGTERM', async () => {
    expect(await server.stop('SIGTERM')).toBe(0);
  });
});

describe('npm start in sandbox mode, with its dialer calling', () => {
  /** Starts the server with the autopilot on and waits for `events` live events to reach a subscriber. */
  async function watchDialer(logLevel: string, events: number) {
    const server = startServerProcess({
      PORT: '0',
      LOG_LEVEL: logLevel,
      SANDBOX_AUTOPILOT_MS: '200',
      SANDBOX_CALL_MS: '50',
    });
    const banner = await server.waitForLine((l) => typeof l['graphiql'] === 'string');
    const sub = await subscribe(
      fetch,
      banner['graphiql'] as string,
      'subscription { contactStatusChanged { status } }',
    );
    for (let i = 0; i < events; i++) await sub.next(10_000);
    await sub.close();
    await server.stop();
    return server;
  }
  const webhookLines = (server: ServerProcess) => server.lines.filter((l) => String(l['msg']).startsWith('webhook'));

  it('says once that the dialer runs, logs each webhook at debug only, and ends start-up with the GraphiQL line', async () => {
    const server = await watchDialer('info', 4);
    const dialer = server.lines.filter((l) => l['dialer'] === 'running');
    expect(dialer).toHaveLength(1);
    expect(String(dialer[0]?.['msg'])).toMatch(/^sandbox dialer running: .*every 200 ms.*\/webhooks\/telli/);
    const startUp = server.lines.slice(0, server.lines.findIndex((l) => typeof l['graphiql'] === 'string') + 1);
    expect(startUp.at(-1)?.['mode']).toBe('sandbox');
    expect(startUp).toContain(dialer[0]);
    expect(webhookLines(server)).toEqual([]);
  });

  it('still logs every webhook at LOG_LEVEL=debug', async () => {
    const server = await watchDialer('debug', 2);
    const published = webhookLines(server).filter((l) => l['msg'] === 'webhook event published');
    expect(published.length).toBeGreaterThanOrEqual(2);
    expect(published.every((l) => l['level'] === 'debug')).toBe(true);
  });
});

describe('with TELLI_API_KEY and TELLI_BASE_URL pointing at a telli-compatible server', () => {
  let telli: RunningSandbox;
  let server: ServerProcess;
  let url: string;
  const key = 'tk_live_e2e_0123456789abcdef';

  beforeAll(async () => {
    telli = await startSandbox({ apiKeys: [key] });
    server = startServerProcess({ PORT: '0', TELLI_API_KEY: key, TELLI_BASE_URL: telli.url, LOG_LEVEL: 'debug' });
    const banner = await server.waitForLine((l) => l['mode'] === 'telli');
    url = banner['graphql'] as string;
  });
  afterAll(async () => {
    await server.stop();
    await telli.close();
  });

  it('starts no sandbox and sends 3 distinct ids plus a duplicate as one Bearer-authenticated call', async () => {
    const ids = [...telli.contacts.values()].slice(0, 3).map((c) => c.id);
    telli.resetStats();
    const { body } = await graphql(url, DONE_WHEN_QUERY(ids));
    expect(body.errors).toBeUndefined();
    expect((body.data?.['b'] as { id: string }[]).map((c) => c.id)).toEqual([ids[1], ids[2], ids[0]]);
    // The sandbox only answers `Authorization: Bearer <key>`; anything else is a 401.
    expect(telli.stats).toMatchObject({
      calls: { 'POST /v1/get-contacts-batch': 1 },
      unauthorized: 0,
      batchSizes: [3],
    });
    expect(server.lines.some((l) => l['mode'] === 'sandbox')).toBe(false);
  });

  it('forwards the caller request id to telli', async () => {
    telli.resetStats();
    await graphql(url, `{ contact(id: "${SAMPLE_CONTACT_ID}") { id } }`, { 'x-request-id': 'e2e-req-42' });
    expect(telli.stats.requestIds).toEqual(['e2e-req-42']);
  });

  it('never writes the API key to its logs', () => {
    expect(server.stdout()).not.toContain(key);
    expect(server.stderr()).not.toContain(key);
  });
});

describe('with TELLI_AUTH=forward', () => {
  let telli: RunningSandbox;
  let server: ServerProcess;
  let url: string;
  const callerKey = 'tk_caller_forwarded_5566778899';

  beforeAll(async () => {
    telli = await startSandbox({ apiKeys: [callerKey] });
    server = startServerProcess({ PORT: '0', TELLI_AUTH: 'forward', TELLI_BASE_URL: telli.url, LOG_LEVEL: 'trace' });
    url = (await server.waitForLine((l) => l['mode'] === 'telli'))['graphql'] as string;
  });
  afterAll(async () => {
    await server.stop();
    await telli.close();
  });

  it("uses the caller's key, answers UNAUTHENTICATED without one, and never logs it", async () => {
    const query = `{ contact(id: "${SAMPLE_CONTACT_ID}") { id } }`;
    const anonymous = await graphql(url, query);
    expect(anonymous.body.errors).toMatchObject([{ extensions: { code: 'UNAUTHENTICATED' } }]);
    expect(telli.totalCalls()).toBe(0);
    const authed = await graphql(url, query, { authorization: `Bearer ${callerKey}` });
    expect(authed.body).toEqual({ data: { contact: { id: SAMPLE_CONTACT_ID } } });
    expect(telli.stats.callsByKey).toEqual({ [callerKey]: 1 });
    await new Promise((resolve) => setTimeout(resolve, 100)); // let the last log lines flush
    expect(server.stdout()).not.toContain(callerKey);
    expect(server.stderr()).not.toContain(callerKey);
  });
});

describe('stack traces in the logs of npm start', () => {
  let telli: RunningSandbox;
  let server: ServerProcess;
  let url: string;
  const key = 'tk_live_e2e_stack_0123456789';

  beforeAll(async () => {
    telli = await startSandbox({ apiKeys: [key] });
    // The node flags npm start uses (its source maps), and telli answering a 400: our bug, so masked and logged.
    server = startServerProcess({ PORT: '0', TELLI_API_KEY: key, TELLI_BASE_URL: telli.url }, npmStartNodeArgs());
    url = (await server.waitForLine((l) => l['mode'] === 'telli'))['graphql'] as string;
    telli.injectFault({ fault: { kind: 'status', status: 400 } });
  });
  afterAll(async () => {
    await server.stop();
    await telli.close();
  });

  it('name the src/ file and line that raised the masked error', async () => {
    const { body } = await graphql(url, `{ contact(id: "${SAMPLE_CONTACT_ID}") { id } }`);
    expect(body.errors).toMatchObject([{ extensions: { code: 'INTERNAL_SERVER_ERROR' } }]);
    const logged = await server.waitForLine((l) => l['msg'] === 'unexpected error (masked for the client)');
    const stack = String((logged['err'] as { stack?: unknown }).stack);
    // The error is made in httpError() of src/telli/transport/transport.ts: the frame must point at that line.
    const frame = /at httpError \((.*src\/telli\/transport\/transport\.ts):(\d+):\d+\)/.exec(stack);
    expect(frame, stack).not.toBeNull();
    const line = readFileSync(`${ROOT}/src/telli/transport/transport.ts`, 'utf8').split('\n')[Number(frame?.[2]) - 1];
    expect(line).toContain('new TelliHttpError(');
    expect(stack).not.toContain('dist/server.js:');
  });
});

describe('graceful shutdown', () => {
  it('a request in flight when SIGTERM arrives completes; then the process exits 0', async () => {
    const server = startServerProcess({ PORT: '0', SANDBOX_LATENCY_MS: '1500', SHUTDOWN_GRACE_MS: '10000' });
    const url = (await server.waitForLine((l) => typeof l['graphiql'] === 'string'))['graphiql'] as string;
    const inFlight = graphql(url, `{ contact(id: "${SAMPLE_CONTACT_ID}") { id firstName } }`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const t0 = performance.now();
    server.child.kill('SIGTERM');
    const { status, body } = await inFlight;
    expect(status).toBe(200);
    expect(body).toEqual({ data: { contact: { id: SAMPLE_CONTACT_ID, firstName: 'Ada' } } });
    expect(await server.exited).toBe(0);
    expect(performance.now() - t0).toBeLessThan(5000);
    // Once stopping, no new connection is accepted.
    await expect(fetch(new URL('/health', url))).rejects.toThrow();
  });
});

describe('a port already in use', () => {
  let holder: Server;
  let taken: number;
  beforeAll(async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    taken = (holder.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => holder.close(() => resolve())));

  it('exits 1 with one line naming PORT', async () => {
    const server = startServerProcess({ PORT: String(taken) });
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toMatch(
      new RegExp(`^telli-graphql: [^\n]*127\\.0\\.0\\.1:${taken}[^\n]*set PORT [^\n]*\n$`),
    );
  });

  it('exits 1 with one line naming SANDBOX_PORT when that is the port', async () => {
    const server = startServerProcess({ PORT: '0', SANDBOX_PORT: String(taken) });
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toMatch(new RegExp(`^telli-graphql: [^\n]*:${taken}[^\n]*set SANDBOX_PORT [^\n]*\n$`));
    expect(server.stderr()).not.toContain('set PORT');
  });
});

describe('bad configuration', () => {
  it('exits non-zero naming each bad variable', async () => {
    const server = startServerProcess({ PORT: 'eighty', TELLI_TIMEOUT_MS: '0' });
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toContain('PORT');
    expect(server.stderr()).toContain('TELLI_TIMEOUT_MS');
  });
});

describe('npm start under a process manager', () => {
  it('stops the server when the npm process itself gets SIGTERM', async () => {
    // What `kill <pid of npm start>` does: the signal goes to npm, not to node.
    const npm = spawn('npm', ['start'], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', PORT: '0', SHUTDOWN_DRAIN_MS: '0', LOG_LEVEL: 'info' },
    });
    let out = '';
    npm.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    try {
      await expect.poll(() => /"graphiql":"([^"]+)"/.exec(out)?.[1], { timeout: 20_000, interval: 100 }).toBeTruthy();
      const graphiql = /"graphiql":"([^"]+)"/.exec(out)?.[1] as string;
      expect((await fetch(new URL('/health', graphiql))).status).toBe(200);
      npm.kill('SIGTERM');
      await exited;
      // The server, not just npm, is gone: nothing answers on its port any more.
      await expect
        .poll(
          () =>
            fetch(new URL('/health', graphiql)).then(
              () => 'answering',
              () => 'gone',
            ),
          { timeout: 5000 },
        )
        .toBe('gone');
      expect(out).toContain('"signal":"SIGTERM"');
    } finally {
      npm.kill('SIGKILL');
    }
  });
});
