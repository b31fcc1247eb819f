import type { IncomingMessage } from 'node:http';
import { ErrorCode } from '../error-codes.js';
import type { ReceiveOutcome, WebhookReceiver } from '../live/webhook.js';
import type { RouteHandler } from './edge.js';
import { errorResponse } from './responses.js';

/**
 * `POST /webhooks/telli`: telli's webhooks, delivered by Svix. The Svix signature is this route's
 * authentication, so caller tokens, CSRF prevention and GraphQL admission do not apply (they are
 * GraphQL-route plugins). Anyone can send to this route, so refusing costs next to nothing:
 *
 * 1. the svix headers are checked before any of the body is read (present, well-formed, a
 *    timestamp within 5 minutes); a request that fails is answered 401 at once and its
 *    connection closed, so that its body is never read;
 * 2. at most `maxInFlight` bodies are read, verified and published at once; beyond, 503
 *    `OVERLOADED` with `Retry-After` (Svix redelivers: nothing is lost), so bodies held in
 *    memory stay within `maxInFlight × maxBodyBytes`;
 * 3. the body is read within `maxBodyBytes`, its signature computed as the bytes arrive (native
 *    HMAC over the exact bytes, see `src/live/webhook-signature.ts`).
 *
 * The answer comes as soon as the event is on the bus — re-reads and subscribers happen after —
 * so it is well within the 15 s Svix waits.
 *
 * | Case                                                                  | Status |
 * | --------------------------------------------------------------------- | ------ |
 * | new event published / redelivery (same `svix-id`) / authentic but nothing to do | 200 |
 * | not POST                                                              | 405    |
 * | svix headers missing or malformed, stale timestamp, no valid signature | 401   |
 * | body over `WEBHOOK_MAX_BODY_BYTES`                                    | 413    |
 * | `maxInFlight` bodies being read already                               | 503    |
 * | authentic, but not JSON, or not an event the bus can carry            | 400    |
 * | event bus (Redis) unavailable: not accepted, Svix redelivers          | 503    |
 */
export type DeliveryOutcome =
  | 'published'
  | 'duplicate'
  | 'ignored'
  | 'unauthenticated'
  | 'invalid_json'
  | 'undeliverable'
  | 'too_large'
  | 'busy'
  | 'aborted'
  | 'unavailable'
  | 'method_not_allowed';

export interface WebhookRouteOptions {
  receiver: WebhookReceiver;
  maxBodyBytes: number;
  /** Bodies read, verified and published at once (`WEBHOOK_MAX_IN_FLIGHT`). */
  maxInFlight: number;
  /** Told the outcome of every delivery (metrics). */
  onDelivery?: (outcome: DeliveryOutcome) => void;
}

/** Seconds a sender refused for `maxInFlight` is asked to wait; Svix redelivers on its own schedule. */
const BUSY_RETRY_AFTER_SECONDS = 5;

const UNAUTHENTICATED_MESSAGES: Record<string, string> = {
  'timestamp too old': 'The svix-timestamp is more than 5 minutes old.',
  'timestamp too new': 'The svix-timestamp is more than 5 minutes in the future.',
  'no matching signature': 'No svix-signature is valid for this endpoint.',
};
const MALFORMED_HEADERS =
  'The svix headers are missing or malformed (svix-id: 1–512 characters; svix-timestamp: Unix seconds; svix-signature: v1,<base64 HMAC-SHA256>).';

export function webhookRoute(options: WebhookRouteOptions): RouteHandler {
  const { receiver, maxBodyBytes, maxInFlight } = options;
  let inFlight = 0;
  const done = (outcome: DeliveryOutcome, response: Response) => {
    options.onDelivery?.(outcome);
    response.headers.set('cache-control', 'no-store');
    return response;
  };
  /**
   * A refusal before the body is read also closes the connection once it is answered: node would
   * otherwise read the unread body to its end, to reuse the connection — megabytes of junk read
   * for nothing, at the sender's pace.
   */
  const beforeBody = (outcome: DeliveryOutcome, response: Response) => {
    response.headers.set('connection', 'close');
    return done(outcome, response);
  };
  const tooLarge = () =>
    errorResponse(413, ErrorCode.PAYLOAD_TOO_LARGE, `The webhook body is larger than ${maxBodyBytes} bytes.`);

  return async (request, context) => {
    if (request.method !== 'POST') {
      return beforeBody(
        'method_not_allowed',
        errorResponse(405, ErrorCode.METHOD_NOT_ALLOWED, 'Webhooks are delivered with POST.', { allow: 'POST' }),
      );
    }
    const delivery = receiver.begin({
      id: request.headers.get('svix-id'),
      timestamp: request.headers.get('svix-timestamp'),
      signature: request.headers.get('svix-signature'),
    });
    if ('status' in delivery) {
      return beforeBody(
        'unauthenticated',
        errorResponse(
          401,
          ErrorCode.WEBHOOK_SIGNATURE_INVALID,
          UNAUTHENTICATED_MESSAGES[delivery.reason] ?? MALFORMED_HEADERS,
        ),
      );
    }
    const declared = Number(request.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > maxBodyBytes) return beforeBody('too_large', tooLarge());
    if (inFlight >= maxInFlight) {
      return beforeBody(
        'busy',
        errorResponse(503, ErrorCode.OVERLOADED, 'Too many webhooks are being received at once; redeliver shortly.', {
          'retry-after': String(BUSY_RETRY_AFTER_SECONDS),
        }),
      );
    }

    // The slot is freed when the work ends, or when the connection closes: a body whose sender
    // went away mid-way may never end by itself.
    inFlight++;
    let held = true;
    const body = bodyOf(request, context.req);
    const release = () => {
      if (!held) return;
      held = false;
      inFlight--;
      body.cancel();
    };
    context.res?.once('close', release);
    try {
      let size = 0;
      try {
        for await (const chunk of body.chunks) {
          size += chunk.byteLength;
          // Cut off mid-way: the rest is not read either.
          if (size > maxBodyBytes) return beforeBody('too_large', tooLarge());
          delivery.write(chunk);
        }
      } catch {
        // The sender went away mid-body: nobody is left to answer.
        return done('aborted', errorResponse(400, ErrorCode.BAD_REQUEST, 'The webhook body was cut off.'));
      }
      return done(...answer(await delivery.end()));
    } finally {
      release();
    }
  };
}

/**
 * The request body as it arrives. Under node:http, straight from node's request: the body of the
 * `Request` the server adapter built from it is a web stream over the same bytes, which hands
 * each chunk through a byte-stream controller (a transfer and a promise per 64 KiB) for nothing.
 * Leaving the loop early (too large) leaves the request to node, which writes the 413 and then
 * closes the connection (`Connection: close`) instead of reading the rest.
 */
function bodyOf(
  request: Request,
  req: IncomingMessage | undefined,
): { chunks: AsyncIterable<Uint8Array>; cancel(): void } {
  if (req) return { chunks: req.iterator({ destroyOnReturn: false }), cancel: () => undefined };
  const stream = request.body;
  if (!stream) return { chunks: (async function* () {})(), cancel: () => undefined };
  const reader = stream.getReader();
  return {
    chunks: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          yield value;
        }
      },
    },
    cancel: () => void reader.cancel().catch(() => undefined),
  };
}

function answer(outcome: ReceiveOutcome): [DeliveryOutcome, Response] {
  switch (outcome.status) {
    case 'published':
    case 'duplicate':
    case 'ignored':
      return [outcome.status, Response.json({ received: true, outcome: outcome.status })];
    case 'unauthenticated':
      return [
        'unauthenticated',
        errorResponse(
          401,
          ErrorCode.WEBHOOK_SIGNATURE_INVALID,
          UNAUTHENTICATED_MESSAGES[outcome.reason] ?? MALFORMED_HEADERS,
        ),
      ];
    case 'invalid-json':
      return ['invalid_json', errorResponse(400, ErrorCode.BAD_REQUEST, 'The webhook body is not JSON.')];
    case 'undeliverable':
      return [
        'undeliverable',
        errorResponse(400, ErrorCode.BAD_REQUEST, 'The webhook is authentic, but its event cannot be delivered.'),
      ];
    case 'unavailable':
      return [
        'unavailable',
        errorResponse(
          503,
          ErrorCode.EVENT_BUS_UNAVAILABLE,
          'The event bus is unavailable; the webhook was not accepted (redeliver it).',
          { 'retry-after': '5' },
        ),
      ];
  }
}
