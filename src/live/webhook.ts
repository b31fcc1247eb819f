import type { Logger } from '../logger.js';
import { BusUnavailableError, type LiveBus } from './bus.js';
import { interpretWebhook, type LiveEventType } from './events.js';
import {
  checkSvixHeaders,
  createSignatureCheck,
  signingKey,
  type SignatureCheck,
  type SvixHeaders,
} from './webhook-signature.js';

export type { SvixHeaders } from './webhook-signature.js';

/**
 * Receiving one telli webhook, whatever carried it, in two steps: `begin` checks the Svix headers
 * before any of the body is read (see `webhook-signature.ts`), and the delivery it returns is fed
 * the body's bytes as they arrive; `end` then verifies the signature over exactly those bytes,
 * parses the JSON, reads the event and puts it on the bus once per delivery id. The HTTP route
 * (`src/http/webhook.ts`) maps each outcome to a status.
 *
 * Several secrets may be configured and any of them may have signed a delivery, so a secret can
 * be rotated without losing deliveries. The body is decoded only once it is known to be
 * authentic: as UTF-8, a leading byte order mark dropped and an invalid byte replaced (U+FFFD) —
 * the ids and words the layer uses are ASCII, and a stray byte in a transcript must not lose the
 * event.
 */
export type ReceiveOutcome =
  /** A new event, now on the bus. */
  | { status: 'published'; type: LiveEventType; deliveryId: string }
  /** A delivery id already seen within the dedupe window: acknowledged, not processed again. */
  | { status: 'duplicate'; deliveryId: string }
  /** Authentic, but nothing to do (an unknown event type, or no usable contact id): acknowledged. */
  | { status: 'ignored'; deliveryId: string; reason: string }
  /** Missing or malformed svix headers, no valid signature, or a stale/future timestamp: nothing happened. */
  | { status: 'unauthenticated'; reason: string }
  /** Authentic, but the body is not JSON. */
  | { status: 'invalid-json' }
  /** Authentic, but what it says cannot travel on the bus: refused, so that it is not acknowledged and lost. */
  | { status: 'undeliverable'; reason: string }
  /** The bus (Redis) cannot take events now: not acknowledged, so that Svix redelivers. */
  | { status: 'unavailable'; reason: string };

/** One delivery whose headers passed: feed it the body, then end it. */
export interface PendingDelivery {
  /** The next bytes of the body, exactly as received. */
  write(chunk: Uint8Array): void;
  /** The body is complete: verify, read, publish. */
  end(): Promise<ReceiveOutcome>;
}

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
  /** Checks the svix headers, before any of the body is read: a delivery to feed, or why not. */
  begin(headers: SvixHeaders): PendingDelivery | { status: 'unauthenticated'; reason: string };
}

export function createWebhookReceiver(options: WebhookReceiverOptions): WebhookReceiver {
  if (options.secrets.length === 0) throw new Error('a webhook receiver needs at least one secret');
  const keys = options.secrets.map(signingKey);
  const { bus, hooks = {} } = options;
  const now = options.now ?? (() => new Date());
  const log = options.logger.child({ component: 'webhook' });

  // Anyone can send to the route: a line per refusal would let a flood fill the log. One line
  // per REFUSAL_LOG_INTERVAL_MS, with how many were refused since (metrics count every one).
  let lastRefusalLog = Number.NEGATIVE_INFINITY;
  let unlogged = 0;
  const refuse = (id: string | null, reason: string) => {
    const at = now().getTime();
    if (at - lastRefusalLog < REFUSAL_LOG_INTERVAL_MS) {
      unlogged++;
    } else {
      log.info(
        { deliveryId: bounded(id), reason, ...(unlogged > 0 && { alsoRefusedSinceLastLine: unlogged }) },
        'webhook refused: not authentic',
      );
      lastRefusalLog = at;
      unlogged = 0;
    }
    return { status: 'unauthenticated', reason } as const;
  };

  async function publish(deliveryId: string, bytes: Buffer): Promise<ReceiveOutcome> {
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(bytes));
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
      log.warn({ deliveryId, eventType: reading.type, reason: reading.reason }, 'webhook without a usable contact id');
      return { status: 'ignored', deliveryId, reason: reading.reason };
    }
    if (reading.kind === 'undeliverable') {
      log.error(
        { deliveryId, eventType: reading.type, reason: reading.reason },
        'webhook refused: authentic, but the event cannot travel on the bus',
      );
      return { status: 'undeliverable', reason: reading.reason };
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
  }

  return {
    begin(headers) {
      const delivery = checkSvixHeaders(headers, Math.floor(now().getTime() / 1000));
      if ('reason' in delivery) return refuse(headers.id, delivery.reason);
      const check: SignatureCheck = createSignatureCheck(keys, delivery);
      let chunks: Uint8Array[] = [];
      let size = 0;
      return {
        write(chunk) {
          check.update(chunk);
          chunks.push(chunk);
          size += chunk.byteLength;
        },
        async end() {
          // Checked before the body is joined: a forged body costs its MAC, and no copy.
          const authentic = check.matches();
          const body = authentic ? Buffer.concat(chunks, size) : undefined;
          chunks = [];
          if (!body) return refuse(delivery.id, 'no matching signature');
          return publish(delivery.id, body);
        },
      };
    },
  };
}

/** At most one log line per this many ms about refused (unauthenticated) deliveries. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

/** A header value bounded for a log line (it is the sender's, not ours). */
function bounded(value: string | null): string | undefined {
  if (value === null) return undefined;
  return value.length > 100 ? `${value.slice(0, 100)}…` : value;
}
