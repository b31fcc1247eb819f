import { Cancellation, type CancelSignal } from './transport/cancel.js';
import { ENDPOINTS, type TelliClient } from './client.js';
import type { CallOptions, TelliClientHooks } from './transport/transport.js';
import type { TelliAgent } from './agents.js';
import { TelliTimeoutError } from './transport/errors.js';
import { GroupCommit } from './contacts/group-commit.js';
import type { ContactResult } from './contacts/v1-reads.js';
import { recordIdKey } from './shared/ids.js';
import type { TelliContact } from './contacts/schemas.js';

export interface ContactCacheOptions {
  /**
   * How long a contact telli returned may be served again to callers with the same API key,
   * without asking telli. 0 turns the cache off.
   */
  ttlMs: number;
  /** Most contacts kept, across all keys; the least recently used go first. Also bounds the agent cache. */
  maxEntries: number;
  /**
   * How long an agent telli returned (by id or listed) may be served again to callers with the
   * same API key. Agents rarely change; 0 (the default) turns this cache off.
   */
  agentTtlMs?: number;
  /** Injected for tests; `Date.now` otherwise. */
  now?: () => number;
  /** Metrics of the shared batch calls (ids and callers per call, time waited). */
  hooks?: Pick<TelliClientHooks, 'onSharedBatch'>;
  /** Partial batch calls per key in flight before ids collect (`PARTIAL_CALLS_IN_FLIGHT`; tests use 1). */
  partialCallsInFlight?: number;
}

/**
 * Invalidation of what one process shares about a contact. Separate from the reads so that
 * whatever learns of a change — a write of this process now, a webhook or another process
 * later — can call it without knowing how the sharing works.
 */
export interface ContactInvalidation {
  /**
   * Drops the contact, for this API key only, from the TTL cache and from single-flight: a read
   * in flight may have been answered before the change, so later callers start their own, and
   * its answer is not cached. `externalIds` also drop lookups of those external ids in flight.
   */
  forget(apiKey: string, contactId: string, externalIds?: readonly string[]): void;
  /**
   * The same for every API key — what a telli webhook needs: it says which contact changed, not
   * for whose key it was read. Also drops that contact's call lists in flight (a `call_ended`
   * adds a call).
   */
  forgetForEveryKey(contactId: string, externalIds?: readonly string[]): void;
}

/** The telli client with reads shared across requests (see `createCoalescingClient`). */
export type SharedReadsClient = TelliClient & ContactInvalidation;

/**
 * Reads shared across the GraphQL requests of one app, below the per-request DataLoaders:
 *
 * - **Group commit with single-flight** of v1 batch reads (`group-commit.ts`): while an API key
 *   has a call in flight, ids asked for by other operations collect into that key's next call
 *   instead of starting calls of their own (up to 1000 per call); with nothing in flight a read
 *   goes out at once. An id already on its way is joined, not asked again.
 * - **Optional TTL cache** (off by default) of contacts, per API key, bounded, least recently
 *   used first out. Only contacts are cached: never an error, and never "not found" (docs/contacts.md, Shared reads).
 * - The external-id lookup, calls and agents are single-flight too, each per (API key, endpoint,
 *   arguments); agents have an optional TTL cache of their own (off by default).
 *
 * Everything is keyed by (API key, id): nothing is ever shared between keys. A caller that gives
 * up (deadline, client gone) leaves the shared call with UPSTREAM_TIMEOUT for itself; the call is
 * aborted only when every caller waiting on it has left. A shared call carries the request id of
 * the request that started it; a batch read's deadline is the latest of the callers it serves.
 *
 * Created once per app (see `createApp`); holds no module-level state.
 */
export function createCoalescingClient(
  inner: TelliClient,
  options: ContactCacheOptions = { ttlMs: 0, maxEntries: 0 },
): SharedReadsClient {
  const { ttlMs } = options;
  const cache = ttlMs > 0 ? new TtlCache<TelliContact>(ttlMs, options.maxEntries) : undefined;
  const agentTtlMs = options.agentTtlMs ?? 0;
  const agents = agentTtlMs > 0 ? new TtlCache<TelliAgent>(agentTtlMs, options.maxEntries) : undefined;
  const now = options.now ?? Date.now;
  const batches = new GroupCommit(
    inner,
    options.hooks,
    cache &&
      ((apiKey, ids, results) => {
        const at = now();
        for (const id of ids) {
          const result = results.get(id);
          // Errors and absences are not kept: both are likely to change soon (docs/contacts.md).
          if (result && !(result instanceof Error)) cache.set(scoped(apiKey, id), result, at);
        }
      }),
    options.partialCallsInFlight,
  );
  /** (key, endpoint and arguments) → the single read in flight. */
  const readsInFlight = new Map<string, Flight<unknown>>();

  /**
   * One upstream call per (API key, `what`) at a time: a caller asking for what is in flight
   * joins it. `what` names the endpoint and every argument, so different reads never share.
   */
  function shared<T>(
    what: string,
    endpoint: string,
    call: CallOptions,
    read: (call: CallOptions) => Promise<T>,
  ): Promise<T> {
    const { apiKey } = call;
    // No key: the inner client fails it before any I/O, with the usual error.
    if (!apiKey) return read(call);
    const key = scoped(apiKey, what);
    let flight = readsInFlight.get(key) as Flight<T> | undefined;
    if (!flight) {
      const forget = () => {
        if (readsInFlight.get(key) === started) readsInFlight.delete(key);
      };
      const started: Flight<T> = new Flight((signal) =>
        read({ apiKey, requestId: call.requestId, deadline: call.deadline, signal }).finally(forget),
      );
      started.onAbandoned = forget;
      readsInFlight.set(key, started);
      flight = started;
    }
    return flight.join(call.signal, endpoint);
  }

  const rememberAgent = (apiKey: string, agent: TelliAgent, at: number) =>
    agents?.set(scoped(apiKey, recordIdKey(agent.id)), agent, at);
  return {
    ...inner,

    forget(apiKey, contactId, externalIds = []) {
      const id = contactId.toLowerCase();
      cache?.delete(scoped(apiKey, id));
      batches.forget(apiKey, id);
      for (const externalId of externalIds) readsInFlight.delete(scoped(apiKey, externalLookup(externalId)));
    },

    forgetForEveryKey(contactId, externalIds = []) {
      // Keys are `apiKey\n…`: a scan, bounded by the cache's size plus the reads in flight —
      // about a millisecond at the default 10 000 entries, once per webhook event.
      const id = contactId.toLowerCase();
      const suffix = `\n${id}`;
      cache?.deleteWhere((key) => key.endsWith(suffix));
      batches.forgetForEveryKey(id);
      const calls = `\ncalls\n${id}\n`;
      const lookups = externalIds.map((externalId) => `\n${externalLookup(externalId)}`);
      for (const key of readsInFlight.keys()) {
        if (key.includes(calls) || lookups.some((lookup) => key.endsWith(lookup))) readsInFlight.delete(key);
      }
    },

    getContactsBatch(ids, call) {
      const { apiKey } = call;
      // No key: the inner client fails it before any I/O, with the usual error.
      if (!apiKey) return inner.getContactsBatch(ids, call);
      const out = new Map<string, ContactResult>();
      if (!cache) return batches.read(apiKey, ids.map(lowerCase), out, call);
      const wanted: string[] = [];
      const at = now();
      for (const raw of ids) {
        const id = raw.toLowerCase();
        const cached = cache.get(scoped(apiKey, id), at);
        if (cached) out.set(id, cached);
        else wanted.push(id);
      }
      return wanted.length === 0 ? Promise.resolve(out) : batches.read(apiKey, wanted, out, call);
    },

    getContactByExternalId: (externalId, call) =>
      shared(externalLookup(externalId), ENDPOINTS.contactByExternalId, call, (c) =>
        inner.getContactByExternalId(externalId, c),
      ),

    listCalls: (page, call) =>
      shared(
        `calls\n${page.contactId.toLowerCase()}\n${page.limit}\n${page.cursor ?? ''}`,
        ENDPOINTS.listCalls,
        call,
        (c) => inner.listCalls(page, c),
      ),

    getCall: (id, call) => shared(`call\n${recordIdKey(id)}`, ENDPOINTS.getCall, call, (c) => inner.getCall(id, c)),

    async listAgents(page, call) {
      const result = await shared(`agents\n${page.limit}\n${page.cursor ?? ''}`, ENDPOINTS.agents, call, (c) =>
        inner.listAgents(page, c),
      );
      if (agents && call.apiKey) {
        const at = now();
        for (const agent of result.agents) if (!(agent instanceof Error)) rememberAgent(call.apiKey, agent, at);
      }
      return result;
    },

    async getAgent(id, call) {
      const { apiKey } = call;
      const cached = apiKey ? agents?.get(scoped(apiKey, recordIdKey(id)), now()) : undefined;
      if (cached) return cached;
      const agent = await shared(`agent\n${recordIdKey(id)}`, ENDPOINTS.agent, call, (c) => inner.getAgent(id, c));
      // Like contacts: an agent is kept, "not found" and errors never are.
      if (agent && apiKey) rememberAgent(apiKey, agent, now());
      return agent;
    },
  };
}

/** What single-flight calls the lookup of an external id (`forget` drops it after a write). */
function externalLookup(externalId: string): string {
  return `external\n${externalId}`;
}

/** A collision-free key for (API key, id): API keys never contain a newline (they are header values). */
function scoped(apiKey: string, id: string): string {
  return `${apiKey}\n${id}`;
}

const lowerCase = (id: string) => id.toLowerCase();

/**
 * One upstream call that several callers wait on. It runs under its own cancellation, which fires
 * only when every caller has left; each caller's own signal ends only that caller's wait.
 */
class Flight<T> {
  readonly #controller = new Cancellation();
  readonly #result: Promise<T>;
  #waiting = 0;
  #settled = false;
  /** Called once, when the last waiting caller has left before the call finished. */
  onAbandoned: (() => void) | undefined;

  constructor(run: (signal: CancelSignal) => Promise<T>) {
    this.#result = run(this.#controller);
    // Waiters attach their own handlers; this one only records completion (and keeps a rejection
    // from being reported as unhandled when every waiter has already left).
    this.#result.then(
      () => (this.#settled = true),
      () => (this.#settled = true),
    );
  }

  /** The shared result, or a TelliTimeoutError for this caller alone when its signal fires first. */
  join(signal: CancelSignal | undefined, endpoint: string): Promise<T> {
    if (signal?.aborted) {
      // A caller that has already given up never waits; if nobody else does, the call stops.
      if (this.#waiting === 0) this.#abandon();
      return Promise.reject(new TelliTimeoutError(endpoint, 0));
    }
    this.#waiting++;
    // Without a signal a caller never leaves, so the call can never be abandoned.
    if (!signal) return this.#result;
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const onAbort = () => {
        if (done) return;
        done = true;
        if (--this.#waiting === 0) this.#abandon();
        reject(new TelliTimeoutError(endpoint, 0));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const finish = () => {
        done = true;
        this.#waiting--;
        signal.removeEventListener('abort', onAbort);
      };
      this.#result.then(
        (value) => {
          if (done) return;
          finish();
          resolve(value);
        },
        (error: unknown) => {
          if (done) return;
          finish();
          reject(error);
        },
      );
    });
  }

  #abandon(): void {
    if (this.#settled || this.#controller.aborted) return;
    this.onAbandoned?.();
    this.#controller.abort();
  }
}

/**
 * Records by (API key, id) with an expiry, at most `maxEntries`. A `Map` keeps insertion order,
 * so re-inserting on every hit makes its first key the least recently used one.
 */
class TtlCache<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    readonly ttlMs: number,
    readonly maxEntries: number,
  ) {}

  get(key: string, now: number): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAt <= now) return undefined;
    this.#entries.set(key, entry);
    return entry.value;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  deleteWhere(matches: (key: string) => boolean): void {
    for (const key of this.#entries.keys()) if (matches(key)) this.#entries.delete(key);
  }

  set(key: string, value: V, now: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: now + this.ttlMs });
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }
}
