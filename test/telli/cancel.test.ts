import { describe, expect, it } from 'vitest';
import { Cancellation, ConcurrencyLimiter, delay } from '../../src/telli/index.js';

describe('Cancellation', () => {
  it('runs each listener once, in order, and never one that was removed', () => {
    const cancel = new Cancellation();
    const calls: string[] = [];
    const removed = () => calls.push('removed');
    cancel.addEventListener('abort', () => calls.push('a'));
    cancel.addEventListener('abort', removed);
    cancel.addEventListener('abort', () => calls.push('b'));
    cancel.removeEventListener('abort', removed);
    const reason = new Error('gone');
    cancel.abort(reason);
    cancel.abort(new Error('again'));
    expect(calls).toEqual(['a', 'b']);
    expect(cancel.aborted).toBe(true);
    expect(cancel.reason).toBe(reason);
  });

  it('gives an AbortError reason by default', () => {
    const cancel = new Cancellation();
    cancel.abort();
    expect(cancel.reason).toBeInstanceOf(DOMException);
    expect((cancel.reason as DOMException).name).toBe('AbortError');
  });
});

describe('delay', () => {
  it('resolves after the time, and rejects with the reason as soon as the signal aborts', async () => {
    await expect(delay(5)).resolves.toBeUndefined();
    const cancel = new Cancellation();
    const started = performance.now();
    const waiting = delay(10_000, cancel);
    setTimeout(() => cancel.abort(new Error('deadline')), 10);
    await expect(waiting).rejects.toThrow('deadline');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('rejects at once on a signal that has already aborted', async () => {
    const cancel = new Cancellation();
    cancel.abort(new Error('before'));
    await expect(delay(10_000, cancel)).rejects.toThrow('before');
  });
});

describe('ConcurrencyLimiter', () => {
  it('starts a task at once while a slot is free, queues the rest in order', async () => {
    const limiter = new ConcurrencyLimiter(1);
    const order: string[] = [];
    let finishFirst!: () => void;
    const first = limiter.run(() => {
      order.push('first started');
      return new Promise<void>((resolve) => (finishFirst = resolve));
    });
    // Synchronously: the free slot was taken without waiting for a microtask.
    expect(order).toEqual(['first started']);
    const second = limiter.run(async () => void order.push('second started'));
    const third = limiter.run(async () => void order.push('third started'));
    expect(limiter.queued).toBe(2);
    finishFirst();
    await Promise.all([first, second, third]);
    expect(order).toEqual(['first started', 'second started', 'third started']);
    expect(limiter.active).toBe(0);
  });

  it('a queued waiter whose signal aborts leaves without taking a slot', async () => {
    const limiter = new ConcurrencyLimiter(1);
    let finish!: () => void;
    const holding = limiter.run(() => new Promise<void>((resolve) => (finish = resolve)));
    const cancel = new Cancellation();
    let ran = false;
    const waiting = limiter.run(async () => void (ran = true), cancel);
    cancel.abort(new Error('client gone'));
    await expect(waiting).rejects.toThrow('client gone');
    expect(limiter.queued).toBe(0);
    finish();
    await holding;
    expect(ran).toBe(false);
    expect(limiter.active).toBe(0);
  });

  it('gives the slot back when a task throws before returning a promise', async () => {
    const limiter = new ConcurrencyLimiter(1);
    await expect(
      limiter.run(() => {
        throw new Error('sync failure');
      }),
    ).rejects.toThrow('sync failure');
    expect(limiter.active).toBe(0);
    await expect(limiter.run(async () => 'next')).resolves.toBe('next');
  });
});
