import type { ExecutionResult, FormattedExecutionResult } from 'graphql';
import { processRegularResult, type FetchAPI, type Plugin } from 'graphql-yoga';

/**
 * One subscription, many transports. Every wire — SSE, Apollo's multipart and HTTP callback
 * protocols, graphql-ws over a WebSocket — runs its operations through the same GraphQL route: the
 * edge (admission, deadline, request id) and every Yoga plugin (caller auth, CSRF, body limit,
 * trusted documents, query limits, cost, metrics, tracing, masking), the same context factory
 * (which telli key, which caller for the limits) and the same subscription fields (the
 * subscription limits, the key check, events re-read with the subscriber's own key). Who the
 * caller is, its key, its limits and its tenant rules are therefore decided once, whatever the
 * wire. A transport adds only framing, heartbeats and its own way to end a stream: the HTTP
 * protocols are result processors at the end of that route (`multipart.ts`, `callback.ts`, and
 * Yoga's own SSE), and a wire that is not an HTTP response (`websocket.ts`) sends each operation
 * down the route as a request of its own and takes the result instead of a response, here.
 */

/** A result as it goes over any wire: the JSON an HTTP answer would carry (internals omitted). */
export type WireResult = FormattedExecutionResult;

/**
 * Handed to the GraphQL route in the server context (where no client can put it) by a wire that
 * is not an HTTP response: the route leaves its result here, and answers the request itself with
 * an empty 200. A refusal before execution (401, 413, 503, …) is still an HTTP response.
 */
export interface WireSlot {
  /** An operation's result, or a subscription's stream of results (ending it ends the subscription). */
  result?: WireResult | AsyncIterableIterator<WireResult>;
}

/** The Yoga plugin that fills a request's `WireSlot`; after the plugins that recode results. */
export function useWireResults(): Plugin<Record<string, unknown>, { wire?: WireSlot }> {
  return {
    onResultProcess({ serverContext, setResultProcessor }) {
      const slot = serverContext.wire;
      if (!slot) return;
      setResultProcessor(async (result, fetchAPI) => {
        slot.result = isAsyncIterable(result)
          ? mapStream(result, (item) => formatResult(item, fetchAPI))
          : // A batch is not a thing a wire sends (the route refuses batches).
            await formatResult(Array.isArray(result) ? (result[0] ?? {}) : result, fetchAPI);
        return new fetchAPI.Response(null, { status: 200 });
      }, 'application/json');
    },
  };
}

/**
 * The JSON text of one result exactly as an HTTP answer carries it: masked errors without the
 * route's internals (`extensions.http`, the original error). Yoga's own serialiser, so that no
 * wire shows what HTTP does not.
 */
export function resultJson(result: ExecutionResult, fetchAPI: Pick<FetchAPI, 'Response'>): Promise<string> {
  return processRegularResult(result, fetchAPI as FetchAPI, 'application/json').text();
}

async function formatResult(result: ExecutionResult, fetchAPI: FetchAPI): Promise<WireResult> {
  return JSON.parse(await resultJson(result, fetchAPI)) as WireResult;
}

export function isAsyncIterable<T>(value: T): value is Extract<T, AsyncIterable<unknown>> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/**
 * `source`'s items through `map`, as an iterator whose `return()` ends `source` at once — an async
 * generator would first wait for the pending `next()`, i.e. for the subscription's next event.
 */
export function mapStream<T, U>(
  source: AsyncIterable<T>,
  map: (item: T) => Promise<U>,
): AsyncIterableIterator<U> & { return(): Promise<IteratorResult<U>> } {
  const iterator = source[Symbol.asyncIterator]();
  const done = { value: undefined, done: true } as const;
  const mapped: AsyncIterableIterator<U> & { return(): Promise<IteratorResult<U>> } = {
    async next() {
      const item = await iterator.next();
      return item.done ? done : { value: await map(item.value), done: false };
    },
    async return() {
      await iterator.return?.();
      return done;
    },
    async throw(error: unknown) {
      await iterator.return?.();
      throw error;
    },
    [Symbol.asyncIterator]: () => mapped,
  };
  return mapped;
}
