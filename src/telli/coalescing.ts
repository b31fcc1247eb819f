import { Cancellation, type CancelSignal } from './cancel.js';
import { ENDPOINTS, type ContactResult, type TelliClient, type TelliClientHooks } from './client.js';
import { TelliTimeoutError } from './errors.js';
import { GroupCommit } from './group-commit.js';
import type { TelliContact } from './schemas.js';

export interface ContactCacheOptions {
  /**
   * How long a contact telli returned may be served again to callers with the same API key,
   * without asking telli. 0 (the default) turns the cache off.
   */
  ttlMs?: number;
  /** Most contacts kept, across all keys; the least recently used go first. */
  maxEntries?: number;
  /** Injected for tests; `Date.now` otherwise. */
  now?: () => number;
}

export const DEFAULT_CACHE_MAX_ENTRIES = 10_000;

export interface SharedReadsOptions extends ContactCacheOptions {
  /** Metrics of the shared batch calls (ids and callers per call, time waited). */
  hooks?: Pick<TelliClientHooks, 'onSharedBatch'>;
}

/**
 * Reads shared across the GraphQL requests of one app, below the per-request DataLoaders:
 *
 * - **Group commit with single-flight** of v1 batch reads (`group-commit.ts`): while an API key
 *   has a call in flight, ids asked for by other operations collect into that key's next call
 *   instead of starting calls of their own (up to 1000 per call); with nothing in flight a read
 *   goes out at once. An id already on its way is joined, not asked again.
 * - **Single-flight** of external-id lookups: concurrent lookups of one external id share a call.
 * - **Optional TTL cache** (off by default) of contacts, per API key, bounded, least recently
 *   used first out. Only contacts are cached: never an error, and never "not found" (see README).
 *
 * Everything is keyed by (API key, id): nothing is ever shared between keys. A caller that gives
 * up (deadline, client gone) leaves the shared call with UPSTREAM_TIMEOUT for itself; the call is
 * aborted only when every caller waiting on it has left.
 *
 * Created once per app (see `createApp`); holds no module-level state.
 */
export function createCoalescingClient(inner: TelliClient, options: SharedReadsOptions = {}): TelliClient {
  const ttlMs = options.ttlMs ?? 0;
  const cache = ttlMs > 0 ? new ContactCache(ttlMs, options.maxEntries ?? DEFAULT_CACHE_MAX_ENTRIES) : undefined;
  const now = options.now ?? Date.now;
  const batches = new GroupCommit(
    inner,
    options.hooks,
    cache &&
      ((apiKey, ids, results) => {
        const at = now();
        for (const id of ids) {
          const result = results.get(id);
          // Errors and absences are not kept: both are likely to change soon (README).
          if (result && !(result instanceof Error)) cache.set(scoped(apiKey, id), result, at);
        }
      }),
  );
  /** (key, external id) → the lookup in flight. */
  const externalInFlight = new Map<string, Flight<TelliContact | null>>();

  return {
    ...inner,

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

    async getContactByExternalId(externalId, call) {
      const { apiKey } = call;
      if (!apiKey) return inner.getContactByExternalId(externalId, call);
      const key = scoped(apiKey, externalId);
      let flight = externalInFlight.get(key);
      if (!flight) {
        const forget = () => {
          if (externalInFlight.get(key) === started) externalInFlight.delete(key);
        };
        const started: Flight<TelliContact | null> = new Flight((signal) =>
          inner
            .getContactByExternalId(externalId, {
              apiKey,
              requestId: call.requestId,
              deadline: call.deadline,
              signal,
            })
            .finally(forget),
        );
        started.onAbandoned = forget;
        externalInFlight.set(key, started);
        flight = started;
      }
      return flight.join(call.signal, ENDPOINTS.contactByExternalId);
    },
  };
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
 * Contacts by (API key, id) with an expiry, at most `maxEntries`. A `Map` keeps insertion order,
 * so re-inserting on every hit makes its first key the least recently used one.
 */
class ContactCache {
  readonly #entries = new Map<string, { contact: TelliContact; expiresAt: number }>();

  constructor(
    readonly ttlMs: number,
    readonly maxEntries: number,
  ) {}

  get(key: string, now: number): TelliContact | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAt <= now) return undefined;
    this.#entries.set(key, entry);
    return entry.contact;
  }

  set(key: string, contact: TelliContact, now: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { contact, expiresAt: now + this.ttlMs });
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }
}
