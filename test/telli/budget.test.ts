import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { closeSharedRedis, connectSharedRedis } from '../../src/telli/redis.js';
import {
  createTelliBudget,
  type BudgetHooks,
  type Permit,
  type TelliBudget,
} from '../../src/telli/transport/budget.js';
import { createCoalescingClient, createTelliClient, TelliBudgetError } from '../../src/telli/index.js';
import { unknownId } from '../support/stack.js';
import { startRedis, type RedisServer } from '../support/redis.js';

/**
 * The telli budget (src/telli/transport/budget.ts) on its own and under group commit: a loaded
 * event loop still uses its slots, reads waiting for a slot share one call, and a pause one
 * instance starts holds for calls another instance already has waiting. Real Redis, real sandbox.
 */
const BATCH = 'POST /v1/get-contacts-batch';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The most of `times` (ms) in any interval [t, t + 1000 ms). */
function busiestSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] as number) - (sorted[j] as number) >= 1000) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('the telli budget', () => {
  let redis: RedisServer;
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    [redis, sandbox] = await Promise.all([startRedis(), startSandbox({ latencyMs: 20 })]);
  });
  afterAll(async () => {
    await sandbox?.close();
    await redis?.stop();
  });

  it('a process whose event loop lags by 100 ms still uses its slots, and keeps to the budget in any second', async () => {
    const lost: string[] = [];
    const hooks: BudgetHooks = { onSlotsLost: (reason, count) => lost.push(...Array<string>(count).fill(reason)) };
    const budget = createTelliBudget({ perSecond: 10, hooks });
    // A loaded process: the event loop is busy for 100 ms, free for 30, busy again...
    let loading = true;
    const busy = () => {
      const until = performance.now() + 100;
      while (performance.now() < until);
      if (loading) setTimeout(busy, 30);
    };
    setTimeout(busy, 0);
    const sent: number[] = [];
    let late = 0;
    try {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const permit: Permit = await budget.acquire('tk_lag', 'test', { deadline: Date.now() + 10_000 });
          if (permit.usable()) sent.push(Date.now());
          else late++;
        }),
      );
    } finally {
      loading = false;
    }
    // (At most a straggler late: this machine may deschedule the process on top of the loop's load.)
    expect(late).toBeLessThanOrEqual(2);
    expect(lost.filter((reason) => reason === 'late')).toHaveLength(late);
    expect(sent.length).toBeGreaterThanOrEqual(18);
    expect(busiestSecond(sent)).toBeLessThanOrEqual(10);
  }, 20_000);

  it('reads that wait for a slot share one call: the batch collects until its slot comes', async () => {
    // 2 per second: the first read goes at once, the next slot is 625 ms later.
    const budget = createTelliBudget({ perSecond: 2 });
    const inner = createTelliClient({ ...parseConfig({}).telli, baseUrl: sandbox.url, budget });
    const shared = createCoalescingClient(inner, { ttlMs: 0, maxEntries: 0, budget });
    sandbox.resetStats();
    try {
      const ids = Array.from({ length: 12 }, (_, i) => unknownId(9000 + i));
      const reads = [];
      for (const id of ids) {
        reads.push(shared.getContactsBatch([id], { apiKey: sandbox.apiKey, deadline: Date.now() + 5_000 }));
        await sleep(20);
      }
      const results = await Promise.all(reads);
      results.forEach((result, i) => expect(result.get(ids[i] as string)).toBeNull());
      // One call for the first read, one for the eleven that arrived while it was at telli or
      // while the next call waited for its slot — not a queue of calls of one or two ids.
      expect(sandbox.stats.calls[BATCH]).toBe(2);
      expect([...sandbox.stats.batchSizes].sort((a, b) => a - b)).toEqual([1, 11]);
    } finally {
      await inner.close();
    }
  });

  it('a caller whose deadline comes before the slot of the call it waits in is refused at once', async () => {
    const budget = createTelliBudget({ perSecond: 2 });
    const inner = createTelliClient({ ...parseConfig({}).telli, baseUrl: sandbox.url, budget });
    const shared = createCoalescingClient(inner, { ttlMs: 0, maxEntries: 0, budget });
    const [first, early, late] = [unknownId(9100), unknownId(9101), unknownId(9102)];
    try {
      const call = (deadlineMs: number) => ({ apiKey: sandbox.apiKey, deadline: Date.now() + deadlineMs });
      const reads = [shared.getContactsBatch([first], call(5_000))];
      await sleep(20);
      // The next slot is 625 ms after the first: too late for `early`, in time for `late`.
      reads.push(shared.getContactsBatch([early], call(400)), shared.getContactsBatch([late], call(5_000)));
      const [one, two, three] = await Promise.all(reads);
      expect(one?.get(first)).toBeNull();
      // The budget's error (TELLI_BUDGET_EXHAUSTED, telli not called), not a timeout at the deadline.
      expect(two?.get(early)).toBeInstanceOf(TelliBudgetError);
      expect(three?.get(late)).toBeNull();
    } finally {
      await inner.close();
    }
  });

  it('a pause one instance starts holds for the calls another instance has waiting for their slots', async () => {
    const connect = () => connectSharedRedis({ url: redis.url, commandTimeoutMs: 1_000 });
    const connections = [connect(), connect(), connect(), connect()];
    await Promise.all(connections.map((c) => new Promise((resolve) => c.once('ready', resolve))));
    const [clientA, subscriberA, clientB, subscriberB] = connections as [
      (typeof connections)[0],
      (typeof connections)[0],
      (typeof connections)[0],
      (typeof connections)[0],
    ];
    const prefix = `budget-test-${process.pid}:`;
    const one: TelliBudget = createTelliBudget({
      perSecond: 4,
      redis: { client: clientA, subscriber: subscriberA, prefix },
    });
    const two: TelliBudget = createTelliBudget({
      perSecond: 4,
      redis: { client: clientB, subscriber: subscriberB, prefix },
    });
    await sleep(100); // both subscribed
    try {
      const call = { deadline: Date.now() + 10_000 };
      // Instance one takes the key's first slot; instance two's calls wait for the next ones.
      await one.acquire('tk_pause', 'test', call);
      const waiting = [1, 2].map(() => two.acquire('tk_pause', 'test', call).then(() => Date.now()));
      await sleep(50);
      const pausedAt = Date.now();
      one.pause('tk_pause', 1_500);
      // Only the channel tells instance two: the pause key goes before its calls' slots come.
      await sleep(20);
      const keys = await clientA.keys(`${prefix}pause:*`);
      expect(keys).toHaveLength(1);
      await clientA.del(...keys);
      const granted = await Promise.all(waiting);
      for (const at of granted) expect(at - pausedAt).toBeGreaterThanOrEqual(1_500 - 20);
    } finally {
      await Promise.all(connections.map((c) => closeSharedRedis(c)));
    }
  });
});
