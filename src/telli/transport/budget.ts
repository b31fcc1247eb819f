import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { delay, type CancelSignal } from './cancel.js';
import { TelliBudgetError } from './errors.js';
import { hashKey } from './key-hash.js';

/**
 * The telli budget: how many calls per second one telli API key may make, across every instance
 * of the layer (`TELLI_RATE_LIMIT_PER_SECOND`), and the pause telli asks for with a 429.
 *
 * **Counting** is rate-limiter-flexible's: a fixed window per key, atomic in Redis
 * (`RateLimiterRedis`: one Lua script, `INCRBY` and `PTTL`) or in this process
 * (`RateLimiterMemory`); with Redis, an in-memory limiter is its insurance while Redis is
 * unreachable (each instance then keeps to the whole budget on its own).
 *
 * **Spreading** is ours, because a fixed window alone lets two windows' calls meet: the last
 * calls of one window and the first of the next can all fall within one second, twice the budget
 * (rate-limiter-flexible's `execEvenly` narrows this but does not close it — it spaces a window's
 * calls by its remaining points, so a window's last call and the next window's first can still be
 * a few milliseconds apart). Here the window's k-th point is a *slot*: the call goes out at the
 * window's start + (k − 1) × spacing, never earlier, where spacing is (1 s + MARGIN_MS) / budget,
 * and a window holds only the slots that fit in it. Every instance reads the same count from
 * Redis, so slots are spaced across instances too: in ANY one-second interval at most `budget`
 * calls leave, so long as each leaves within LATE_MS of its slot (a permit checks that right
 * before the call is written; a late one is given back for a new slot) and reaches telli within
 * the rest of the margin.
 *
 * **Pauses**: a 429 with `Retry-After` pauses the key for that long — in this process at once,
 * and with Redis for every instance (a key with `PX`). A call checks the pause before it takes a
 * slot and again after waiting for one.
 *
 * Keys in Redis are a hash of the telli key, never the key itself.
 */
export interface TelliBudget {
  /**
   * Waits until a call with `apiKey` may be sent. Resolves with a permit (check `usable()` right
   * before sending; an unusable one is given up and a new one taken). Rejects with `TelliBudgetError` when no slot (or no end of a pause)
   * comes before `call.deadline` — the call was never sent — or with the signal's reason.
   */
  acquire(apiKey: string, endpoint: string, call: BudgetCall): Promise<Permit>;
  /** telli answered 429 with `Retry-After`: no call with this key for `ms`, on any instance. */
  pause(apiKey: string, ms: number): void;
}

export interface BudgetCall {
  signal?: CancelSignal | undefined;
  /** Epoch ms; no slot later than this is taken. */
  deadline?: number | undefined;
}

export interface Permit {
  /** Whether the call may still go out now (at most LATE_MS after its slot). */
  usable(): boolean;
}

/** Room kept in every second for the time between a slot and telli seeing the call. */
export const MARGIN_MS = 100;
/** How late after its slot a call may still leave; the rest of MARGIN_MS is the network's. */
export const LATE_MS = 50;

/** How a budget of `perSecond` is cut into windows and slots (see the module comment). */
export function budgetPlan(perSecond: number): { spacingMs: number; windowSeconds: number; slotsPerWindow: number } {
  const spacingMs = (1000 + MARGIN_MS) / perSecond;
  // At least two slots per window, so that a budget of 1 or 2 per second is not lost to rounding.
  const windowSeconds = Math.max(1, Math.ceil((2 * spacingMs) / 1000));
  return { spacingMs, windowSeconds, slotsPerWindow: Math.floor((windowSeconds * 1000) / spacingMs) };
}

export interface TelliBudgetOptions {
  /** Calls per second per telli key (> 0). */
  perSecond: number;
  /** Shared by every instance through this Redis client (keys under `prefix`); this process only without. */
  redis?: { client: Redis; prefix: string } | undefined;
  /** Injected for tests; `Date.now` otherwise. */
  now?: () => number;
}

export function createTelliBudget(options: TelliBudgetOptions): TelliBudget {
  const now = options.now ?? Date.now;
  const plan = budgetPlan(options.perSecond);
  const pauses = createPauses(options.redis, now);
  const counter = createCounter(plan, options.redis);
  const keyOf = options.redis ? hashKey : (apiKey: string) => apiKey;

  /** Waits out a pause or a full window, or refuses when it ends after the deadline. */
  async function wait(ms: number, reason: 'budget' | 'paused', endpoint: string, call: BudgetCall): Promise<void> {
    if (call.deadline !== undefined && now() + ms >= call.deadline) {
      throw new TelliBudgetError(endpoint, reason, Math.max(1, Math.ceil(ms / 1000)));
    }
    await delay(ms, call.signal);
  }

  return {
    async acquire(apiKey, endpoint, call) {
      const key = keyOf(apiKey);
      for (;;) {
        if (call.signal?.aborted) throw call.signal.reason;
        const paused = await pauses.remainingMs(key);
        if (paused > 0) {
          await wait(paused, 'paused', endpoint, call);
          continue;
        }
        const slot = await takeSlot(counter, plan, key, now);
        if (slot.fullForMs !== undefined) {
          await wait(slot.fullForMs, 'budget', endpoint, call);
          continue;
        }
        const waitMs = slot.at - now();
        if (call.deadline !== undefined && slot.at >= call.deadline) {
          throw new TelliBudgetError(endpoint, 'budget', Math.max(1, Math.ceil(waitMs / 1000)));
        }
        if (waitMs > 0) {
          await delay(waitMs, call.signal);
          // telli may have asked for a pause (on any instance) while this call waited for its slot.
          if ((await pauses.remainingMs(key)) > 0) continue;
        }
        const { latest } = slot;
        return { usable: () => now() <= latest };
      }
    },
    pause(apiKey, ms) {
      pauses.pause(keyOf(apiKey), ms);
    },
  };
}

/**
 * A slot: from when the call may leave until when it still may, or how long the key's window is
 * still full.
 */
type Slot = { at: number; latest: number; fullForMs?: undefined } | { at?: undefined; fullForMs: number };

interface Counter {
  consume(key: string, points: number): Promise<RateLimiterRes>;
}

/**
 * Takes the key's next slot: one point, and when that slot has already passed (the window began
 * long ago and few calls came since), the points of every slot that has passed, in one more call.
 */
async function takeSlot(counter: Counter, plan: ReturnType<typeof budgetPlan>, key: string, now: () => number) {
  const windowMs = plan.windowSeconds * 1000;
  let points = 1;
  for (;;) {
    const sentAt = now();
    let res: RateLimiterRes;
    try {
      res = await counter.consume(key, points);
    } catch (rejected) {
      if (!(rejected instanceof RateLimiterRes)) throw rejected;
      return { fullForMs: Math.max(1, rejected.msBeforeNext) } satisfies Slot;
    }
    // The window began `windowMs - msBeforeNext` before Redis ran the count. The command was
    // written to the socket when we asked (ioredis writes at once), so Redis ran it a moment
    // after `sentAt` — however long this process then took to read the answer (a busy event loop
    // does not move the slot, it only leaves less of LATE_MS). The slot is timed from `sentAt`.
    const at = sentAt + res.msBeforeNext - windowMs + (res.consumedPoints - 1) * plan.spacingMs;
    const latest = at + LATE_MS;
    const answeredAt = now();
    if (answeredAt <= latest) return { at, latest } satisfies Slot;
    // Passed already: the window began long ago and few calls came since (or this process was
    // stalled). Skip every slot that has passed, in one count.
    points = Math.ceil((answeredAt - latest) / plan.spacingMs) + 1;
  }
}

function createCounter(plan: ReturnType<typeof budgetPlan>, redis: TelliBudgetOptions['redis']): Counter {
  const limits = { points: plan.slotsPerWindow, duration: plan.windowSeconds };
  const memory = new RateLimiterMemory({ ...limits, keyPrefix: 'budget' });
  if (!redis) return memory;
  const shared: RateLimiterAbstract = new RateLimiterRedis({
    ...limits,
    storeClient: redis.client,
    keyPrefix: `${redis.prefix}budget`,
    // Redis unreachable: this process counts on its own rather than stop calling telli.
    insuranceLimiter: memory,
    rejectIfRedisNotReady: true,
  });
  return shared;
}

interface Pauses {
  remainingMs(key: string): Promise<number>;
  pause(key: string, ms: number): void;
}

/** Pauses known in this process, by key, bounded: expired ones go when it grows. */
function createPauses(redis: TelliBudgetOptions['redis'], now: () => number): Pauses {
  const until = new Map<string, number>();
  const local = (key: string) => Math.max(0, (until.get(key) ?? 0) - now());
  const pauseKey = (key: string) => `${redis?.prefix ?? ''}pause:${key}`;
  return {
    async remainingMs(key) {
      const here = local(key);
      if (!redis) return here;
      // Redis unreachable: the pauses this process knows of still hold.
      const there = await redis.client.pttl(pauseKey(key)).catch(() => 0);
      return Math.max(here, there);
    },
    pause(key, ms) {
      if (until.size > 1000) for (const [k, t] of until) if (t <= now()) until.delete(k);
      until.set(key, Math.max(until.get(key) ?? 0, now() + ms));
      redis?.client.set(pauseKey(key), '1', 'PX', Math.max(1, Math.round(ms))).catch(() => undefined);
    },
  };
}
