/**
 * What the telli client needs of an AbortSignal: a flag, a reason and abort listeners. A real
 * `AbortSignal` satisfies it, so callers may pass one; the layer itself passes `Cancellation`s.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * An AbortController and its signal in one plain object, for the hot path. Every GraphQL request
 * that reads telli needs one for its budget and every shared upstream call one more (see
 * `coalescing.ts`); Node's AbortController is an EventTarget, so each one, and each listener on
 * it, costs microseconds and a handful of objects; replacing them took the telli client's CPU per
 * single-contact read from ~105 to ~82 µs (docs/performance.md). Listeners run once, in order,
 * synchronously on `abort`.
 */
export class Cancellation implements CancelSignal {
  aborted = false;
  reason: unknown = undefined;
  #listeners: (() => void)[] | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.aborted) (this.#listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const listeners = this.#listeners;
    if (!listeners) return;
    const index = listeners.indexOf(listener);
    if (index >= 0) listeners.splice(index, 1);
  }

  abort(reason: unknown = new DOMException('This operation was aborted', 'AbortError')): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners) for (const listener of listeners) listener();
  }
}

/** Resolves after `ms`; rejects with the signal's reason as soon as it aborts. */
export function delay(ms: number, signal?: CancelSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A request's budget for telli: its signal, and `release` to free it once the request is done. */
export interface RequestBudget {
  signal: CancelSignal;
  release(): void;
}

/**
 * A signal that fires when the client goes away or at `deadline`, whichever comes first. Cheaper
 * than `AbortSignal.any([request.signal, AbortSignal.timeout(ms)])`: that timer cannot be
 * cleared, so each request's signals stayed reachable (and fired, building a DOMException) long
 * after the response was sent; and a `Cancellation` is a plain object, not an EventTarget.
 */
export function createRequestBudget(clientSignal: AbortSignal, deadline: number): RequestBudget {
  const controller = new Cancellation();
  const onClientGone = () => controller.abort(clientSignal.reason);
  const timer = setTimeout(
    () => controller.abort(new DOMException('request deadline passed', 'TimeoutError')),
    Math.max(0, deadline - Date.now()),
  );
  timer.unref();
  if (clientSignal.aborted) onClientGone();
  else clientSignal.addEventListener('abort', onClientGone, { once: true });
  return {
    signal: controller,
    release() {
      clearTimeout(timer);
      clientSignal.removeEventListener('abort', onClientGone);
    },
  };
}
