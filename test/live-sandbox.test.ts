import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLayer } from '../src/app.js';
import { sandboxDefaultQuery } from '../src/schema/demo-operations.js';
import { parseConfig } from '../src/config.js';
import { createMemoryLogger } from '../src/logger.js';
import {
  createWebhookSender,
  SAMPLE_CONTACT_ID,
  startSandbox,
  type RunningSandbox,
  type SandboxContact,
} from '../src/sandbox/index.js';
import { schema } from '../src/schema/index.js';
import { serve, type RunningServer } from '../src/server.js';
import { postGraphQL } from './support/process.js';
import { subscribe, testSecret, type Subscription } from './support/sse.js';

/**
 * Sandbox mode is live: the embedded sandbox is telli's dialer and webhook sender, signing with
 * the secret it shares with the layer, delivering over real HTTP to the layer's
 * /webhooks/telli once the layer listens. Started the way src/server.ts starts it.
 */
describe('sandbox mode: the dialer calls, the webhooks arrive, subscribers see it', () => {
  let running: RunningServer;
  let sandbox: RunningSandbox;
  const logs = createMemoryLogger('debug');

  beforeAll(async () => {
    const config = parseConfig({
      PORT: '0',
      SANDBOX_CALL_MS: '150',
      SANDBOX_AUTOPILOT_MS: '0',
      SHUTDOWN_DRAIN_MS: '0',
    });
    running = await serve(await createLayer(config, { logger: logs.logger }), config, logs.logger);
    sandbox = running.layer.sandbox as RunningSandbox;
  });
  afterAll(() => running?.close());

  it('a call scheduled through GraphQL goes in progress, then ends; both arrive as events, with the call', async () => {
    const contactId = sandbox.autopilotContactId as string;
    const before = sandbox.contacts.get(contactId);
    const statuses = await subscribe(
      fetch,
      running.graphqlUrl,
      `subscription ($ids: [ID!]) { contactStatusChanged(contactIds: $ids) {
        status webhookStatus contact { id inCallSince callAttempts }
      } }`,
      { ids: [contactId] },
    );
    const ended = await subscribe(
      fetch,
      running.graphqlUrl,
      `subscription { callEnded { callStatus contact { id status reachedAt callAttempts } call { id status attempt endedAt transcriptMessages { role } } } }`,
    );
    const scheduled = await postGraphQL(running.graphqlUrl, {
      query: `mutation ($id: ID!) { scheduleCall(input: { contactId: $id }) { loopId userErrors { code } } }`,
      variables: { id: contactId },
    });
    expect(scheduled.body.errors).toBeUndefined();
    expect(scheduled.body.data?.['scheduleCall']).toMatchObject({ loopId: expect.any(String), userErrors: [] });

    const attempts = (before?.callAttempts ?? 0) + 1;
    const dialled = (await statuses.next()).data?.['contactStatusChanged'];
    expect(dialled).toMatchObject({
      status: 'IN_PROGRESS',
      webhookStatus: 'pending',
      contact: { id: contactId, inCallSince: expect.any(String), callAttempts: attempts },
    });
    const hungUp = (await statuses.next()).data?.['contactStatusChanged'] as { status: string };
    // The first call the dialer places reaches its contact; the next does not.
    expect(hungUp).toMatchObject({ status: 'REACHED', webhookStatus: 'reached', contact: { inCallSince: null } });
    const callEnded = (await ended.next()).data?.['callEnded'] as {
      callStatus: string;
      contact: { reachedAt: string; callAttempts: number };
      call: { id: string; status: string; attempt: number; endedAt: string; transcriptMessages: unknown[] };
    };
    expect(callEnded).toMatchObject({
      callStatus: 'COMPLETED',
      contact: { id: contactId, status: 'REACHED', callAttempts: attempts },
      call: { status: 'COMPLETED', attempt: attempts },
    });
    expect(callEnded.call.transcriptMessages.length).toBeGreaterThan(3);
    expect(callEnded.contact.reachedAt).toBe(callEnded.call.endedAt);
    // The sandbox's own record agrees: one call per attempt, the newest the one that ended.
    expect(sandbox.calls(contactId)).toHaveLength(attempts);
    expect(sandbox.calls(contactId)[0]?.call_id).toBe(callEnded.call.id);
    await Promise.all([statuses.close(), ended.close()]);
  });

  it('signed every webhook and got each acknowledged once; a manual redelivery is a duplicate', async () => {
    await sandbox.webhooks?.settled();
    const sent = sandbox.webhooks?.sent ?? [];
    expect(sent.map((m) => m.type)).toEqual(['contact_status_changed', 'contact_status_changed', 'call_ended']);
    expect(sent.every((m) => m.state === 'delivered' && m.attempts.length === 1)).toBe(true);
    const first = sent[0];
    sandbox.webhooks?.redeliver(first?.id as string);
    await sandbox.webhooks?.settled();
    expect(first?.attempts.map((a) => a.result)).toEqual([200, 200]);
    expect(logs.lines().some((l) => l['msg'] === 'webhook redelivered: acknowledged, not processed again')).toBe(true);
  });

  it("GraphiQL's DemoContact shows the sample contact reached, its newest call finished, with its transcript", async () => {
    const res = await postGraphQL(running.graphqlUrl, {
      query: sandboxDefaultQuery(SAMPLE_CONTACT_ID, sandbox.autopilotContactId),
      operationName: 'DemoContact',
    });
    expect(res.body.errors).toBeUndefined();
    const contact = res.body.data?.['contact'] as {
      status: string;
      inCallSince: string | null;
      reachedAt: string;
      calls: { nodes: { status: string; endedAt: string | null; transcriptMessages: unknown[] }[] };
    };
    expect(contact).toMatchObject({ status: 'REACHED', inCallSince: null });
    const [latest, before] = contact.calls.nodes;
    expect(latest).toMatchObject({ status: 'COMPLETED', endedAt: contact.reachedAt });
    expect(latest?.transcriptMessages.length).toBeGreaterThan(3);
    expect(before?.endedAt).toEqual(expect.any(String));
  });

  it("GraphiQL's default document validates: the query, both subscriptions and the call to start", () => {
    const document = parse(sandboxDefaultQuery(SAMPLE_CONTACT_ID, sandbox.autopilotContactId));
    expect(validate(schema, document)).toEqual([]);
    const names = document.definitions.map((d) => ('name' in d ? d.name?.value : undefined));
    expect(names).toEqual(['DemoContact', 'LiveContacts', 'CallsEnding', 'CallDemoContact']);
  });
});

describe('the sandbox webhook sender redelivers until it gets a 2xx', () => {
  let target: ReturnType<typeof createServer>;
  let url: string;
  const seen: { id: string | undefined; signature: string | undefined; timestamp: string | undefined }[] = [];

  beforeAll(async () => {
    let calls = 0;
    target = createServer((req, res) => {
      seen.push({
        id: req.headers['svix-id'] as string | undefined,
        signature: req.headers['svix-signature'] as string | undefined,
        timestamp: req.headers['svix-timestamp'] as string | undefined,
      });
      req.resume();
      res.writeHead(++calls <= 2 ? 503 : 204).end();
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(target.address() as AddressInfo).port}/webhooks/telli`;
  });
  afterAll(() => new Promise<void>((resolve) => target.close(() => resolve())));

  it('keeps the message id across attempts, signs each attempt, holds messages until it has a target', async () => {
    const sender = createWebhookSender({ secret: testSecret(), retryDelaysMs: [20, 20, 20] });
    const id = sender.send('call_ended', { event: 'call_ended' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toHaveLength(0); // no target yet
    sender.setTarget(url);
    await sender.settled();
    expect(sender.sent[0]).toMatchObject({ id, state: 'delivered' });
    expect(sender.sent[0]?.attempts.map((a) => a.result)).toEqual([503, 503, 204]);
    expect(new Set(seen.map((s) => s.id))).toEqual(new Set([id]));
    expect(seen.every((s) => /^v1,[A-Za-z0-9+/]+=*$/.test(s.signature ?? ''))).toBe(true);
    sender.close();
  });

  it('gives a message up after its last retry', async () => {
    const sender = createWebhookSender({ secret: testSecret(), retryDelaysMs: [10] });
    sender.setTarget('http://127.0.0.1:9/unreachable');
    sender.send('contact_status_changed', {});
    await sender.settled();
    expect(sender.sent[0]?.state).toBe('failed');
    expect(sender.sent[0]?.attempts).toHaveLength(2);
    sender.close();
  });
});

describe('subscriptions end cleanly when the server stops', () => {
  it('an open subscription sees `complete` on shutdown, and the server exits its close()', async () => {
    const logs = createMemoryLogger('info');
    const config = parseConfig({ PORT: '0', SANDBOX_AUTOPILOT_MS: '0', SHUTDOWN_DRAIN_MS: '0' });
    const server = await serve(await createLayer(config, { logger: logs.logger }), config, logs.logger);
    const sub: Subscription = await subscribe(fetch, server.graphqlUrl, 'subscription { callEnded { occurredAt } }');
    expect(server.layer.live.openSubscriptions()).toBe(1);
    const closing = server.close();
    expect(await sub.completed).toBe(true);
    await closing;
    expect(server.layer.live.openSubscriptions()).toBe(0);
  });
});

describe('the sandbox dialer on its own', () => {
  it('a call that does not reach the contact: NOT_REACHED, reachedAt kept, one call per attempt', async () => {
    const sandbox = await startSandbox({ live: { secret: testSecret(), callMs: 30, outcome: () => 'not_reached' } });
    try {
      const contact = [...sandbox.contacts.values()].find((c) => !c.inCallSince && c.reachedAt) as SandboxContact;
      expect(sandbox.scheduleCall(contact.id)).toBe(true);
      // Already queued: the autopilot would not schedule it twice.
      expect(sandbox.scheduleCall(contact.id)).toBe(false);
      await expect.poll(() => sandbox.webhooks?.sent.length, { timeout: 5_000 }).toBe(3);
      const [dialled, hungUp, ended] = sandbox.webhooks?.sent ?? [];
      expect([dialled?.payload['status'], hungUp?.payload['status'], ended?.type]).toEqual([
        'pending',
        'pending',
        'call_ended',
      ]);
      const after = sandbox.contacts.get(contact.id) as SandboxContact;
      expect(after).toMatchObject({
        inCallSince: null,
        reachedAt: contact.reachedAt,
        callAttempts: contact.callAttempts + 1,
      });
      const calls = sandbox.calls(contact.id);
      expect(calls).toHaveLength(after.callAttempts);
      expect(calls[0]).toMatchObject({ call_status: 'NOT_REACHED', started_at: null, attempt: after.callAttempts });
      expect((ended?.payload['call'] as { call_id: string }).call_id).toBe(calls[0]?.call_id);
      expect((ended?.payload['contact'] as { contact_id: string }).contact_id).toBe(contact.id);
    } finally {
      await sandbox.close();
    }
  });

  it('ends the seeded calls in progress when their time is up; without a dialer they stay as seeded', async () => {
    // Dated ten minutes back: every seeded call in progress has run past its end (8 minutes at most).
    const now = Date.now() - 10 * 60_000;
    const frozen = await startSandbox({ now });
    const sandbox = await startSandbox({ now, live: { secret: testSecret(), callMs: 50 } });
    try {
      const inCall = [...frozen.contacts.values()].filter((c) => c.inCallSince !== null);
      expect(inCall.length).toBeGreaterThan(10);
      const stillInCall = () => [...sandbox.contacts.values()].filter((c) => c.inCallSince !== null).length;
      await expect.poll(stillInCall, { timeout: 5_000 }).toBe(0);
      for (const seeded of inCall) {
        const after = sandbox.contacts.get(seeded.id) as SandboxContact;
        const [call] = sandbox.calls(seeded.id);
        expect(after.callAttempts).toBe(seeded.callAttempts);
        expect(call).toMatchObject({ attempt: seeded.callAttempts, ended_at: expect.any(Number) });
        expect(['COMPLETED', 'NOT_REACHED']).toContain(call?.call_status);
        if (call?.call_status === 'COMPLETED') expect(after.reachedAt).toBe(call.ended_at_iso);
        else expect(after.reachedAt).toBe(seeded.reachedAt);
      }
      // Each as telli tells it: the status change and the call's end.
      const sent = sandbox.webhooks?.sent ?? [];
      expect(sent.filter((m) => m.type === 'call_ended')).toHaveLength(inCall.length);
      expect(sent.filter((m) => m.type === 'contact_status_changed')).toHaveLength(inCall.length);
      // Nothing moves in a sandbox without its dialer.
      expect([...frozen.contacts.values()].filter((c) => c.inCallSince !== null)).toEqual(inCall);
    } finally {
      await Promise.all([frozen.close(), sandbox.close()]);
    }
  });

  it('a call taken out of the dialer before it is placed is never placed', async () => {
    const sandbox = await startSandbox({ live: { secret: testSecret(), callMs: 100 } });
    try {
      const contact = [...sandbox.contacts.values()].find((c) => !c.inCallSince) as SandboxContact;
      expect(sandbox.scheduleCall(contact.id)).toBe(true);
      const removed = await fetch(`${sandbox.url}/v1/remove-from-auto-dialer`, {
        method: 'POST',
        headers: { authorization: `Bearer ${sandbox.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ contact_id: contact.id }),
      });
      expect(removed.status).toBe(200);
      // Another contact scheduled later is placed: once it has been, the removed one had its turn.
      const other = [...sandbox.contacts.values()].find((c) => !c.inCallSince && c.id !== contact.id) as SandboxContact;
      expect(sandbox.scheduleCall(other.id)).toBe(true);
      await expect.poll(() => sandbox.webhooks?.sent.length, { timeout: 5_000 }).toBe(3);
      const touched = new Set(
        sandbox.webhooks?.sent.map((m) => (m.payload['contact'] as { contact_id: string }).contact_id),
      );
      expect([...touched]).toEqual([other.id]);
      expect(sandbox.contacts.get(contact.id)?.callAttempts).toBe(contact.callAttempts);
    } finally {
      await sandbox.close();
    }
  });
});
