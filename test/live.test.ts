import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDemoContacts, type SandboxContact } from '../src/sandbox/index.js';
import { subscribe, signedWebhook, testSecret, type Subscription } from './support/sse.js';
import { createTestStack, unknownId, type TestStack } from './support/stack.js';

/**
 * The live graph on one instance (in-process bus), through createLayer against the sandbox over
 * loopback: webhooks signed as Svix signs them, delivered to /webhooks/telli, subscriptions read
 * over SSE from the same edge. Upstream reads are the sandbox's own counts.
 */
const BATCH = 'POST /v1/get-contacts-batch';
const SKIPPED = 'subscription event skipped: the re-read failed (forwarded key: cannot tell whose contact it is)';
const STATUS_CHANGED = `subscription ($ids: [ID!]) {
  contactStatusChanged(contactIds: $ids) {
    contact { id firstName status }
    status
    webhookStatus
    occurredAt
  }
}`;

type Change = {
  contact: { id: string; firstName: string; status: string };
  status: string;
  webhookStatus: string | null;
  occurredAt: string;
};

function statusChanged(contactId: string, status = 'reached', extra: Record<string, unknown> = {}) {
  return { event: 'contact_status_changed', contact_id: contactId, status, ...extra };
}

describe('POST /webhooks/telli and subscriptions, one instance', () => {
  const secret = testSecret();
  const rotated = testSecret();
  let stack: TestStack;
  let contacts: SandboxContact[];
  const open: Subscription[] = [];
  /** Every webhook answer of this block, headers included, for the secrets test at its end. */
  const answers: string[] = [];

  const deliver = async (webhook: { body: string; headers: Record<string, string> }, init: RequestInit = {}) => {
    const res = await stack.app.fetch('http://layer.test/webhooks/telli', {
      method: 'POST',
      headers: webhook.headers,
      body: webhook.body,
      ...init,
    });
    const text = await res.text();
    answers.push(JSON.stringify([...res.headers]) + text);
    return { status: res.status, text };
  };
  const listen = async (query = STATUS_CHANGED, variables: Record<string, unknown> = {}, headers = {}) => {
    const sub = await subscribe(
      (url, init) => stack.app.fetch(url, init),
      'http://layer.test/graphql',
      query,
      variables,
      headers,
    );
    open.push(sub);
    return sub;
  };

  beforeAll(async () => {
    stack = await createTestStack({
      env: { TELLI_WEBHOOK_SECRET: `${secret}, ${rotated}`, TELLI_CACHE_TTL_MS: '60000', METRICS: 'true' },
    });
    contacts = [...stack.sandbox.contacts.values()];
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  afterAll(() => stack.close());

  it('delivers a re-read contact to a subscriber, fresh: the TTL cache is dropped first', async () => {
    const c = contacts[4] as SandboxContact;
    const read = () => stack.raw(`{ contact(id: "${c.id}") { firstName } }`);
    expect((await read()).data).toEqual({ contact: { firstName: c.firstName } });
    // Changed in telli behind the layer's back: the cache (60 s) still answers the old name.
    const patched = await fetch(`${stack.sandbox.url}/v2/contacts/${c.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${stack.sandbox.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ firstName: 'Renamed' }),
    });
    expect(patched.status).toBe(200);
    expect((await read()).data).toEqual({ contact: { firstName: c.firstName } });

    const sub = await listen();
    expect(sub.status).toBe(200);
    expect(sub.headers.get('content-type')).toContain('text/event-stream');
    const webhook = signedWebhook(secret, statusChanged(c.id.toUpperCase(), 'reached'));
    expect(await deliver(webhook)).toEqual({
      status: 200,
      text: JSON.stringify({ received: true, outcome: 'published' }),
    });
    const event = (await sub.next()).data?.['contactStatusChanged'] as Change;
    expect(event).toMatchObject({ contact: { id: c.id, firstName: 'Renamed' }, webhookStatus: 'reached' });
    expect(event.status).toBe(event.contact.status);
    expect(Number.isNaN(Date.parse(event.occurredAt))).toBe(false);
    // And queries after the event are fresh too.
    expect((await read()).data).toEqual({ contact: { firstName: 'Renamed' } });
  });

  it('each event is re-read: a second event for the same contact sees the newer state', async () => {
    const c = contacts[6] as SandboxContact;
    const sub = await listen(STATUS_CHANGED, { ids: [c.id] });
    await deliver(signedWebhook(secret, statusChanged(c.id, 'pending')));
    expect(((await sub.next()).data?.['contactStatusChanged'] as Change).contact.firstName).toBe(c.firstName);
    stack.sandbox.setRawV1(c.id, { contact_id: c.id, first_name: 'Second', reached_at: '2026-01-02T10:00:00Z' });
    try {
      await deliver(signedWebhook(secret, statusChanged(c.id, 'reached')));
      const second = (await sub.next()).data?.['contactStatusChanged'] as Change;
      expect(second).toMatchObject({ contact: { firstName: 'Second', status: 'REACHED' }, status: 'REACHED' });
    } finally {
      stack.sandbox.setRawV1(c.id, undefined);
    }
  });

  it('finds the contact id where telli may put it, and keeps telli’s status word', async () => {
    const [a, b, c, d] = contacts.slice(10, 14) as SandboxContact[];
    const sub = await listen(STATUS_CHANGED, { ids: [a, b, c, d].map((x) => (x as SandboxContact).id) });
    const shapes = [
      { event: 'contact_status_changed', contact: { contact_id: (a as SandboxContact).id, status: 'new' } },
      { event: 'contact_status_changed', contactId: (b as SandboxContact).id, new_status: 'closed' },
      { event: 'contact_status_changed', call: { contact_id: (c as SandboxContact).id }, status: 'pending' },
      { event: 'contact_status_changed', contact_id: (d as SandboxContact).id, surprise: { nested: true } },
    ];
    for (const shape of shapes) expect((await deliver(signedWebhook(secret, shape))).status).toBe(200);
    const got: [string, string | null][] = [];
    for (let i = 0; i < shapes.length; i++) {
      const e = (await sub.next()).data?.['contactStatusChanged'] as Change;
      got.push([e.contact.id, e.webhookStatus]);
    }
    expect(got).toEqual([
      [(a as SandboxContact).id, 'new'],
      [(b as SandboxContact).id, 'closed'],
      [(c as SandboxContact).id, 'pending'],
      [(d as SandboxContact).id, null],
    ]);
  });

  it('answers each case of the route with its status, and only a valid new delivery publishes', async () => {
    const c = contacts[20] as SandboxContact;
    const sub = await listen(STATUS_CHANGED, { ids: [c.id] });
    const good = signedWebhook(secret, statusChanged(c.id, 'pending'));
    const { ['svix-signature']: _signature, ...unsigned } = good.headers;
    const cases: [string, Promise<{ status: number; text: string }>][] = [
      ['no svix headers', deliver({ body: good.body, headers: { 'content-type': 'application/json' } })],
      ['no signature', deliver({ body: good.body, headers: unsigned })],
      ['another secret', deliver(signedWebhook(testSecret(), statusChanged(c.id)))],
      ['body changed after signing', deliver({ body: good.body.replace('pending', 'reached'), headers: good.headers })],
      [
        'stale timestamp',
        deliver(signedWebhook(secret, statusChanged(c.id), { timestamp: new Date(Date.now() - 6 * 60_000) })),
      ],
      [
        'timestamp in the future',
        deliver(signedWebhook(secret, statusChanged(c.id), { timestamp: new Date(Date.now() + 6 * 60_000) })),
      ],
      ['authentic but not JSON', deliver(signedWebhook(secret, null, { body: '{"event": "contact_status_' }))],
      ['too large', deliver(signedWebhook(secret, statusChanged(c.id, 'x'.repeat(1024 * 1024))))],
      ['GET', deliver({ body: '', headers: {} }, { method: 'GET', body: null })],
      ['unknown event type', deliver(signedWebhook(secret, { event: 'agent_retired', agent_id: 'a' }))],
      ['no contact id', deliver(signedWebhook(secret, { event: 'contact_status_changed', contact_id: 'not-a-uuid' }))],
    ];
    const statuses: Record<string, number> = {};
    for (const [name, response] of cases) statuses[name] = (await response).status;
    expect(statuses).toEqual({
      'no svix headers': 401,
      'no signature': 401,
      'another secret': 401,
      'body changed after signing': 401,
      'stale timestamp': 401,
      'timestamp in the future': 401,
      'authentic but not JSON': 400,
      'too large': 413,
      GET: 405,
      'unknown event type': 200,
      'no contact id': 200,
    });
    const refused = await deliver({ body: good.body, headers: unsigned });
    expect(JSON.parse(refused.text)).toEqual({
      errors: [{ message: expect.any(String), extensions: { code: 'WEBHOOK_SIGNATURE_INVALID' } }],
    });
    // None of that reached the subscriber: the next event it sees is the valid one.
    expect((await deliver(good)).status).toBe(200);
    expect(((await sub.next()).data?.['contactStatusChanged'] as Change).webhookStatus).toBe('pending');
  });

  it('acknowledges a redelivered svix-id without processing it again', async () => {
    const c = contacts[21] as SandboxContact;
    const sub = await listen(STATUS_CHANGED, { ids: [c.id] });
    const first = signedWebhook(secret, statusChanged(c.id, 'pending'));
    expect(JSON.parse((await deliver(first)).text)).toEqual({ received: true, outcome: 'published' });
    // Svix signs every attempt anew, with the same message id.
    const again = signedWebhook(secret, statusChanged(c.id, 'pending'), { id: first.id });
    expect(JSON.parse((await deliver(again)).text)).toEqual({ received: true, outcome: 'duplicate' });
    await deliver(signedWebhook(secret, statusChanged(c.id, 'reached')));
    expect(((await sub.next()).data?.['contactStatusChanged'] as Change).webhookStatus).toBe('pending');
    expect(((await sub.next()).data?.['contactStatusChanged'] as Change).webhookStatus).toBe('reached');
  });

  it('accepts every configured secret (rotation)', async () => {
    const c = contacts[22] as SandboxContact;
    const sub = await listen(STATUS_CHANGED, { ids: [c.id] });
    expect((await deliver(signedWebhook(rotated, statusChanged(c.id, 'closed')))).status).toBe(200);
    expect(((await sub.next()).data?.['contactStatusChanged'] as Change).webhookStatus).toBe('closed');
  });

  it('filters by contactIds, skips contacts the key cannot read, and reads once for many subscribers', async () => {
    const [a, b] = contacts.slice(30, 32) as [SandboxContact, SandboxContact];
    const onlyA = await listen(STATUS_CHANGED, { ids: [a.id] });
    const all = await Promise.all([listen(), listen(), listen(), listen()]);
    await deliver(signedWebhook(secret, statusChanged(unknownId(7), 'reached')));
    await deliver(signedWebhook(secret, statusChanged(b.id, 'pending')));
    // The unknown contact is never sent: b is the first event each subscriber sees.
    for (const sub of all) {
      expect(((await sub.next()).data?.['contactStatusChanged'] as Change).contact.id).toBe(b.id);
    }
    stack.sandbox.resetStats();
    await deliver(signedWebhook(secret, statusChanged(a.id, 'reached')));
    for (const sub of all) {
      expect(((await sub.next()).data?.['contactStatusChanged'] as Change).contact.id).toBe(a.id);
    }
    expect(((await onlyA.next()).data?.['contactStatusChanged'] as Change).contact.id).toBe(a.id);
    // Five subscribers with the same key, one event: one upstream read (single-flight).
    expect(stack.sandbox.stats.calls[BATCH]).toBe(1);
  });

  it('callEnded carries the contact, telli’s call fields and the call re-read from telli', async () => {
    const c = contacts.find((x) => x.callAttempts > 1 && !x.inCallSince) as SandboxContact;
    const call = stack.sandbox.calls(c.id)[0];
    const sub = await listen(
      `subscription ($ids: [ID!]) { callEnded(contactIds: $ids) {
        contact { id callAttempts properties { key } }
        callId callStatus occurredAt
        call { id status attempt }
      } }`,
      { ids: [c.id] },
    );
    await deliver(
      signedWebhook(secret, {
        event: 'call_ended',
        call: { call_id: call?.call_id, call_status: call?.call_status, contact_id: c.id, ended_at: call?.ended_at },
        contact: { contact_id: c.id, first_name: 'whatever the webhook says' },
      }),
    );
    const frame = await sub.next();
    expect(frame.errors).toBeUndefined();
    const event = frame.data?.['callEnded'] as Record<string, unknown>;
    expect(event).toMatchObject({
      contact: { id: c.id, callAttempts: c.callAttempts, properties: expect.any(Array) },
      callId: call?.call_id,
      callStatus: call?.call_status,
      call: { id: call?.call_id, attempt: call?.attempt },
      occurredAt: new Date(call?.ended_at as number).toISOString(),
    });
  });

  it('with one server key, a failed re-read is sent as the event with its error', async () => {
    const c = contacts[40] as SandboxContact;
    const sub = await listen(STATUS_CHANGED, { ids: [c.id] });
    stack.sandbox.injectFault({
      fault: { kind: 'status', status: 503 },
      match: (r) => r.url === '/v1/get-contacts-batch',
    });
    try {
      await deliver(signedWebhook(secret, statusChanged(c.id, 'pending')));
      const frame = await sub.next();
      expect(frame.data).toBeNull();
      expect(frame.errors?.map((e) => e.extensions?.['code'])).toContain('UPSTREAM_UNAVAILABLE');
    } finally {
      stack.sandbox.clearFaults();
    }
  });

  it('refuses bad contactIds with BAD_USER_INPUT, before subscribing', async () => {
    const tooMany = Array.from({ length: 1001 }, (_, i) => unknownId(i));
    for (const ids of [tooMany, ['nope'], []]) {
      const sub = await listen(STATUS_CHANGED, { ids });
      const frame = await sub.next();
      expect(frame.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
      expect(await sub.completed).toBe(true);
    }
    // The three refused ones never opened; the earlier tests' closed ones are gone too.
    await expect.poll(() => stack.layer.live.openSubscriptions()).toBe(0);
  });

  it('keeps no GraphQL admission slot for a subscription’s lifetime', async () => {
    const limited = await createTestStack({ env: { TELLI_WEBHOOK_SECRET: secret, MAX_OPERATIONS_IN_FLIGHT: '1' } });
    try {
      // One after the other: each holds its slot only until its event stream has started.
      const go = () =>
        subscribe((url, init) => limited.app.fetch(url, init), 'http://layer.test/graphql', STATUS_CHANGED);
      const subs = [await go(), await go()];
      expect(subs.map((s) => s.status)).toEqual([200, 200]);
      expect(limited.layer.live.openSubscriptions()).toBe(2);
      expect((await limited.raw('{ __typename }')).data).toEqual({ __typename: 'Query' });
      await Promise.all(subs.map((s) => s.close()));
    } finally {
      await limited.close();
    }
  });

  it('limits subscriptions per caller (TOO_MANY_SUBSCRIPTIONS) and frees the slot when one ends', async () => {
    const limited = await createTestStack({
      env: { TELLI_WEBHOOK_SECRET: secret, SUBSCRIPTIONS_MAX_PER_CALLER: '2' },
    });
    const go = () =>
      subscribe((url, init) => limited.app.fetch(url, init), 'http://layer.test/graphql', STATUS_CHANGED);
    try {
      const [one, two] = await Promise.all([go(), go()]);
      const third = await go();
      expect((await third.next()).errors?.[0]?.extensions).toMatchObject({
        code: 'TOO_MANY_SUBSCRIPTIONS',
        limit: 2,
        scope: 'caller',
      });
      await one?.close();
      await expect.poll(() => limited.layer.live.openSubscriptions()).toBe(1);
      const fourth = await go();
      expect(limited.layer.live.openSubscriptions()).toBe(2);
      await Promise.all([two?.close(), fourth.close()]);
      await expect.poll(() => limited.layer.live.openSubscriptions()).toBe(0);
    } finally {
      await limited.close();
    }
  });

  it('a gateway (caller token) is limited by SUBSCRIPTIONS_MAX only; its tenants (forwarded keys) per caller', async () => {
    const token = 'gateway-token-limits-0123456789abcdef';
    const limits = { SUBSCRIPTIONS_MAX_PER_CALLER: '1', SUBSCRIPTIONS_MAX_PER_PEER: '1' };
    const refusal = async (sub: Subscription) => {
      const frame = await sub.next();
      expect(await sub.completed).toBe(true);
      return frame.errors?.[0]?.extensions;
    };
    const serverKey = await createTestStack({
      env: { TELLI_WEBHOOK_SECRET: secret, CALLER_TOKENS: token, SUBSCRIPTIONS_MAX: '3', ...limits },
    });
    const tenants = ['tk_live_gateway_tenant_a_0123456789', 'tk_live_gateway_tenant_b_0123456789'];
    const forward = await createTestStack({
      auth: 'forward',
      sandbox: { apiKeys: tenants },
      env: { TELLI_WEBHOOK_SECRET: secret, CALLER_TOKENS: token, ...limits },
    });
    const subs: Subscription[] = [];
    const go = async (on: TestStack, headers: Record<string, string>) => {
      const sub = await subscribe(
        (url, init) => on.app.fetch(url, init),
        'http://layer.test/graphql',
        STATUS_CHANGED,
        {},
        { 'x-caller-token': token, ...headers },
      );
      subs.push(sub);
      return sub;
    };
    try {
      // One gateway, one peer, three subscriptions: past both per-caller and per-peer limits of 1.
      for (let i = 0; i < 3; i++) await go(serverKey, {});
      expect(serverKey.layer.live.openSubscriptions()).toBe(3);
      expect(await refusal(await go(serverKey, {}))).toMatchObject({ code: 'TOO_MANY_SUBSCRIPTIONS', scope: 'server' });

      // Forwarded keys behind the gateway: each tenant has its own share, the peer none.
      const a = { authorization: `Bearer ${tenants[0]}` };
      const b = { authorization: `Bearer ${tenants[1]}` };
      await go(forward, a);
      await expect.poll(() => forward.layer.live.openSubscriptions()).toBe(1);
      expect(await refusal(await go(forward, a))).toMatchObject({ code: 'TOO_MANY_SUBSCRIPTIONS', scope: 'caller' });
      await go(forward, b);
      await expect.poll(() => forward.layer.live.openSubscriptions()).toBe(2);
    } finally {
      await Promise.all(subs.map((sub) => sub.close()));
      await Promise.all([serverKey.close(), forward.close()]);
    }
  });

  it('without caller tokens every caller is limited per caller and per peer', async () => {
    const limited = await createTestStack({
      env: { TELLI_WEBHOOK_SECRET: secret, SUBSCRIPTIONS_MAX_PER_CALLER: '5', SUBSCRIPTIONS_MAX_PER_PEER: '1' },
    });
    const go = () =>
      subscribe((url, init) => limited.app.fetch(url, init), 'http://layer.test/graphql', STATUS_CHANGED);
    try {
      const first = await go();
      const second = await go();
      expect((await second.next()).errors?.[0]?.extensions).toMatchObject({
        code: 'TOO_MANY_SUBSCRIPTIONS',
        scope: 'peer',
      });
      await first.close();
    } finally {
      await limited.close();
    }
  });

  it('completes open subscriptions when the layer stops them (shutdown)', async () => {
    const sub = await listen();
    await stack.layer.completeSubscriptions();
    expect(await sub.completed).toBe(true);
    expect(stack.layer.live.openSubscriptions()).toBe(0);
  });

  it('counts deliveries by outcome, events by type and open subscriptions', async () => {
    const sub = await listen();
    const metrics = await (await stack.app.fetch('http://layer.test/metrics')).text();
    expect(metrics).toMatch(/telli_webhook_deliveries_total\{outcome="published"\} [1-9]/);
    expect(metrics).toMatch(/telli_webhook_deliveries_total\{outcome="duplicate"\} [1-9]/);
    expect(metrics).toMatch(/telli_webhook_deliveries_total\{outcome="unauthenticated"\} [1-9]/);
    expect(metrics).toMatch(/telli_webhook_deliveries_total\{outcome="invalid_json"\} 1/);
    expect(metrics).toMatch(/telli_webhook_deliveries_total\{outcome="too_large"\} 1/);
    expect(metrics).toMatch(/telli_webhook_events_total\{type="contact_status_changed"\} [1-9]/);
    expect(metrics).toMatch(/telli_webhook_events_total\{type="call_ended"\} 1/);
    expect(metrics).toMatch(/telli_webhook_events_total\{type="unknown"\} 1/);
    expect(metrics).toMatch(/telli_webhook_unknown_fields_total\{type="contact_status_changed"\} 1/);
    expect(metrics).toMatch(
      /telli_subscription_events_total\{type="contact_status_changed",outcome="unreadable"\} [1-9]/,
    );
    expect(metrics).toMatch(/telli_subscriptions_open\{type="contact_status_changed"\} 1/);
    await sub.close();
  });

  it('never puts a webhook secret into a log line or a response', () => {
    const logs = stack.logs.text();
    expect(logs).toContain('webhook refused: not authentic');
    // The answers of every case above: accepted, duplicate, ignored, refused (401/400/413/405).
    const responses = answers.join('\n');
    expect(responses).toContain('WEBHOOK_SIGNATURE_INVALID');
    expect(responses).toContain('"outcome":"published"');
    for (const text of [logs, responses]) {
      for (const s of [secret, rotated]) {
        expect(text).not.toContain(s);
        expect(text).not.toContain(s.slice('whsec_'.length));
      }
      expect(text).not.toContain('whsec_');
    }
  });
});

describe('tenancy (forwarded keys): no event crosses accounts', () => {
  const secret = testSecret();
  const tenantKey = 'tenant-b-key-0123456789abcdef';
  let stack: TestStack;

  beforeAll(async () => {
    stack = await createTestStack({
      auth: 'forward',
      sandbox: { tenants: { [tenantKey]: createDemoContacts(20, 99) } },
      env: { TELLI_WEBHOOK_SECRET: secret },
    });
  });
  afterAll(() => stack.close());

  it('a subscriber receives only events of contacts its own key can read', async () => {
    const mine = [...stack.sandbox.contacts.values()][3] as SandboxContact;
    const headersA = { authorization: `Bearer ${stack.sandbox.apiKey}` };
    const headersB = { authorization: `Bearer ${tenantKey}` };
    const go = (headers: Record<string, string>) =>
      subscribe((url, init) => stack.app.fetch(url, init), 'http://layer.test/graphql', STATUS_CHANGED, {}, headers);
    const [a, b] = await Promise.all([go(headersA), go(headersB)]);
    const deliver = (payload: unknown) =>
      stack.app.fetch('http://layer.test/webhooks/telli', { method: 'POST', ...signedWebhook(secret, payload) });
    // Tenant A's contact changed: B's read of it finds nothing, so B is not told.
    expect((await deliver(statusChanged(mine.id, 'reached'))).status).toBe(200);
    // A contact only tenant B has (the tenant's seeded ids are not the default account's).
    const theirs = createDemoContacts(20, 99).find((x) => !stack.sandbox.contacts.has(x.id)) as SandboxContact;
    expect((await deliver(statusChanged(theirs.id, 'pending'))).status).toBe(200);
    expect(((await a.next()).data?.['contactStatusChanged'] as Change).contact.id).toBe(mine.id);
    expect(((await b.next()).data?.['contactStatusChanged'] as Change).contact.id).toBe(theirs.id);
    // B's event was not sent to A: A's next event is a marker delivered after it.
    const marker = [...stack.sandbox.contacts.values()][4] as SandboxContact;
    expect((await deliver(statusChanged(marker.id, 'pending'))).status).toBe(200);
    expect(((await a.next()).data?.['contactStatusChanged'] as Change).contact.id).toBe(marker.id);
    await Promise.all([a.close(), b.close()]);
  });

  it('a failed re-read is not sent in forwarded-key mode: it cannot tell whose contact it is', async () => {
    const mine = [...stack.sandbox.contacts.values()][5] as SandboxContact;
    const sub = await subscribe(
      (url, init) => stack.app.fetch(url, init),
      'http://layer.test/graphql',
      STATUS_CHANGED,
      {},
      { authorization: `Bearer ${stack.sandbox.apiKey}`, 'x-request-id': 'forwarded-skip-test' },
    );
    const deliver = (payload: unknown) =>
      stack.app.fetch('http://layer.test/webhooks/telli', { method: 'POST', ...signedWebhook(secret, payload) });
    // This subscriber's own log line (other open subscriptions may skip the event too).
    const skipped = () =>
      stack.logs.lines().filter((l) => l['requestId'] === 'forwarded-skip-test' && l['msg'] === SKIPPED).length;
    stack.sandbox.injectFault({
      fault: { kind: 'status', status: 503 },
      match: (r) => r.url === '/v1/get-contacts-batch',
    });
    try {
      expect((await deliver(statusChanged(mine.id, 'pending'))).status).toBe(200);
      await expect.poll(skipped).toBe(1);
    } finally {
      stack.sandbox.clearFaults();
    }
    await deliver(statusChanged(mine.id, 'reached'));
    // The next event this subscriber sees is the one after the failed read.
    expect(((await sub.next()).data?.['contactStatusChanged'] as Change).webhookStatus).toBe('reached');
    await sub.close();
  });

  it('refuses a subscriber without a telli key', async () => {
    const sub = await subscribe((url, init) => stack.app.fetch(url, init), 'http://layer.test/graphql', STATUS_CHANGED);
    // Without a key nothing is readable: every event would be skipped, so say so at once.
    const frame = await sub.next();
    expect(frame.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });
});

describe('without TELLI_WEBHOOK_SECRET', () => {
  it('/webhooks/telli is not a route (404), like any unknown path', async () => {
    const stack = await createTestStack();
    try {
      const res = await stack.app.fetch('http://layer.test/webhooks/telli', { method: 'POST', body: '{}' });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ errors: [{ extensions: { code: 'NOT_FOUND' } }] });
    } finally {
      await stack.close();
    }
  });
});

describe("server key mode: telli rejecting this server's key during an event", () => {
  it('tells the subscriber TELLI_SERVER_KEY_REJECTED and raises the same fatal alert a query does', async () => {
    const secret = testSecret();
    const stack = await createTestStack({
      serverApiKey: 'tk_live_wrong_server_key_456',
      env: { TELLI_WEBHOOK_SECRET: secret },
    });
    try {
      const contact = [...stack.sandbox.contacts.values()][0] as SandboxContact;
      const sub = await subscribe(
        (url, init) => stack.app.fetch(url, init),
        'http://layer.test/graphql',
        STATUS_CHANGED,
        { ids: [contact.id] },
      );
      const webhook = signedWebhook(secret, statusChanged(contact.id));
      const res = await stack.app.fetch('http://layer.test/webhooks/telli', {
        method: 'POST',
        headers: webhook.headers,
        body: webhook.body,
      });
      expect(res.status).toBe(200);
      const frame = await sub.next();
      expect(frame.errors?.map((e) => e.extensions?.['code'])).toEqual(['TELLI_SERVER_KEY_REJECTED']);
      const alert = stack.logs.lines().find((l) => l['alert'] === 'telli-server-key-rejected');
      expect(alert).toMatchObject({ level: 'fatal' });
      expect(stack.logs.text()).not.toContain('tk_live_wrong_server_key_456');
      expect(JSON.stringify(frame)).not.toContain('tk_live_wrong_server_key_456');
      await sub.close();
    } finally {
      await stack.close();
    }
  });
});
