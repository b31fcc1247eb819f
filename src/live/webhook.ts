// svix's webhook module alone: the package's index also loads its whole REST API client (~260 KB
// of the bundle, evaluated at start-up) for nothing. The 1.x line has no exports map; see package.json.
import { Webhook, WebhookVerificationError } from 'svix/dist/webhook.js';
import type { Logger } from '../logger.js';
import { BusUnavailableError, type LiveBus } from './bus.js';
import { interpretWebhook, type LiveEventType } from './events.js';

/**
 * Receiving one telli webhook, whatever carried it: verify the Svix signature over the raw body,
 * parse the JSON, read the event, and put it on the bus once per delivery id. The HTTP route
 * (`src/http/webhook.ts`) maps each outcome to a status.
 *
 * Verification is svix's own (`Webhook.verify`): HMAC-SHA256 of `id.timestamp.body` under the
 * endpoint's `whsec_` secret, constant-time comparison, and a timestamp within 5 minutes of now
 * either way (Svix's tolerance, which also bounds how long a captured delivery can be replayed).
 * Several secrets are tried in turn, so a secret can be rotated without losing deliveries.
 *
 * On the svix 1.x line (see package.json), `verify` parses the JSON itself once a signature
 * matched, so a `SyntaxError` from it means "authentic, but not JSON"; svix ≥ 2.2 returns without
 * parsing. Either way the body is parsed here, once verified.
 */
export interface SvixHeaders {
  id: string | null;
  timestamp: string | null;
  signature: string | null;
}

export type ReceiveOutcome =
  /** A new event, now on the bus. */
  | { status: 'published'; type: LiveEventType; deliveryId: string }
  /** A delivery id already seen within the dedupe window: acknowledged, not processed again. */
  | { status: 'duplicate'; deliveryId: string }
  /** Authentic, but nothing to do (an unknown event type, or no usable contact id): acknowledged. */
  | { status: 'ignored'; deliveryId: string; reason: string }
  /** Missing or bad signature, or a stale/future timestamp: nothing happened. */
  | { status: 'unauthenticated'; reason: string }
  /** Authentic, but the body is not JSON. */
  | { status: 'invalid-json' }
  /** The bus (Redis) cannot take events now: not acknowledged, so that Svix redelivers. */
  | { status: 'unavailable'; reason: string };

export interface WebhookHooks {
  /** A verified event by type: `unknown` (a type this layer does not handle) or `unusable` (no contact id). */
  onEvent?(type: LiveEventType | 'unknown' | 'unusable'): void;
  /** Top-level payload fields this layer does not know, per event type. */
  onUnknownFields?(type: LiveEventType, count: number): void;
}

export interface WebhookReceiverOptions {
  /** The endpoint's signing secrets (`whsec_…`); any of them may have signed a delivery. */
  secrets: readonly string[];
  bus: LiveBus;
  logger: Logger;
  hooks?: WebhookHooks;
  /** When the webhook was received (the event's time when its payload names none). */
  now?: () => Date;
}

export interface WebhookReceiver {
  receive(rawBody: string, headers: SvixHeaders): Promise<ReceiveOutcome>;
}

export function createWebhookReceiver(options: WebhookReceiverOptions): WebhookReceiver {
  if (options.secrets.length === 0) throw new Error('a webhook receiver needs at least one secret');
  const verifiers = options.secrets.map((secret) => new Webhook(secret));
  const { bus, hooks = {} } = options;
  const now = options.now ?? (() => new Date());
  const log = options.logger.child({ component: 'webhook' });

  /** 'ok', 'json' (authentic, not JSON) or why no secret verifies it. */
  function verify(rawBody: string, headers: SvixHeaders): 'ok' | 'json' | { reason: string } {
    if (!headers.id || !headers.timestamp || !headers.signature) return { reason: 'missing svix headers' };
    const svixHeaders = {
      'svix-id': headers.id,
      'svix-timestamp': headers.timestamp,
      'svix-signature': headers.signature,
    };
    let reason = 'no matching signature';
    for (const verifier of verifiers) {
      try {
        verifier.verify(rawBody, svixHeaders);
        return 'ok';
      } catch (error) {
        // svix 1.x parses after the signature matched: authentic, not JSON.
        if (error instanceof SyntaxError) return 'json';
        if (!(error instanceof WebhookVerificationError)) throw error;
        // The library's own words ("Message timestamp too old", …): they carry no secret.
        reason = error.message;
        // A timestamp outside the tolerance fails the same way under every secret.
        if (/timestamp/i.test(reason)) break;
      }
    }
    return { reason };
  }

  return {
    async receive(rawBody, headers) {
      const verified = verify(rawBody, headers);
      if (typeof verified === 'object') {
        log.info({ deliveryId: bounded(headers.id), reason: verified.reason }, 'webhook refused: not authentic');
        return { status: 'unauthenticated', reason: verified.reason };
      }
      const deliveryId = headers.id as string;
      let body: unknown;
      try {
        if (verified === 'json') throw new SyntaxError('not JSON');
        body = JSON.parse(rawBody);
      } catch {
        log.warn({ deliveryId }, 'webhook refused: authentic, but the body is not JSON');
        return { status: 'invalid-json' };
      }

      const reading = interpretWebhook(body, deliveryId, now());
      if (reading.kind === 'unknown-type') {
        hooks.onEvent?.('unknown');
        log.debug({ deliveryId, eventType: reading.type }, 'webhook of an event type this layer does not handle');
        return { status: 'ignored', deliveryId, reason: 'unknown event type' };
      }
      if (reading.kind === 'unusable') {
        hooks.onEvent?.('unusable');
        log.warn(
          { deliveryId, eventType: reading.type, reason: reading.reason },
          'webhook without a usable contact id',
        );
        return { status: 'ignored', deliveryId, reason: reading.reason };
      }
      const { event, unknownFields } = reading;
      if (unknownFields.length > 0) {
        hooks.onUnknownFields?.(event.type, unknownFields.length);
        log.debug({ deliveryId, eventType: event.type, unknownFields }, 'webhook fields this layer does not know');
      }
      try {
        const published = await bus.publishOnce(event);
        if (published === 'duplicate') {
          log.debug({ deliveryId, eventType: event.type }, 'webhook redelivered: acknowledged, not processed again');
          return { status: 'duplicate', deliveryId };
        }
        hooks.onEvent?.(event.type);
        // Routine, one per delivery (the sandbox's dialer sends several a call): debug, not info.
        log.debug({ deliveryId, eventType: event.type, contactId: event.contactId }, 'webhook event published');
        return { status: 'published', type: event.type, deliveryId };
      } catch (error) {
        if (!(error instanceof BusUnavailableError)) throw error;
        log.warn({ deliveryId, reason: error.reason }, 'webhook not accepted: the event bus is unavailable');
        return { status: 'unavailable', reason: error.reason };
      }
    },
  };
}

/** A header value bounded for a log line (it is the sender's, not ours). */
function bounded(value: string | null): string | undefined {
  if (value === null) return undefined;
  return value.length > 100 ? `${value.slice(0, 100)}…` : value;
}
