import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GraphQLContext } from '../context.js';
import { operationCost } from '../schema/core/cost.js';
import { eventContextOf } from '../schema/live/event-context.js';
import { logMasked } from './error-report.js';
import type { EventAdmission } from './event-admission.js';

/**
 * Subscriptions execute each event with the context the event's payload carries
 * (`withEventContext`, see `src/schema/live/event-context.ts`), not with the subscription's own.
 *
 * GraphQL executes every event of a subscription with the one context its request built, and
 * ours holds per-request loaders: their memo would answer every later event with the first
 * event's reads, and their telli budget ends `REQUEST_DEADLINE_MS` after the subscription
 * started. So this replaces the subscribe step with the same algorithm the spec describes —
 * create the source stream, then execute each payload as root value — with the per-event
 * context swapped in (Yoga's own fields kept). Everything around it (masking, the other plugins'
 * hooks on each result) is unchanged; the event's budget is freed once it has executed, and
 * errors about to be masked are logged with the request id, as `useRequestLog` does for queries.
 *
 * Each event executes only once `admission` has room for the subscription's cost (see
 * `event-admission.ts`): the work events put in flight is bounded as operations' is.
 */
export function useEventContexts(admission: EventAdmission): Plugin<GraphQLContext> {
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn((args) => subscribeWithEventContexts(args, admission));
    },
  };
}

async function subscribeWithEventContexts(
  args: ExecutionArgs,
  admission: EventAdmission,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const stream = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in stream)) return stream;
  const source = stream[Symbol.asyncIterator]();
  // What one event costs: the subscription's selection, as the cost limit weighed it.
  const cost = operationCost(args.schema, args.document, args.operationName, args.variableValues ?? {});
  let waiting: ReturnType<EventAdmission['enter']> | undefined;

  /** The event's result, or undefined when the subscription ended while it waited. */
  const executeEvent = async (payload: unknown): Promise<ExecutionResult | undefined> => {
    const own = eventContextOf(payload);
    waiting = admission.enter(cost);
    const release = await waiting.granted;
    waiting = undefined;
    try {
      if (!release) return undefined;
      const contextValue = own ? { ...(args.contextValue as object), ...own } : args.contextValue;
      const result = await execute({ ...args, rootValue: payload, contextValue });
      logMasked((own ?? (args.contextValue as GraphQLContext)).logger, result.errors ?? [], ' in a subscription event');
      return result;
    } finally {
      release?.();
      own?.release();
    }
  };

  // A plain iterator, not an async generator: `return()` must end the source at once (the client
  // left), not wait behind a pending `next()` for the next event to arrive.
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      const item = await source.next();
      if (item.done) return { value: undefined, done: true };
      const result = await executeEvent(item.value);
      return result ? { value: result, done: false } : { value: undefined, done: true };
    },
    async return() {
      waiting?.cancel();
      await source.return?.();
      return { value: undefined, done: true };
    },
    async throw(error: unknown) {
      waiting?.cancel();
      await source.return?.();
      throw error;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
