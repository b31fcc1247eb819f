import { createHmac, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest } from 'node:http';
import { Webhook } from 'svix';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { startSandbox, type RunningSandbox, type SandboxContact } from '../src/sandbox/index.js';
import { startLayerProcess, startProbe, type RunningProcess } from './support/process.js';
import { signedWebhook, subscribe, testSecret, type Subscription } from './support/sse.js';

/**
 * What a hostile sender (or a bad day) can send to the live surfaces — `/webhooks/telli` and
 * subscriptions — replayed against the process `npm start` runs, with liveness measured from
 * probe processes of their own.
 */
const STATUS_CHANGED = `subscription ($ids: [ID!]) {
  contactStatusChanged(contactIds: $ids) { contact { id } webhookStatus occurredAt }
}`;
type Change = { contact: { id: string }; webhookStatus: string | null; occurredAt: string };
const changeOf = (frame: { data?: Record<string, unknown> | null }) => frame.data?.['contactStatusChanged'] as Change;

const MiB = 1024 * 1024;
const WEBHOOK_MAX_IN_FLIGHT = parseConfig({}).live.webhookMaxInFlight;
/** The junk flood's rate, as first measured against this route. */
const FLOOD_MIB_PER_SECOND = 45;
const ms = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN);
};

async function rssMb(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]) / 1024);
}

/** One POST over node:http; resolves with the status (0 when the connection failed). */
function post(url: string, headers: Record<string, string>, body: Buffer, agent: HttpAgent): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

/** Svix-shaped headers that pass every format check but carry no valid signature. */
function forgedHeaders(): Record<string, string> {
  return {
    'content-type': 'application/json',
    'svix-id': `msg_${randomBytes(12).toString('hex')}`,
    'svix-timestamp': String(Math.floor(Date.now() / 1000)),
    'svix-signature': `v1,${randomBytes(32).toString('base64')}`,
  };
}

/**
 * The Standard Webhooks signature over exact bytes, written out from the spec: base64 of
 * HMAC-SHA256(key, `${id}.${timestamp}.` + body). The test that uses it first shows that it equals
 * svix's own `Webhook.sign` wherever svix can sign (a body that is valid UTF-8).
 */
function signBytes(secret: string, id: string, timestamp: number, body: Buffer): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

describe('webhooks: refusing what is not authentic is cheap, and bodies in flight are bounded', () => {
  const secret = testSecret();
  const key = 'tk_live_hostile_webhooks_0123456789';
  let telli: RunningSandbox;
  let layer: RunningProcess;
  let contact: SandboxContact;
  beforeAll(async () => {
    telli = await startSandbox({ apiKeys: [key] });
    contact = [...telli.contacts.values()][3] as SandboxContact;
    layer = await startLayerProcess({ TELLI_API_KEY: key, TELLI_BASE_URL: telli.url, TELLI_WEBHOOK_SECRET: secret });
  });
  afterAll(async () => {
    await layer?.server.stop();
    await telli?.close();
  });

  it('a flood of junk 1 MiB bodies from 32 clients (45 MiB/s) leaves /health and { __typename } answering, and loses no valid webhook', async () => {
    const webhooks = `${layer.url}/webhooks/telli`;
    const sub = await subscribe(fetch, layer.graphqlUrl, STATUS_CHANGED, { ids: [contact.id] });
    const junk = randomBytes(MiB);
    const agent = new HttpAgent({ keepAlive: true, maxSockets: 64 });
    const health = startProbe(`${layer.url}/health`);
    const typename = startProbe(`${layer.graphqlUrl}?query=${encodeURIComponent('{ __typename }')}`, {
      'x-graphql-yoga-csrf': '1',
    });
    await new Promise((resolve) => setTimeout(resolve, 300)); // the probes are polling

    const statuses: Record<string, number> = {};
    // 32 clients, 45 MiB/s together at most: the flood that took /health to 11 s before.
    const clients = 32;
    const perClientMs = (clients / FLOOD_MIB_PER_SECOND) * 1000;
    const flood = async (headers: () => Record<string, string>, forMs: number) => {
      const until = Date.now() + forMs;
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (Date.now() < until) {
            const sent = Date.now();
            const status = await post(webhooks, headers(), junk, agent);
            statuses[status] = (statuses[status] ?? 0) + 1;
            await new Promise((resolve) => setTimeout(resolve, Math.max(0, sent + perClientMs - Date.now())));
          }
        }),
      );
    };
    // Svix's way: an attempt refused with 503 is delivered again later (here: 100 ms later).
    const deliverUntilAccepted = async () => {
      const id = `msg_flood_${Date.now()}`;
      for (let attempt = 1; attempt <= 100; attempt++) {
        const webhook = signedWebhook(
          secret,
          { event: 'contact_status_changed', contact_id: contact.id, status: 'x' },
          { id },
        );
        const res = await fetch(webhooks, { method: 'POST', headers: webhook.headers, body: webhook.body });
        const text = await res.text();
        if (res.status === 200) return { attempt, text };
        expect(res.status).toBe(503);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error('never accepted');
    };

    const started = performance.now();
    const [, , accepted] = await Promise.all([
      // Without any svix header, then with headers that pass every format check.
      flood(() => ({ 'content-type': 'application/json' }), 3000),
      new Promise((resolve) => setTimeout(resolve, 3000)).then(() => flood(forgedHeaders, 3000)),
      new Promise((resolve) => setTimeout(resolve, 4000)).then(deliverUntilAccepted),
    ]);
    const floodMs = performance.now() - started;
    const [healthMs, typenameMs] = await Promise.all([health.stop(), typename.stop()]);
    agent.destroy();

    expect(JSON.parse(accepted.text)).toEqual({ received: true, outcome: 'published' });
    expect(changeOf(await sub.next())).toMatchObject({ contact: { id: contact.id }, webhookStatus: 'x' });
    await sub.close();
    const total = Object.values(statuses).reduce((a, b) => a + b, 0);
    process.stdout.write(
      `junk-webhook flood: ${total} requests of 1 MiB in ${Math.round(floodMs)} ms (${Math.round((total * 1000) / floodMs)} MiB/s), statuses ${JSON.stringify(statuses)}; ` +
        `/health p50 ${ms(healthMs, 0.5)} ms max ${ms(healthMs, 1)} ms over ${healthMs.length} probes; ` +
        `{ __typename } p50 ${ms(typenameMs, 0.5)} ms max ${ms(typenameMs, 1)} ms; valid webhook accepted at attempt ${accepted.attempt}; ` +
        `layer peak RSS ${await rssMb(layer.server.child.pid as number, 'VmHWM')} MB\n`,
    );
    // Only refusals: no junk was taken for a webhook.
    expect(Object.keys(statuses).sort()).toEqual(expect.arrayContaining(['401']));
    for (const status of Object.keys(statuses)) expect(['401', '503']).toContain(status);
    expect(Math.max(...healthMs)).toBeLessThan(1000);
    expect(Math.max(...typenameMs)).toBeLessThan(1000);
  });

  it('400 clients holding 1 MiB bodies open do not grow memory with their number', async () => {
    const pid = layer.server.child.pid as number;
    const before = await rssMb(pid, 'VmRSS');
    const chunk = randomBytes(MiB - 1);
    const requests: ClientRequest[] = [];
    const answered: number[] = [];
    for (let i = 0; i < 400; i++) {
      const req = httpRequest(`${layer.url}/webhooks/telli`, {
        method: 'POST',
        agent: false,
        headers: { ...forgedHeaders(), 'content-length': String(MiB) },
      });
      req.on('response', (res) => {
        answered.push(res.statusCode ?? 0);
        res.resume();
      });
      req.on('error', () => undefined);
      // All of the body but its last byte: the request stays open.
      req.write(chunk);
      requests.push(req);
    }
    // Until all but the requests in flight are answered (or, unbounded, for 12 s: the layer's
    // request timeout cuts bodies that never end after 16).
    for (let waited = 0; answered.length < 400 - WEBHOOK_MAX_IN_FLIGHT && waited < 12_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const held = await rssMb(pid, 'VmRSS');
    const peak = await rssMb(pid, 'VmHWM');
    const t0 = performance.now();
    for (const req of requests) req.destroy();
    const health = await fetch(`${layer.url}/health`);
    const healthMs = performance.now() - t0;
    process.stdout.write(
      `400 held-open 1 MiB webhook bodies: RSS ${before} MB before, ${held} MB while held (peak ${peak} MB); ` +
        `${answered.length} answered early (${answered.filter((s) => s === 503).length}× 503); /health after release ${Math.round(healthMs)} ms\n`,
    );
    expect(health.status).toBe(200);
    // Bodies in flight are bounded (WEBHOOK_MAX_IN_FLIGHT of 1 MiB each): the rest are refused at once.
    expect(answered.filter((s) => s === 503).length).toBe(400 - WEBHOOK_MAX_IN_FLIGHT);
    expect(held - before).toBeLessThan(150);
    expect(healthMs).toBeLessThan(1000);
  });

  it('a chunked body that outgrows WEBHOOK_MAX_BODY_BYTES is answered 413, not cut off unanswered', async () => {
    const status = await new Promise<number>((resolve) => {
      const req = httpRequest(`${layer.url}/webhooks/telli`, {
        method: 'POST',
        agent: false,
        headers: { ...forgedHeaders(), 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0));
      const chunk = randomBytes(256 * 1024);
      let sent = 0;
      const more = () => {
        while (sent < 8) {
          sent++;
          if (!req.write(chunk)) return void req.once('drain', more);
        }
      };
      more();
    });
    expect(status).toBe(413);
  });
});

describe('webhooks: what is acknowledged is delivered, and the exact bytes are verified', () => {
  const secret = testSecret();
  const key = 'tk_live_hostile_parse_0123456789ab';
  let telli: RunningSandbox;
  let layer: RunningProcess;
  let contact: SandboxContact;
  let sub: Subscription;
  beforeAll(async () => {
    telli = await startSandbox({ apiKeys: [key] });
    contact = [...telli.contacts.values()][5] as SandboxContact;
    layer = await startLayerProcess({ TELLI_API_KEY: key, TELLI_BASE_URL: telli.url, TELLI_WEBHOOK_SECRET: secret });
    sub = await subscribe(fetch, layer.graphqlUrl, STATUS_CHANGED, { ids: [contact.id] });
  });
  afterAll(async () => {
    await sub?.close();
    await layer?.server.stop();
    await telli?.close();
  });
  const deliver = async (body: string | Buffer, headers: Record<string, string>) => {
    const res = await fetch(`${layer.url}/webhooks/telli`, {
      method: 'POST',
      headers,
      body: typeof body === 'string' ? body : new Uint8Array(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  /** Signed with svix's own `Webhook.sign`, as Svix signs. */
  const svixSigned = (body: string, id = `msg_${randomBytes(8).toString('hex')}`) => {
    const timestamp = new Date();
    return {
      id,
      headers: {
        'content-type': 'application/json',
        'svix-id': id,
        'svix-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
        'svix-signature': new Webhook(secret).sign(id, timestamp, body),
      },
    };
  };
  const statusChanged = (status: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ event: 'contact_status_changed', contact_id: contact.id, status, ...extra });

  it("decides every header variant as svix's own Webhook.verify does", async () => {
    const body = statusChanged('variant');
    const valid = (at: Date, id: string) => new Webhook(secret).sign(id, at, body);
    const other = new Webhook(testSecret());
    const now = new Date();
    const ago = (minutes: number) => new Date(now.getTime() - minutes * 60_000);
    const cases: [string, (id: string) => { t: string; s: string }][] = [
      ['as Svix sends it', (id) => ({ t: String(Math.floor(now.getTime() / 1000)), s: valid(now, id) })],
      ['another secret', (id) => ({ t: String(Math.floor(now.getTime() / 1000)), s: other.sign(id, now, body) })],
      [
        'an unknown version beside a valid v1',
        (id) => ({ t: String(Math.floor(now.getTime() / 1000)), s: `v1a,${'A'.repeat(86)}== ${valid(now, id)}` }),
      ],
      [
        'two secrets, the second valid (rotation)',
        (id) => ({ t: String(Math.floor(now.getTime() / 1000)), s: `${other.sign(id, now, body)} ${valid(now, id)}` }),
      ],
      [
        'only an unknown version',
        (id) => ({ t: String(Math.floor(now.getTime() / 1000)), s: valid(now, id).replace('v1,', 'v2,') }),
      ],
      [
        'the signature without its padding',
        (id) => ({ t: String(Math.floor(now.getTime() / 1000)), s: valid(now, id).replace(/=+$/, '') }),
      ],
      ['4 minutes old', (id) => ({ t: String(Math.floor(ago(4).getTime() / 1000)), s: valid(ago(4), id) })],
      ['6 minutes old', (id) => ({ t: String(Math.floor(ago(6).getTime() / 1000)), s: valid(ago(6), id) })],
      ['4 minutes ahead', (id) => ({ t: String(Math.floor(ago(-4).getTime() / 1000)), s: valid(ago(-4), id) })],
      ['6 minutes ahead', (id) => ({ t: String(Math.floor(ago(-6).getTime() / 1000)), s: valid(ago(-6), id) })],
      ['no signature', () => ({ t: String(Math.floor(now.getTime() / 1000)), s: '' })],
    ];
    const decisions: Record<string, [string, string]> = {};
    for (const [name, variant] of cases) {
      const id = `msg_${randomBytes(8).toString('hex')}`;
      const { t, s } = variant(id);
      const headers = { 'svix-id': id, 'svix-timestamp': t, 'svix-signature': s };
      let reference = 'accepted';
      try {
        new Webhook(secret).verify(body, headers);
      } catch {
        reference = 'refused';
      }
      const res = await deliver(body, { 'content-type': 'application/json', ...headers });
      decisions[name] = [reference, res.status === 200 ? 'accepted' : `refused`];
      if (res.status === 200) expect(changeOf(await sub.next()).webhookStatus).toBe('variant');
      else expect(res.status).toBe(401);
    }
    for (const [name, [reference, ours]] of Object.entries(decisions))
      expect({ name, ours }).toEqual({ name, ours: reference });
  });

  it('every delivery answered "published" reaches the subscriber, whatever its times say', async () => {
    const times: Record<string, unknown>[] = [
      { occurred_at: '+010000-01-01T00:00:00.000Z' },
      { occurred_at: '9999-12-31T23:59:59.999Z' },
      { occurred_at: 253402300800000 }, // 10000-01-01 in epoch ms
      { occurred_at: 8.64e15 }, // the last millisecond a Date can hold
      { occurred_at: '-000001-01-01T00:00:00Z' },
      { occurred_at: -62198755200000 }, // year -1 in epoch ms
      { changed_at: '275760-09-13T00:00:00Z', timestamp: 1e300 },
      { occurred_at: '2026-01-02T03:04:05+02:00' },
    ];
    for (const [i, extra] of times.entries()) {
      const body = statusChanged(`t${i}`, extra);
      const res = await deliver(body, svixSigned(body).headers);
      expect({ i, ...res }).toEqual({ i, status: 200, body: { received: true, outcome: 'published' } });
      const change = changeOf(await sub.next());
      expect(change.webhookStatus).toBe(`t${i}`);
      expect(Number.isNaN(Date.parse(change.occurredAt))).toBe(false);
    }
  });

  it('refuses at the route, with a stable code, a delivery id the bus cannot carry', async () => {
    const body = statusChanged('long-id');
    const long = svixSigned(body, `msg_${'x'.repeat(509)}`); // 513 characters
    const refused = await deliver(body, long.headers);
    expect(refused).toMatchObject({
      status: 401,
      body: { errors: [{ extensions: { code: 'WEBHOOK_SIGNATURE_INVALID' } }] },
    });
    // Not acknowledged, so not lost: the same message under a usable id goes through.
    const ok = await deliver(body, svixSigned(body, `msg_${'x'.repeat(508)}`).headers);
    expect(ok.body).toEqual({ received: true, outcome: 'published' });
    expect(changeOf(await sub.next()).webhookStatus).toBe('long-id');
  });

  it('verifies the bytes received: a byte order mark or an invalid byte in a string is no 401', async () => {
    // svix's own signer and the spec's formula agree wherever svix can sign (valid UTF-8).
    const plain = statusChanged('plain');
    const signed = svixSigned(plain);
    expect(signBytes(secret, signed.id, Number(signed.headers['svix-timestamp']), Buffer.from(plain))).toBe(
      signed.headers['svix-signature'],
    );

    const withBom = `\uFEFF${statusChanged('bom')}`;
    expect((await deliver(withBom, svixSigned(withBom).headers)).body).toEqual({
      received: true,
      outcome: 'published',
    });
    expect(changeOf(await sub.next()).webhookStatus).toBe('bom');

    // A byte that is not UTF-8 inside a string (svix cannot sign bytes that are not text).
    const bytes = Buffer.concat([
      Buffer.from(`{"event":"contact_status_changed","contact_id":"${contact.id}","status":"raw","note":"a`),
      Buffer.from([0xff]),
      Buffer.from('b"}'),
    ]);
    const id = `msg_${randomBytes(8).toString('hex')}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'content-type': 'application/json',
      'svix-id': id,
      'svix-timestamp': String(timestamp),
      'svix-signature': signBytes(secret, id, timestamp, bytes),
    };
    expect((await deliver(bytes, headers)).body).toEqual({ received: true, outcome: 'published' });
    expect(changeOf(await sub.next()).webhookStatus).toBe('raw');

    // Authentic bytes that are not JSON: a stable 4xx, nothing acknowledged.
    const junk = Buffer.from([0xff, 0xfe, 0x7b, 0x00]);
    const junkId = `msg_${randomBytes(8).toString('hex')}`;
    const refused = await deliver(junk, {
      'svix-id': junkId,
      'svix-timestamp': String(timestamp),
      'svix-signature': signBytes(secret, junkId, timestamp, junk),
    });
    expect(refused).toMatchObject({ status: 400, body: { errors: [{ extensions: { code: 'BAD_REQUEST' } }] } });
  });
});

/** Whether a subscription's stream is still open a moment later (a refused one completes at once). */
async function isOpen(sub: Subscription): Promise<boolean> {
  const still = new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 300));
  return Promise.race([sub.completed.then(() => false), still]);
}

describe('forwarded keys: a subscription opens only for a key telli accepts', () => {
  const secret = testSecret();
  const tenantKey = 'tk_live_real_tenant_0123456789abcd';
  const otherKey = 'tk_live_other_tenant_0123456789abc';
  let telli: RunningSandbox;
  let layer: RunningProcess;
  let limited: RunningProcess;
  const subs: Subscription[] = [];
  beforeAll(async () => {
    // telli answers in 20 ms, so that key checks overlap as they would over a network.
    telli = await startSandbox({ apiKeys: [tenantKey, otherKey], latencyMs: 20 });
    const env = { TELLI_AUTH: 'forward', TELLI_BASE_URL: telli.url, TELLI_WEBHOOK_SECRET: secret };
    [layer, limited] = await Promise.all([
      startLayerProcess(env),
      startLayerProcess({ ...env, SUBSCRIPTIONS_MAX_PER_CALLER: '3', SUBSCRIPTIONS_MAX_PER_PEER: '5' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all(subs.map((s) => s.close()));
    await Promise.all([layer?.server.stop(), limited?.server.stop()]);
    await telli?.close();
  });
  const open = async (to: RunningProcess, key: string, viaFetch: typeof fetch = fetch) => {
    const sub = await subscribe(viaFetch, to.graphqlUrl, STATUS_CHANGED, {}, { authorization: `Bearer ${key}` });
    subs.push(sub);
    return sub;
  };
  const refusal = async (sub: Subscription) => {
    const frame = await sub.next();
    expect(await sub.completed).toBe(true);
    return frame.errors?.[0]?.extensions;
  };

  it('1000 made-up keys from one peer take no slot; the real tenant then opens all of its own; a webhook calls telli with no made-up key', async () => {
    telli.resetStats();
    const codes: Record<string, number> = {};
    for (let i = 0; i < 1000; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, async (_, j) =>
          refusal(await open(layer, `made-up-key-${i + j}-${randomBytes(4).toString('hex')}`)),
        ),
      );
      for (const extensions of batch)
        codes[String(extensions?.['code'])] = (codes[String(extensions?.['code'])] ?? 0) + 1;
    }
    const checks = telli.stats.unauthorized;
    process.stdout.write(
      `1000 made-up keys: ${JSON.stringify(codes)}; telli refused ${checks} key checks, at most ${telli.transport.maxInFlight} at once\n`,
    );
    // 50 subscriptions at a time, their keys checked a few at a time: telli sees a trickle.
    expect(telli.transport.maxInFlight).toBeLessThanOrEqual(8);
    expect(codes).toEqual({ UNAUTHENTICATED: 1000 });
    // One check per key, refused by telli: no other telli call was made with them.
    expect(checks).toBe(1000);
    expect(telli.totalCalls()).toBe(0);
    // A made-up key tried again is refused from memory: no telli call.
    const before = telli.stats.unauthorized;
    expect((await refusal(await open(layer, 'made-up-key-0-again')))?.['code']).toBe('UNAUTHENTICATED');
    expect((await refusal(await open(layer, 'made-up-key-0-again')))?.['code']).toBe('UNAUTHENTICATED');
    expect(telli.stats.unauthorized).toBe(before + 1);

    // The real tenant, from the same peer: all of its SUBSCRIPTIONS_MAX_PER_CALLER (100) are free.
    const tenant = await Promise.all(Array.from({ length: 100 }, () => open(layer, tenantKey)));
    expect(await Promise.all(tenant.map(isOpen))).toEqual(tenant.map(() => true));
    telli.resetStats();
    const contact = [...telli.contacts.values()][7] as SandboxContact;
    const webhook = signedWebhook(secret, {
      event: 'contact_status_changed',
      contact_id: contact.id,
      status: 'reached',
    });
    const res = await fetch(`${layer.url}/webhooks/telli`, {
      method: 'POST',
      headers: webhook.headers,
      body: webhook.body,
    });
    expect(res.status).toBe(200);
    for (const sub of tenant) expect(changeOf(await sub.next()).contact.id).toBe(contact.id);
    // The tenant's re-reads, shared; nothing with any other key.
    expect(Object.keys(telli.stats.callsByKey)).toEqual([tenantKey]);
    expect(telli.stats.unauthorized).toBe(0);
    await Promise.all(tenant.map((s) => s.close()));
  });

  it('one peer cannot take more than SUBSCRIPTIONS_MAX_PER_PEER, whatever its keys; another peer still can', async () => {
    const mine = [await open(limited, tenantKey), await open(limited, tenantKey), await open(limited, tenantKey)];
    expect(await refusal(await open(limited, tenantKey))).toMatchObject({ scope: 'caller', limit: 3 });
    mine.push(await open(limited, otherKey), await open(limited, otherKey));
    expect(await Promise.all(mine.map(isOpen))).toEqual([true, true, true, true, true]);
    expect(await refusal(await open(limited, otherKey))).toMatchObject({
      code: 'TOO_MANY_SUBSCRIPTIONS',
      scope: 'peer',
      limit: 5,
    });
    // Another address on the loopback network is another peer.
    const elsewhere = new Agent({ localAddress: '127.0.0.2' });
    try {
      const other = await open(limited, otherKey, ((url: string, init: RequestInit) =>
        undiciFetch(url, { ...init, dispatcher: elsewhere } as Parameters<typeof undiciFetch>[1])) as typeof fetch);
      expect(await isOpen(other)).toBe(true);
      await other.close();
    } finally {
      await Promise.all(mine.map((s) => s.close()));
      await elsewhere.close();
    }
  });
});

describe('subscriptions: the work events put in flight is bounded', () => {
  const secret = testSecret();
  const key = 'tk_live_hostile_events_0123456789a';
  let telli: RunningSandbox;
  let layer: RunningProcess;
  beforeAll(async () => {
    telli = await startSandbox({ apiKeys: [key] });
    layer = await startLayerProcess({ TELLI_API_KEY: key, TELLI_BASE_URL: telli.url, TELLI_WEBHOOK_SECRET: secret });
  });
  afterAll(async () => {
    await layer?.server.stop();
    await telli?.close();
  });

  it('100 subscriptions of 90 aliased contacts each, 10 webhooks/s: /health keeps answering', async () => {
    const contact = [...telli.contacts.values()][9] as SandboxContact;
    const fields = 'id firstName lastName status callAttempts nextCallAt createdAt reachedAt email salutation';
    const aliases = Array.from({ length: 90 }, (_, i) => `c${i}: contact { ${fields} }`).join(' ');
    const query = `subscription ($ids: [ID!]) { contactStatusChanged(contactIds: $ids) { ${aliases} } }`;
    // A light subscriber: counts events without parsing them (100 × 10 × ~40 KB a second).
    const controllers: AbortController[] = [];
    let events = 0;
    const streams = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const controller = new AbortController();
        controllers.push(controller);
        const res = await fetch(layer.graphqlUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
          body: JSON.stringify({ query, variables: { ids: [contact.id] } }),
          signal: controller.signal,
        });
        const reader = (res.body as ReadableStream<Uint8Array>).getReader();
        const decoder = new TextDecoder();
        await reader.read(); // the stream has started (a ":" ping)
        void (async () => {
          // Frames are split anywhere: count markers over the last bytes of one read and the next.
          let tail = '';
          try {
            for (;;) {
              const { done, value } = await reader.read();
              if (done) return;
              const text = tail + decoder.decode(value, { stream: true });
              events += (text.match(/event: next/g) ?? []).length - (tail.match(/event: next/g) ?? []).length;
              tail = text.slice(-10);
            }
          } catch {
            // aborted
          }
        })();
        return res.status;
      }),
    );
    expect(streams.every((status) => status === 200)).toBe(true);

    const probe = startProbe(`${layer.url}/health`);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the probe is polling
    // Every 100 ms, whether the previous one was answered yet or not, as Svix sends.
    const t0 = performance.now();
    const deliveries: Promise<number>[] = [];
    for (let i = 0; i < 60; i++) {
      const webhook = signedWebhook(secret, {
        event: 'contact_status_changed',
        contact_id: contact.id,
        status: `s${i}`,
      });
      deliveries.push(
        fetch(`${layer.url}/webhooks/telli`, { method: 'POST', headers: webhook.headers, body: webhook.body }).then(
          (res) => res.status,
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 + (i + 1) * 100 - performance.now())));
    }
    const sent = (await Promise.all(deliveries)).filter((status) => status === 200).length;
    const sendMs = performance.now() - t0;
    const probes = await probe.stop();
    // Whatever is still queued is being worked off; it is no part of the bound.
    const metrics = await (await fetch(`${layer.url}/metrics`)).text();
    const outcome = (name: string) =>
      Number(
        new RegExp(`telli_subscription_events_total\\{type="contact_status_changed",outcome="${name}"\\} (\\d+)`).exec(
          metrics,
        )?.[1] ?? 0,
      );
    for (const controller of controllers) controller.abort();
    process.stdout.write(
      `100 subscriptions × 90 aliased contacts, ${sent} webhooks in ${Math.round(sendMs)} ms: ` +
        `/health p50 ${ms(probes, 0.5)} ms max ${ms(probes, 1)} ms over ${probes.length} probes; ` +
        `events delivered ${outcome('delivered')}, dropped ${outcome('dropped')}, received by the clients ${events} (of ${sent * 100})\n`,
    );
    expect(sent).toBe(60);
    expect(events).toBeGreaterThan(0);
    expect(Math.max(...probes)).toBeLessThan(1000);
  }, 60_000);
});
