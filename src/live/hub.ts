import type { Logger } from '../logger.js';
import type { LiveBus } from './bus.js';
import { parseLiveEvent, type LiveEvent, type LiveEventType } from './events.js';

/**
 * Each instance's end of the bus: one subscription to it, and for every event, in this order,
 * (1) the contact is dropped from this instance's shared reads — TTL cache and single-flight, for
 * every API key — and (2) the event is handed to this instance's subscribers that asked for it.
 * Because (1) happens before any subscriber can act on the event, every re-read a subscriber then
 * makes goes to telli, and concurrent subscribers with the same key share that one call.
 *
 * Subscribers each get a bounded queue: a subscriber whose re-reads cannot keep up loses its
 * oldest events (counted), instead of growing the process without bound.
 */
export interface LiveHooks {
  /** A message arrived on the bus: a known event, or `invalid` (not a LiveEvent; dropped). */
  onBusEvent?(type: LiveEventType | 'invalid'): void;
  onSubscriptionOpened?(type: LiveEventType): void;
  onSubscriptionClosed?(type: LiveEventType): void;
  /** A subscriber's queue was full: its oldest event was dropped. */
  onEventDropped?(type: LiveEventType): void;
}

export interface LiveLimits {
  /** Open subscriptions on this instance, all callers together. */
  maxSubscriptions: number;
  /** Open subscriptions of one caller on this instance. */
  maxPerCaller: number;
  /**
   * Open subscriptions from one peer address on this instance, whoever the callers: one peer
   * with many keys (made-up ones, whose check takes a slot while it runs, or real ones) must not
   * take the slots everyone else needs.
   */
  maxPerPeer: number;
  /** Events one subscriber may have waiting; more drop the oldest. */
  queueSize: number;
}

/**
 * Who subscribes: what the limits count. A subscriber without a `callerId` or a `peerId` is not
 * limited on that count (only by `maxSubscriptions`): a gateway that authenticated with a caller
 * token multiplexes callers the layer cannot tell apart.
 */
export interface Subscriber {
  /** The caller, for the per-caller limit. */
  callerId: string | undefined;
  /** The caller's peer address (the TCP peer), for the per-peer limit. */
  peerId: string | undefined;
}

export interface SubscribeRequest extends Subscriber {
  type: LiveEventType;
  /** Only events for these contacts (lower-case ids); every contact when undefined. */
  contactIds: ReadonlySet<string> | undefined;
}

/** A subscriber's events, in arrival order; `return()` ends the subscription. */
export type EventStream = AsyncIterableIterator<LiveEvent> & { return(): Promise<IteratorResult<LiveEvent>> };

/**
 * A subscription's place under the limits, taken before it opens (while its caller's key is
 * checked, say): `open` turns it into the subscription, `release` gives it back.
 */
export interface SubscriptionSlot {
  open(request: Omit<SubscribeRequest, keyof Subscriber>): EventStream;
  release(): void;
}

export interface LiveHub {
  /** Takes a place under the limits, or throws SubscriptionLimitError. */
  reserve(subscriber: Subscriber): SubscriptionSlot;
  /** Opens a subscription (`reserve`, then `open`), or throws SubscriptionLimitError. */
  subscribe(request: SubscribeRequest): EventStream;
  /** Subscriptions open on this instance. */
  openSubscriptions(): number;
  /** Completes every open subscription (shutdown): their streams end, their clients see `complete`. */
  completeAll(): void;
  /** Completes every subscription and leaves the bus. */
  close(): Promise<void>;
}

export class SubscriptionLimitError extends Error {
  constructor(
    readonly scope: 'caller' | 'peer' | 'server',
    readonly limit: number,
  ) {
    super(
      scope === 'caller'
        ? `At most ${limit} subscriptions may be open per caller on this server.`
        : scope === 'peer'
          ? `At most ${limit} subscriptions may be open per network peer (address) on this server.`
          : `This server has ${limit} subscriptions open, its limit; retry shortly (or on another instance).`,
    );
    this.name = 'SubscriptionLimitError';
  }
}

export interface LiveHubOptions {
  bus: LiveBus;
  /** Drops what this instance shares about a contact (every API key). */
  invalidate(contactId: string, externalId: string | null): void;
  limits: LiveLimits;
  logger: Logger;
  hooks?: LiveHooks;
}

export function createLiveHub(options: LiveHubOptions): LiveHub {
  const { bus, limits, hooks = {} } = options;
  const log = options.logger.child({ component: 'live' });
  const subscribers: Record<LiveEventType, Set<OpenSubscription>> = {
    contact_status_changed: new Set(),
    call_ended: new Set(),
  };
  const perCaller = new Map<string, number>();
  const perPeer = new Map<string, number>();
  /** Subscriptions open or reserved. */
  let open = 0;
  const decrement = (counts: Map<string, number>, key: string) => {
    const left = (counts.get(key) ?? 1) - 1;
    if (left > 0) counts.set(key, left);
    else counts.delete(key);
  };

  function deliver(message: unknown): void {
    const event = parseLiveEvent(message);
    if (!event) {
      hooks.onBusEvent?.('invalid');
      log.warn('a message on the event bus is not a live event; dropped');
      return;
    }
    hooks.onBusEvent?.(event.type);
    try {
      options.invalidate(event.contactId, event.externalId);
    } catch (error) {
      log.error({ err: error, contactId: event.contactId }, 'invalidating shared reads failed');
    }
    for (const subscription of subscribers[event.type]) {
      if (!subscription.contactIds || subscription.contactIds.has(event.contactId)) subscription.queue.push(event);
    }
  }

  const source = bus.subscribe();
  const pumping = (async () => {
    for await (const message of source) deliver(message);
  })().catch((error: unknown) => log.error({ err: error }, 'the event bus subscription failed'));

  const completeAll = () => {
    for (const set of Object.values(subscribers)) for (const subscription of [...set]) subscription.queue.end();
  };

  function reserve({ callerId, peerId }: Subscriber): SubscriptionSlot {
    if (open >= limits.maxSubscriptions) throw new SubscriptionLimitError('server', limits.maxSubscriptions);
    const fromPeer = peerId === undefined ? 0 : (perPeer.get(peerId) ?? 0);
    if (fromPeer >= limits.maxPerPeer) throw new SubscriptionLimitError('peer', limits.maxPerPeer);
    const mine = callerId === undefined ? 0 : (perCaller.get(callerId) ?? 0);
    if (mine >= limits.maxPerCaller) throw new SubscriptionLimitError('caller', limits.maxPerCaller);
    open++;
    if (callerId !== undefined) perCaller.set(callerId, mine + 1);
    if (peerId !== undefined) perPeer.set(peerId, fromPeer + 1);
    let state: 'reserved' | 'open' | 'released' = 'reserved';
    const release = () => {
      if (state === 'released') return;
      state = 'released';
      open--;
      if (callerId !== undefined) decrement(perCaller, callerId);
      if (peerId !== undefined) decrement(perPeer, peerId);
    };
    return {
      release: () => {
        if (state === 'reserved') release();
      },
      open({ type, contactIds }) {
        if (state !== 'reserved') throw new Error('a subscription slot opens once, before it is released');
        state = 'open';
        const subscription: OpenSubscription = {
          contactIds,
          queue: new EventQueue<LiveEvent>(limits.queueSize, {
            onDrop: () => hooks.onEventDropped?.(type),
            onEnd: () => {
              subscribers[type].delete(subscription);
              release();
              hooks.onSubscriptionClosed?.(type);
            },
          }),
        };
        subscribers[type].add(subscription);
        hooks.onSubscriptionOpened?.(type);
        return subscription.queue;
      },
    };
  }

  return {
    reserve,
    subscribe: ({ type, contactIds, ...subscriber }) => reserve(subscriber).open({ type, contactIds }),
    openSubscriptions: () => open,
    completeAll,
    async close() {
      completeAll();
      await source.return();
      await pumping;
    },
  };
}

interface OpenSubscription {
  contactIds: ReadonlySet<string> | undefined;
  queue: EventQueue<LiveEvent>;
}

/**
 * A bounded async queue with one consumer. `return()` (the consumer leaves) and `end()` (the hub
 * completes it) resolve a waiting `next()` at once — an async generator would keep a cancelled
 * subscription alive until its next event arrived.
 */
export class EventQueue<T> implements AsyncIterableIterator<T> {
  #items: T[] = [];
  #waiting: ((result: IteratorResult<T>) => void)[] = [];
  #ended = false;

  constructor(
    readonly capacity: number,
    private readonly handlers: { onDrop(): void; onEnd(): void },
  ) {}

  push(item: T): void {
    if (this.#ended) return;
    const waiter = this.#waiting.shift();
    if (waiter) {
      waiter({ value: item, done: false });
      return;
    }
    if (this.#items.length >= this.capacity) {
      this.#items.shift();
      this.handlers.onDrop();
    }
    this.#items.push(item);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift() as T, done: false });
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** No more events: a waiting consumer is told at once; queued events are dropped. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#items = [];
    for (const waiter of this.#waiting.splice(0)) waiter({ value: undefined, done: true });
    this.handlers.onEnd();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
