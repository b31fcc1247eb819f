import type { CancelSignal } from './cancel.js';

/**
 * A counting semaphore with a FIFO queue: at most `limit` upstream calls run at once, the rest wait
 * their turn instead of failing. A waiter whose signal aborts (deadline passed, client gone) leaves
 * the queue without ever taking a slot.
 */
export class ConcurrencyLimiter {
  #active = 0;
  readonly #queue: Array<() => void> = [];

  constructor(readonly limit: number) {}

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#queue.length;
  }

  run<T>(task: () => Promise<T>, signal?: CancelSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    // A free slot (the usual case) runs the task now, without a promise hop for the queue.
    if (this.#active < this.limit) {
      this.#active++;
      return this.#runHolding(task);
    }
    return this.#enqueue(signal).then(() => this.#runHolding(task));
  }

  /** Runs `task` in a slot already taken, and gives the slot back when it settles. */
  #runHolding<T>(task: () => Promise<T>): Promise<T> {
    let running: Promise<T>;
    try {
      running = task();
    } catch (error) {
      this.#release();
      return Promise.reject(error);
    }
    return running.finally(() => this.#release());
  }

  #enqueue(signal?: CancelSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        this.#active++;
        resolve();
      };
      const onAbort = () => {
        const index = this.#queue.indexOf(grant);
        if (index >= 0) this.#queue.splice(index, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(grant);
    });
  }

  #release(): void {
    this.#active--;
    this.#queue.shift()?.();
  }
}
