import type { ExecutionResult } from 'graphql';
import type { FetchAPI, Plugin } from 'graphql-yoga';
import { ErrorCode } from '../../error-codes.js';
import { acceptsWithParameter } from './media-types.js';
import { isAsyncIterable, resultJson } from './wire.js';

/**
 * Apollo's multipart subscription protocol (`Accept: multipart/mixed;subscriptionSpec=1.0`), what
 * Apollo Client 4's default `HttpLink` subscribes with (and Apollo Router serves its clients).
 * Yoga serves `multipart/mixed` only as incremental delivery (`@defer`), never to a subscription,
 * so this result processor writes Apollo's framing: boundary `graphql`; every part
 * `content-type: application/json`; each event as `{"payload": <the GraphQL result>}`, GraphQL
 * errors inside the payload (the stream goes on); a heartbeat part `{}` every 5 seconds (clients
 * skip it; it keeps proxies from closing an idle stream and shows a dead client); a fatal error
 * as `{"payload": null, "errors": [...]}`, then the closing boundary `--graphql--`, which also ends
 * a subscription the server completes (shutdown).
 *
 * A subscription that cannot start (a refusal, a limit, a missing key) is answered as any request
 * is, with its errors as JSON: the client reads it as the operation's errors.
 */
export const MULTIPART_SUBSCRIPTIONS = 'multipart/mixed;subscriptionSpec=1.0';

/** Apollo Router's interval (`HEARTBEAT_INTERVAL` in its `protocols/multipart.rs`). */
export const MULTIPART_HEARTBEAT_MS = 5_000;

const BOUNDARY = 'graphql';
const PART = `\r\ncontent-type: application/json\r\n\r\n`;
const HEARTBEAT = `${PART}{}\r\n--${BOUNDARY}`;

/** Before `useRefusals`, which answers 406 when no processor took the result. */
export function useMultipartSubscriptions(heartbeatMs = MULTIPART_HEARTBEAT_MS): Plugin {
  return {
    onResultProcess({ request, result, resultProcessor, setResultProcessor, acceptableMediaTypes }) {
      if (!isAsyncIterable(result)) return;
      acceptableMediaTypes.push(MULTIPART_SUBSCRIPTIONS);
      // A client that accepts SSE too gets SSE, which Yoga chose already.
      if (resultProcessor) return;
      if (!acceptsWithParameter(request.headers.get('accept'), 'multipart/mixed', 'subscriptionSpec', '1.0')) return;
      setResultProcessor(
        (stream, fetchAPI) => multipartResponse(stream as AsyncIterable<ExecutionResult>, fetchAPI, heartbeatMs),
        'multipart/mixed',
      );
    },
  };
}

function multipartResponse(results: AsyncIterable<ExecutionResult>, fetchAPI: FetchAPI, heartbeatMs: number) {
  const encoder = new fetchAPI.TextEncoder();
  const iterator = results[Symbol.asyncIterator]();
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const body = new fetchAPI.ReadableStream<Uint8Array>({
    start(controller) {
      // At once: the headers go out, and the client sees the subscription open.
      controller.enqueue(encoder.encode(`\r\n--${BOUNDARY}${HEARTBEAT}`));
      heartbeat = setInterval(() => {
        // A client that does not read gets no pile of heartbeats (null: the stream is done).
        if (controller.desiredSize !== null && controller.desiredSize > 0)
          controller.enqueue(encoder.encode(HEARTBEAT));
      }, heartbeatMs);
    },
    async pull(controller) {
      try {
        const item = await iterator.next();
        if (item.done) {
          clearInterval(heartbeat);
          controller.enqueue(encoder.encode('--\r\n'));
          controller.close();
          return;
        }
        const payload = await resultJson(item.value, fetchAPI);
        controller.enqueue(encoder.encode(`${PART}{"payload":${payload}}\r\n--${BOUNDARY}`));
      } catch {
        // The stream itself failed (results carry GraphQL errors, so this is the transport's):
        // Apollo's fatal-error part, and the end.
        clearInterval(heartbeat);
        const errors = [{ message: 'Unexpected error.', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } }];
        controller.enqueue(
          encoder.encode(`${PART}${JSON.stringify({ payload: null, errors })}\r\n--${BOUNDARY}--\r\n`),
        );
        controller.close();
      }
    },
    async cancel() {
      // The client left.
      clearInterval(heartbeat);
      await iterator.return?.();
    },
  });
  return new fetchAPI.Response(body, {
    status: 200,
    headers: { 'content-type': `multipart/mixed;boundary="${BOUNDARY}";subscriptionSpec=1.0` },
  });
}
