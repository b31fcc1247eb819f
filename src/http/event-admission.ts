/**
 * Admission for subscription events, as `admission.ts` is for operations: a bound on the cost
 * of the events being executed at once on this instance.
 *
 * A subscription's cost is checked once, when it starts, and paid on every event: each event
 * executes the subscription's selection once more for each subscriber (a re-read contact, its
 * fields, whatever they read from telli). One webhook for a contact 100 subscribers follow, each
 * selecting 90 aliased contacts, is 100 executions of cost ~1000 — started together, they held
 * the event loop for as long as all of them took, and /health with it. So each event of a
 * subscription reserves the subscription's cost before it executes, and gives it back when done.
 *
 * Events that do not fit wait, in arrival order, one per subscription (a subscription pulls its
 * next event only when the last one is done); the events behind them wait in the subscriber's
 * bounded queue, which drops its oldest when full (counted). Waiters are let in from a macrotask
 * of their own (`setImmediate`), never from the microtask of the release, so that I/O — probes,
 * queries, webhooks — runs between one batch of executions and the next. An event is always let
 * in when nothing runs, so every subscription the cost limit allows can receive events.
 */
export interface EventAdmission {
  /** Waits until `cost` fits. `cancel` (the subscription ended) resolves `granted` with undefined. */
  enter(cost: number): { granted: Promise<(() => void) | undefined>; cancel(): void };
}

interface Waiter {
  cost: number;
  resolve(release: (() => void) | undefined): void;
}

export function createEventAdmission(maxCost: number): EventAdmission {
  let inFlight = 0;
  const waiting: Waiter[] = [];
  let scheduled = false;
  const fits = (cost: number) => inFlight === 0 || inFlight + cost <= maxCost;

  const grant = (cost: number) => {
    inFlight += cost;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      inFlight -= cost;
      schedule();
    };
  };
  function schedule(): void {
    if (scheduled || waiting.length === 0) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      for (let next = waiting[0]; next && fits(next.cost); next = waiting[0]) {
        waiting.shift();
        next.resolve(grant(next.cost));
      }
    });
  }

  return {
    enter(cost) {
      if (waiting.length === 0 && fits(cost)) return { granted: Promise.resolve(grant(cost)), cancel: () => undefined };
      let waiter: Waiter | undefined;
      const granted = new Promise<(() => void) | undefined>((resolve) => {
        waiter = { cost, resolve };
        waiting.push(waiter);
      });
      return {
        granted,
        cancel() {
          const at = waiter ? waiting.indexOf(waiter) : -1;
          if (at < 0) return;
          waiting.splice(at, 1);
          waiter?.resolve(undefined);
          // It may have been the head that did not fit: those behind it may.
          schedule();
        },
      };
    },
  };
}
