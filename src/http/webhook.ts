import { ErrorCode } from '../error-codes.js';
import type { WebhookReceiver } from '../live/webhook.js';
import type { RouteHandler } from './edge.js';
import { errorResponse } from './responses.js';

/**
 * `POST /webhooks/telli`: telli's webhooks, delivered by Svix. The Svix signature is this route's
 * authentication, so caller tokens, CSRF prevention and GraphQL admission do not apply (they are
 * GraphQL-route plugins). The body is read raw, within `maxBodyBytes`, because the signature is
 * over the exact bytes; `src/live/webhook.ts` verifies, reads and publishes it. The answer comes
 * as soon as the event is on the bus — re-reads and subscribers happen after — so it is well
 * within the 15 s Svix waits.
 *
 * | Case                                                        | Status |
 * | ----------------------------------------------------------- | ------ |
 * | new event published / redelivery (same `svix-id`) / authentic but nothing to do | 200 |
 * | not POST                                                    | 405    |
 * | body over `WEBHOOK_MAX_BODY_BYTES`                          | 413    |
 * | svix headers missing, no valid signature, stale timestamp   | 401    |
 * | authentic, but not JSON                                     | 400    |
 * | event bus (Redis) unavailable: not accepted, Svix redelivers | 503   |
 */
export type DeliveryOutcome =
  | 'published'
  | 'duplicate'
  | 'ignored'
  | 'unauthenticated'
  | 'invalid_json'
  | 'too_large'
  | 'unavailable'
  | 'method_not_allowed';

export interface WebhookRouteOptions {
  receiver: WebhookReceiver;
  maxBodyBytes: number;
  /** Told the outcome of every delivery (metrics). */
  onDelivery?: (outcome: DeliveryOutcome) => void;
}

export function webhookRoute(options: WebhookRouteOptions): RouteHandler {
  const { receiver, maxBodyBytes } = options;
  const done = (outcome: DeliveryOutcome, response: Response) => {
    options.onDelivery?.(outcome);
    response.headers.set('cache-control', 'no-store');
    return response;
  };
  const tooLarge = () =>
    done(
      'too_large',
      errorResponse(413, ErrorCode.PAYLOAD_TOO_LARGE, `The webhook body is larger than ${maxBodyBytes} bytes.`),
    );

  return async (request) => {
    if (request.method !== 'POST') {
      return done(
        'method_not_allowed',
        errorResponse(405, ErrorCode.METHOD_NOT_ALLOWED, 'Webhooks are delivered with POST.', { allow: 'POST' }),
      );
    }
    const declared = Number(request.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > maxBodyBytes) return tooLarge();
    const raw = await readText(request, maxBodyBytes);
    if (raw === undefined) return tooLarge();

    const outcome = await receiver.receive(raw, {
      id: request.headers.get('svix-id'),
      timestamp: request.headers.get('svix-timestamp'),
      signature: request.headers.get('svix-signature'),
    });
    switch (outcome.status) {
      case 'published':
      case 'duplicate':
      case 'ignored':
        return done(outcome.status, Response.json({ received: true, outcome: outcome.status }));
      case 'unauthenticated':
        return done(
          'unauthenticated',
          errorResponse(
            401,
            ErrorCode.WEBHOOK_SIGNATURE_INVALID,
            'The webhook has no valid Svix signature for this endpoint, or its timestamp is more than 5 minutes off.',
          ),
        );
      case 'invalid-json':
        return done('invalid_json', errorResponse(400, ErrorCode.BAD_REQUEST, 'The webhook body is not JSON.'));
      case 'unavailable':
        return done(
          'unavailable',
          errorResponse(
            503,
            ErrorCode.EVENT_BUS_UNAVAILABLE,
            'The event bus is unavailable; the webhook was not accepted (redeliver it).',
            { 'retry-after': '5' },
          ),
        );
    }
  };
}

/** The body as text, or undefined once it exceeds `max` bytes (the rest is not read). */
async function readText(request: Request, max: number): Promise<string | undefined> {
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}
