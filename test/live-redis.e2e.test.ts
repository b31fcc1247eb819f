import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLAIM_AND_PUBLISH_SCRIPT } from '../src/live/dedupe.js';
import { startSandbox, type RunningSandbox, type SandboxContact } from '../src/sandbox/index.js';
import { postGraphQL, startLayerProcess, type RunningProcess } from './support/process.js';
import { startCallbackRouter } from './support/callback-router.js';
import { startRedis, type RedisServer } from './support/redis.js';
import { signedWebhook, subscribe, testSecret, type Subscription } from './support/sse.js';

/**
 * Two instances of the built server (dist/server.js) sharing a real redis-server: a webhook
 * delivered to either reaches the subscribers — and drops the caches — of both, once; a
 * redelivery to the other instance is a duplicate; with Redis down, webhooks are refused (503)
 * and readiness says so while queries are still answered; after Redis comes back on the same
 * port, delivery resumes with no restart.
 */
const SUBSCRIPTION = `subscription ($ids: [ID!]) {
  contactStatusChanged(contactIds: $ids) { contact { id firstName } webhookStatus }
}`;
type Change = { contact: { id: string; firstName: string }; webhookStatus: string };
const changeOf = (frame: { data?: Record<string, unknown> | null }) => frame.data?.['contactStatusChanged'] as Change;

describe('many instances through Redis', () => {
  const secret = testSecret();
  const key = 'tk_live_redis_e2e_0123456789abcdef';
  let redis: RedisServer;
  let telli: RunningSandbox;
  let a: RunningProcess;
  let b: RunningProcess;
  let contact: SandboxContact;
  const subs: Subscription[] = [];

  const deliver = async (to: RunningProcess, webhook: { body: string; headers: Record<string, string> }) => {
    const res = await fetch(`${to.url}/webhooks/telli`, {
      method: 'POST',
      headers: webhook.headers,
      body: webhook.body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const readiness = async (of: RunningProcess) => {
    const res = await fetch(`${of.url}/readiness`);
    return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
  };
  const event = (id: string, status: string, messageId?: string) =>
    signedWebhook(
      secret,
      { event: 'contact_status_changed', contact_id: id, status },
      messageId ? { id: messageId } : {},
    );

  beforeAll(async () => {
    redis = await startRedis();
    telli = await startSandbox({ apiKeys: [key] });
    contact = [...telli.contacts.values()][8] as SandboxContact;
    const env = {
      TELLI_API_KEY: key,
      TELLI_BASE_URL: telli.url,
      TELLI_WEBHOOK_SECRET: secret,
      REDIS_URL: redis.url,
      REDIS_PREFIX: `e2e-${process.pid}:`,
      TELLI_CACHE_TTL_MS: '600000',
      READINESS_CACHE_MS: '100000',
    };
    [a, b] = await Promise.all([startLayerProcess(env), startLayerProcess(env)]);
    // Ready once both Redis connections are up and subscribed (expect.poll works in tests only).
    for (const instance of [a, b]) {
      for (let i = 0; (await readiness(instance)).status !== 200; i++) {
        if (i > 200) throw new Error('an instance never became ready');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  });
  afterAll(async () => {
    await Promise.all(subs.map((s) => s.close()));
    await Promise.all([a?.server.stop(), b?.server.stop()]);
    await telli?.close();
    await redis?.stop();
  });

  it('a webhook to one instance reaches subscribers on both and drops both caches', async () => {
    const readName = async (on: RunningProcess) =>
      (
        (await postGraphQL(on.graphqlUrl, { query: `{ contact(id: "${contact.id}") { firstName } }` })).body.data?.[
          'contact'
        ] as { firstName: string }
      ).firstName;
    // Both instances cache the contact (10 minutes).
    expect([await readName(a), await readName(b)]).toEqual([contact.firstName, contact.firstName]);
    const patched = await fetch(`${telli.url}/v2/contacts/${contact.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ firstName: 'Multi' }),
    });
    expect(patched.status).toBe(200);
    expect(await readName(b)).toBe(contact.firstName);

    const [onA, onB] = await Promise.all(
      [a, b].map((to) => subscribe(fetch, to.graphqlUrl, SUBSCRIPTION, { ids: [contact.id] })),
    );
    subs.push(onA as Subscription, onB as Subscription);
    expect((await deliver(a, event(contact.id, 'reached'))).body).toEqual({ received: true, outcome: 'published' });
    for (const sub of [onA, onB]) {
      expect(changeOf(await (sub as Subscription).next())).toEqual({
        contact: { id: contact.id, firstName: 'Multi' },
        webhookStatus: 'reached',
      });
    }
    // Queries on the instance that did not receive the webhook are fresh too.
    expect(await readName(b)).toBe('Multi');
  });

  it("a router's callback subscription on one instance gets the event whose webhook reached the other", async () => {
    const router = await startCallbackRouter();
    const other = [...telli.contacts.values()][9] as SandboxContact;
    try {
      // Apollo Router in callback mode, subscribed through instance A.
      const sub = await router.subscribe(a.graphqlUrl, SUBSCRIPTION, { ids: [other.id] });
      expect(sub.status).toBe(200);
      expect((await deliver(b, event(other.id, 'reached'))).body).toEqual({ received: true, outcome: 'published' });
      const next = await router.waitFor((m) => m.id === sub.id && m.action === 'next');
      expect(next.payload).toEqual({
        data: {
          contactStatusChanged: { contact: { id: other.id, firstName: other.firstName }, webhookStatus: 'reached' },
        },
      });
      router.drop(sub.id);
    } finally {
      await router.close();
    }
  });

  it('a redelivery to the other instance is acknowledged and not processed again', async () => {
    const [onA, onB] = subs as [Subscription, Subscription];
    const first = event(contact.id, 'pending');
    expect((await deliver(a, first)).body).toEqual({ received: true, outcome: 'published' });
    // Svix retries with the same svix-id, signed anew, and may reach any instance.
    expect((await deliver(b, event(contact.id, 'pending', first.id))).body).toEqual({
      received: true,
      outcome: 'duplicate',
    });
    expect((await deliver(b, event(contact.id, 'closed'))).body).toEqual({ received: true, outcome: 'published' });
    for (const sub of [onA, onB]) {
      expect(changeOf(await sub.next()).webhookStatus).toBe('pending');
      // The redelivery produced nothing: the next event is the one sent after it.
      expect(changeOf(await sub.next()).webhookStatus).toBe('closed');
    }
  });

  it('Redis down: webhooks 503 (nothing acknowledged), readiness 503, queries answered; back: resumes', async () => {
    const [onA, onB] = subs as [Subscription, Subscription];
    await redis.stop();
    for (const instance of [a, b]) {
      await expect.poll(async () => (await readiness(instance)).status, { timeout: 15_000 }).toBe(503);
    }
    expect((await readiness(a)).body.checks['events']).not.toBe('ok');
    const during = event(contact.id, 'reached');
    const refused = await deliver(a, during);
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ errors: [{ extensions: { code: 'EVENT_BUS_UNAVAILABLE' } }] });
    // The rest of the API keeps working.
    const query = await postGraphQL(b.graphqlUrl, { query: `{ contact(id: "${contact.id}") { id } }` });
    expect(query).toMatchObject({ status: 200, body: { data: { contact: { id: contact.id } } } });

    await redis.start();
    for (const instance of [a, b]) {
      await expect.poll(async () => (await readiness(instance)).status, { timeout: 20_000 }).toBe(200);
    }
    // Svix redelivers what was refused: now it is taken, once, and reaches both instances.
    expect((await deliver(b, signedWebhook(secret, JSON.parse(during.body), { id: during.id }))).body).toEqual({
      received: true,
      outcome: 'published',
    });
    for (const sub of [onA, onB]) expect(changeOf(await sub.next()).webhookStatus).toBe('reached');
  });
});

describe('Redis up but unusable', () => {
  const secret = testSecret();
  const key = 'tk_live_redis_unusable_0123456789ab';
  let redis: RedisServer;
  let admin: Redis;
  let telli: RunningSandbox;
  let layer: RunningProcess;
  const readiness = async () => {
    const res = await fetch(`${layer.url}/readiness`);
    return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
  };
  const deliver = async () => {
    const contact = [...telli.contacts.values()][2] as SandboxContact;
    const webhook = signedWebhook(secret, { event: 'contact_status_changed', contact_id: contact.id });
    const res = await fetch(`${layer.url}/webhooks/telli`, {
      method: 'POST',
      headers: webhook.headers,
      body: webhook.body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    // DEBUG is off by default since Redis 7; `local` allows it from loopback.
    redis = await startRedis(['--enable-debug-command', 'local']);
    admin = new Redis(redis.url);
    telli = await startSandbox({ apiKeys: [key] });
    layer = await startLayerProcess({
      TELLI_API_KEY: key,
      TELLI_BASE_URL: telli.url,
      TELLI_WEBHOOK_SECRET: secret,
      REDIS_URL: redis.url,
      REDIS_PREFIX: `unusable-${process.pid}:`,
      REDIS_TIMEOUT_MS: '500',
    });
    for (let i = 0; (await readiness()).status !== 200; i++) {
      if (i > 200) throw new Error('the instance never became ready');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  afterAll(async () => {
    await layer?.server.stop();
    await admin?.quit();
    await telli?.close();
    await redis?.stop();
  });

  it('blocked (DEBUG SLEEP): /readiness 503 while it is, 200 after, with no restart', async () => {
    const sleeping = admin.call('DEBUG', 'SLEEP', '3');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const during = await readiness();
    expect(during.status).toBe(503);
    expect(during.body.checks['events']).toMatch(/write failed \(Command timed out\)/);
    await sleeping;
    await expect.poll(async () => (await readiness()).status, { timeout: 10_000 }).toBe(200);
    expect((await deliver()).status).toBe(200);
  });

  it('out of memory under noeviction: /readiness 503 as every webhook is, 200 when it can write again', async () => {
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    try {
      const refused = await deliver();
      expect(refused).toMatchObject({
        status: 503,
        body: { errors: [{ extensions: { code: 'EVENT_BUS_UNAVAILABLE' } }] },
      });
      const during = await readiness();
      expect(during.status).toBe(503);
      expect(during.body.checks['events']).toMatch(/^write failed \(OOM command not allowed/);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
    expect((await readiness()).status).toBe(200);
    expect((await deliver()).body).toEqual({ received: true, outcome: 'published' });
  });
});

describe('the claim-and-publish script, on a real redis-server', () => {
  let redis: RedisServer;
  let client: Redis;
  let listener: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    listener = new Redis(redis.url);
  });
  afterAll(async () => {
    await Promise.all([client.quit(), listener.quit()]);
    await redis.stop();
  });
  const claim = (deliveryId: string) =>
    client.eval(
      CLAIM_AND_PUBLISH_SCRIPT,
      1,
      `script:webhook:${deliveryId}`,
      60,
      'script:events',
      '{}',
    ) as Promise<number>;

  it('takes its claim back when no instance is subscribed, so the redelivery is processed, not a duplicate', async () => {
    expect(await claim('msg_nobody')).toBe(-1);
    expect(await client.exists('script:webhook:msg_nobody')).toBe(0);
    await listener.subscribe('script:events');
    expect(await claim('msg_nobody')).toBe(1);
    expect(await client.exists('script:webhook:msg_nobody')).toBe(1);
    expect(await claim('msg_nobody')).toBe(0);
  });
});
