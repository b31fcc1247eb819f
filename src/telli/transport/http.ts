import type { Dispatcher } from 'undici';
import type { CancelSignal } from './cancel.js';

/**
 * One HTTP exchange's outcome. The body is read for 2xx; other bodies are drained unread unless
 * `errorBodyLimit` asks for them.
 */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The UTF-8 body of a 2xx answer, or of another answer within `errorBodyLimit`; `undefined` otherwise. */
  text: string | undefined;
}

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface ExchangeOptions {
  method: HttpMethod;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
  /** Upper bound for the whole exchange: connect, headers and body. */
  timeoutMs: number;
  /** Largest 2xx body read; a larger one aborts the exchange with `ResponseTooLargeError`. */
  maxBodyBytes: number;
  /** Aborts the exchange (client gone, request deadline). */
  signal: CancelSignal | undefined;
  /**
   * Also read non-2xx bodies of at most this many bytes (a longer one is dropped). Writes set it
   * to learn telli's validation message; reads leave it unset and never buffer error bodies.
   */
  errorBodyLimit?: number;
}

/** The exchange ran past `timeoutMs` (and was aborted). */
export class ExchangeTimeoutError extends Error {
  override name = 'ExchangeTimeoutError';
}

/** The answer's body grew past `maxBodyBytes` (and the exchange was aborted before reading more). */
export class ResponseTooLargeError extends Error {
  override name = 'ResponseTooLargeError';
  constructor(readonly limit: number) {
    super(`response body exceeds ${limit} bytes`);
  }
}

/**
 * The exchange failed before undici began to write the request to a socket: `reason` (refused,
 * DNS, connect timeout, our timer or the caller's signal) struck while the request was queued or
 * connecting. undici calls `onRequestStart` right before it writes a request, so until then not
 * one byte of it has left the process.
 */
export class RequestNotSentError extends Error {
  override name = 'RequestNotSentError';
  constructor(readonly reason: unknown) {
    super('the request was not sent');
  }
}

/**
 * One request through an undici dispatcher with a bare handler that collects the body's chunks.
 *
 * This is the layer's hot path: every telli call goes through it. `Pool#request` wraps each
 * answer in a Readable stream and reads it through the stream machinery; here chunks go straight
 * into an array. The bound is one clearable timer, and the caller's signal gets one listener that
 * is removed when the exchange settles — nothing outlives the exchange (`AbortSignal.timeout`
 * and `AbortSignal.any` would keep their signals, and fire, for the full timeout).
 */
export function exchange(dispatcher: Dispatcher, options: ExchangeOptions): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    const { signal } = options;
    let controller: Dispatcher.DispatchController | undefined;
    /** Why we gave up before undici did; applied as soon as undici hands us its controller. */
    let abortReason: Error | undefined;
    let settled = false;
    let status = 0;
    let headers: Record<string, string | string[] | undefined> = {};
    let chunks: Buffer[] | undefined;
    let bytes = 0;
    /** Bytes of a non-2xx body still allowed (`errorBodyLimit`). */
    let errorBodyRoom = 0;

    const settle = (error: Error | undefined, response?: RawResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // No controller yet: undici never started writing this request (see RequestNotSentError).
      if (error) reject(controller ? error : new RequestNotSentError(error));
      else resolve(response as RawResponse);
    };
    const giveUp = (reason: Error) => {
      abortReason ??= reason;
      controller?.abort(reason);
      settle(reason);
    };
    const onAbort = () => giveUp(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    const timer = setTimeout(() => giveUp(new ExchangeTimeoutError('telli call timed out')), options.timeoutMs);

    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(ctrl) {
        controller = ctrl;
        if (abortReason) ctrl.abort(abortReason);
      },
      onResponseStart(_ctrl, statusCode, responseHeaders) {
        status = statusCode;
        headers = responseHeaders;
        if (statusCode >= 200 && statusCode < 300) chunks = [];
        else if (options.errorBodyLimit !== undefined) {
          chunks = [];
          errorBodyRoom = options.errorBodyLimit;
        }
      },
      onResponseData(_ctrl, chunk) {
        if (!chunks) return;
        if (status < 200 || status >= 300) {
          errorBodyRoom -= chunk.length;
          // Too long to be a validation message: drain the rest unread.
          if (errorBodyRoom < 0) chunks = undefined;
          else chunks.push(chunk);
          return;
        }
        bytes += chunk.length;
        // A hostile or broken upstream must not be able to fill our memory.
        if (bytes > options.maxBodyBytes) giveUp(new ResponseTooLargeError(options.maxBodyBytes));
        else chunks.push(chunk);
      },
      onResponseEnd() {
        let text: string | undefined;
        if (chunks)
          text = chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
        settle(undefined, { status, headers, text });
      },
      onResponseError(_ctrl, error) {
        settle(abortReason ?? error);
      },
    };
    dispatcher.dispatch(
      {
        method: options.method,
        path: options.path,
        headers: options.headers,
        body: options.body ?? null,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      },
      handler,
    );
  });
}
