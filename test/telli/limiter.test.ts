import { describe, expect, it } from 'vitest';
import { Cancellation, ConcurrencyLimiter } from '../../src/telli/index.js';

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
