import { describe, expect, it } from 'vitest';
import { Cancellation, delay } from '../../src/telli/index.js';

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
