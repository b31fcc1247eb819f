import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ErrorCode } from '../error-codes.js';

const CONTENT_LENGTH = /^\d+$/;

function httpError(status: number, code: ErrorCode, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { http: { status }, code } });
}

const tooLarge = (limit: number) => httpError(413, ErrorCode.PAYLOAD_TOO_LARGE, `Request body exceeds ${limit} bytes.`);

/**
 * Yoga's request body limit, without its per-request cost. Yoga pipes every POST body through a
 * TransformStream to count bytes; the pipeline's AbortController, stream wrappers and the
 * DOMException it builds at the end cost more than executing a small operation. With a valid
 * `Content-Length` there is nothing to count: Node's HTTP parser delivers exactly that many
 * bytes (and refuses a request that also says `Transfer-Encoding`). Only a body of unknown length
 * (chunked) is counted as it streams in. Use with `maxRequestBodySize: false`.
 */
export function useRequestBodyLimit(limit: number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const contentLength = request.headers.get('content-length');
      if (contentLength !== null) {
        if (!CONTENT_LENGTH.test(contentLength)) {
          throw httpError(400, ErrorCode.BAD_REQUEST, 'Content-Length header is invalid.');
        }
        if (Number(contentLength) > limit) {
          throw tooLarge(limit);
        }
        return;
      }
      const body = request.body;
      if (!requestParser || !body) return;
      const parse = requestParser;
      setRequestParser((req) => {
        let bytes = 0;
        const counted = body.pipeThrough(
          new fetchAPI.TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              bytes += chunk.byteLength;
              if (bytes > limit) controller.error(tooLarge(limit));
              else controller.enqueue(chunk);
            },
          }),
        );
        return parse(
          new fetchAPI.Request(req.url, {
            method: req.method,
            headers: req.headers,
            signal: req.signal,
            body: counted,
            // @ts-expect-error -- `duplex` is required for a streaming body but missing from the DOM typings
            duplex: 'half',
          }),
        );
      });
    },
  };
}
