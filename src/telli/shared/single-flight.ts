import { Cancellation, type CancelSignal } from '../transport/cancel.js';
import { TelliTimeoutError } from '../transport/errors.js';
import type { CallOptions } from '../transport/transport.js';

/** A collision-free key for (API key, id): API keys never contain a newline (they are header values). */
export function scoped(apiKey: string, id: string): string {
  return `${apiKey}\n${id}`;
}

/**
 * Single-flight of reads across the requests of one app: one upstream call per (API key, `what`)
 * at a time, and a caller asking for what is in flight joins it. `what` names the endpoint and
 * every argument, so different reads never share; nothing is ever shared between keys. A caller
 * that gives up (deadline, client gone) leaves the shared call with UPSTREAM_TIMEOUT for itself;
 * the call is aborted only when every caller waiting on it has left. A shared call carries the
 * request id of the request that started it.
 */
export class SingleFlight {
  /** (key, endpoint and arguments) → the single read in flight. */
  readonly #readsInFlight = new Map<string, Flight<unknown>>();

  /** `read` once for every caller asking for `what` with this key while it is in flight. */
  run<T>(what: string, endpoint: string, call: CallOptions, read: (call: CallOptions) => Promise<T>): Promise<T> {
    const readsInFlight = this.#readsInFlight;
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

  /** Later callers of `what` with this key start their own read: the one in flight may predate a change. */
  forget(apiKey: string, what: string): void {
    this.#readsInFlight.delete(scoped(apiKey, what));
  }

  /** `forget` for every read in flight whose scoped key (`apiKey\nwhat`) matches. */
  forgetWhere(matches: (key: string) => boolean): void {
    for (const key of this.#readsInFlight.keys()) if (matches(key)) this.#readsInFlight.delete(key);
  }
}

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
