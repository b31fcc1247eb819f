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
 * Redis, so slots are spaced across instances too.
 *
 * **The invariant.** Every call leaves in [its slot, its slot + LATE_MS]. Then any budget + 1
 * calls span at least budget × spacing − LATE_MS = 1 s + (MARGIN_MS − LATE_MS) between leaving
 * the first and the last, so telli sees at most `budget` of them in ANY one-second interval as
 * long as the network and telli's own stamping add less than MARGIN_MS − LATE_MS (50 ms) of
 * difference between two calls. A permit checks the lateness right before the call is written
 * (`usable()`); a late one is given up — its slot is lost, never handed back, since a later
 * caller may already hold the one after it — and a new slot is taken.
 *
 * **Why LATE_MS is 200 ms.** What makes a call late is this process, not the network: the timer
 * of its slot fires only when the event loop comes round to it, and a loaded process (hundreds of
 * connections on a shared core) comes round every 50–300 ms. With 50 ms of lateness allowed, a
 * loaded process lost most of its slots and the budget went unused while callers waited. 200 ms
 * costs spacing: a budget of 10 makes 8 calls per second (1000 / (1000 + MARGIN_MS)). For the
 * same reason nothing that takes an event-loop turn stands between the slot and the call: the
 * pause a call must respect after waiting is known here (below), not asked of Redis then.
 *
 * **Pauses**: a 429 with `Retry-After` pauses the key for that long — in this process at once,
 * and with Redis for every instance: a key with `PX` (read in the same round trip as every count,
 * so an instance that starts or reconnects learns of it) and a message on a channel every
 * instance subscribes to (so calls already waiting for their slots learn of it in time, without a
 * round trip when their slot comes). While that subscription is down, a call that waited asks
 * Redis again after its wait.
 *
 * Keys in Redis are a hash of the telli key, never the key itself.
 */
export interface TelliBudget {
  /**
   * Waits until a call with `apiKey` may be sent. Resolves with a permit (check `usable()` right
   * before sending; an unusable one is given up and a new one taken). Rejects with
   * `TelliBudgetError` when no slot (or no end of a pause) comes before `call.deadline` — the call
   * was never sent — or with the signal's reason.
   */
  acquire(apiKey: string, endpoint: string, call: BudgetCall): Promise<Permit>;
  /** telli answered 429 with `Retry-After`: no call with this key for `ms`, on any instance. */
  pause(apiKey: string, ms: number): void;
}

export interface BudgetCall {
  signal?: CancelSignal | undefined;
  /** Epoch ms; no slot later than this is taken (read again after `onSlot`). */
  deadline?: number | undefined;
  /**
   * Told when the slot is known (epoch ms), before the deadline is checked and the wait begins: a
   * call for several callers (group commit) refuses at once the ones whose deadlines come first.
   */
  onSlot?(at: number): void;
}

export interface Permit {
  /** Whether the call may still go out now (at most LATE_MS after its slot). */
  usable(): boolean;
  /** True the first time only: one slot, one call (a permit taken ahead of its call, `CallOptions.permit`). */
  claim(): boolean;
}

/** Room kept in every second for the time between a slot and telli seeing the call. */
export const MARGIN_MS = 250;
/** How late after its slot a call may still leave; the rest of MARGIN_MS is the network's. */
export const LATE_MS = 200;

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
  /**
   * Shared by every instance through this Redis client (keys under `prefix`); this process only
   * without. `subscriber`: a connection of its own for the pause channel (a subscribed ioredis
   * connection runs no other command); without one, a call that waited asks Redis for a pause.
   */
  redis?: { client: Redis; subscriber?: Redis | undefined; prefix: string } | undefined;
  /** Injected for tests; `Date.now` otherwise. */
  now?: () => number;
  hooks?: BudgetHooks;
}

/** Observability (metrics); called synchronously, must not throw. No hook is told the key. */
export interface BudgetHooks {
  /** A call got its permit after waiting `ms` (slot, pauses and full windows; 0: at once). */
  onWait?(ms: number): void;
  /** A call was refused: no slot (`budget`) or no end of a pause (`paused`) before its deadline. */
  onRefusal?(reason: 'budget' | 'paused'): void;
  /** This instance paused a key for every instance (telli's 429 with `Retry-After`). */
  onPause?(): void;
  /**
   * Slots counted but not used: `late` (the call could not leave within LATE_MS of its slot),
   * `passed` (over by the time the count was answered), `paused` (a pause began meanwhile).
   */
  onSlotsLost?(reason: 'late' | 'passed' | 'paused', count: number): void;
}

export function createTelliBudget(options: TelliBudgetOptions): TelliBudget {
  const now = options.now ?? Date.now;
  const plan = budgetPlan(options.perSecond);
  const pauses = createPauses(options.redis, now);
  const counter = createCounter(plan, options.redis);
  const keyOf = options.redis ? hashKey : (apiKey: string) => apiKey;
  const hooks = options.hooks ?? {};

  /** Waits out a pause or a full window, or refuses when it ends after the deadline. */
  async function wait(ms: number, reason: 'budget' | 'paused', endpoint: string, call: BudgetCall): Promise<void> {
    if (call.deadline !== undefined && now() + ms >= call.deadline) {
      hooks.onRefusal?.(reason);
      throw new TelliBudgetError(endpoint, reason, Math.max(1, Math.ceil(ms / 1000)));
    }
    await delay(ms, call.signal);
  }

  return {
    async acquire(apiKey, endpoint, call) {
      const key = keyOf(apiKey);
      const started = now();
      for (;;) {
        if (call.signal?.aborted) throw call.signal.reason;
        const pausedHere = pauses.knownMs(key);
        if (pausedHere > 0) {
          await wait(pausedHere, 'paused', endpoint, call);
          continue;
        }
        // One round trip: the count and the shared pause are written together (ioredis pipelines
        // commands issued in the same tick), so reading the pause costs no extra wait.
        const [paused, slot] = await Promise.all([pauses.sharedMs(key), takeSlot(counter, plan, key, now, hooks)]);
        if (paused > 0) {
          if (slot.fullForMs === undefined) hooks.onSlotsLost?.('paused', 1);
          await wait(paused, 'paused', endpoint, call);
          continue;
        }
        if (slot.fullForMs !== undefined) {
          await wait(slot.fullForMs, 'budget', endpoint, call);
          continue;
        }
        call.onSlot?.(slot.at);
        const waitMs = slot.at - now();
        if (call.deadline !== undefined && slot.at >= call.deadline) {
          hooks.onRefusal?.('budget');
          throw new TelliBudgetError(endpoint, 'budget', Math.max(1, Math.ceil(waitMs / 1000)));
        }
        if (waitMs > 0) {
          await delay(waitMs, call.signal);
          // telli may have asked for a pause (on any instance) while this call waited for its slot.
          if ((await pauses.afterWaitMs(key)) > 0) {
            hooks.onSlotsLost?.('paused', 1);
            continue;
          }
        }
        const { latest } = slot;
        hooks.onWait?.(Math.max(0, now() - started));
        let claimed = false;
        return {
          claim: () => !claimed && (claimed = true),
          usable: () => {
            if (now() <= latest) return true;
            hooks.onSlotsLost?.('late', 1);
            return false;
          },
        };
      }
    },
    pause(apiKey, ms) {
      hooks.onPause?.();
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
async function takeSlot(
  counter: Counter,
  plan: ReturnType<typeof budgetPlan>,
  key: string,
  now: () => number,
  hooks: BudgetHooks,
) {
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
    // Passed already: the window began long ago and few calls came since, or this process read
    // the answer late (a busy event loop). Skip every slot that has passed, in one count — and
    // the ones that will have passed by the time that count is read, which takes about as long as
    // this one did: aiming at "now" again, a loaded process would skip forever.
    const roundTrip = Math.min(answeredAt - sentAt, windowMs);
    points = Math.max(1, Math.ceil((answeredAt + roundTrip - latest) / plan.spacingMs));
    hooks.onSlotsLost?.('passed', points);
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
  /** The pause this process knows of (its own 429s, and other instances' through the channel). */
  knownMs(key: string): number;
  /** The pause as Redis has it (every instance's), learnt for later; this process's without Redis. */
  sharedMs(key: string): Promise<number>;
  /** After a wait: what this process knows when it hears the channel, Redis's answer otherwise. */
  afterWaitMs(key: string): number | Promise<number>;
  pause(key: string, ms: number): void;
}

/** Pauses known in this process, by key, bounded: expired ones go when it grows. */
function createPauses(redis: TelliBudgetOptions['redis'], now: () => number): Pauses {
  const until = new Map<string, number>();
  const known = (key: string) => Math.max(0, (until.get(key) ?? 0) - now());
  const learn = (key: string, ms: number) => {
    if (!(ms > 0)) return;
    if (until.size > 1000) for (const [k, t] of until) if (t <= now()) until.delete(k);
    until.set(key, Math.max(until.get(key) ?? 0, now() + ms));
  };
  const prefix = redis?.prefix ?? '';
  const pauseKey = (key: string) => `${prefix}pause:${key}`;
  const channel = `${prefix}budget-pauses`;
  let hearing = false;
  const subscriber = redis?.subscriber;
  if (subscriber) {
    const listen = () => {
      subscriber.subscribe(channel).then(
        () => (hearing = true),
        () => undefined,
      );
    };
    subscriber.on('ready', listen);
    subscriber.on('close', () => (hearing = false));
    if (subscriber.status === 'ready') listen();
    // `<key hash> <ms>`: the pause counts from when it is heard (clocks of instances may differ).
    subscriber.on('message', (from: string, message: string) => {
      if (from !== channel) return;
      const [key, ms] = message.split(' ');
      if (key) learn(key, Number(ms));
    });
  }
  const sharedMs = async (key: string) => {
    if (!redis) return known(key);
    // Redis unreachable: the pauses this process knows of still hold.
    const there = await redis.client.pttl(pauseKey(key)).catch(() => 0);
    learn(key, there);
    return Math.max(known(key), there);
  };
  return {
    knownMs: known,
    sharedMs,
    afterWaitMs: (key) => (!redis || hearing ? known(key) : sharedMs(key)),
    pause(key, ms) {
      learn(key, ms);
      if (!redis) return;
      const px = Math.max(1, Math.round(ms));
      redis.client.set(pauseKey(key), '1', 'PX', px).catch(() => undefined);
      redis.client.publish(channel, `${key} ${px}`).catch(() => undefined);
    },
  };
}
