import { createHmac, timingSafeEqual } from 'node:crypto';
import { WEBHOOK_TOLERANCE_SECONDS } from '../config.js';
import { deliveryIdSchema } from './events.js';

/**
 * Svix's signature scheme (the Standard Webhooks spec), with node:crypto's native HMAC:
 * `svix-signature` holds space-separated `v1,<base64 HMAC-SHA256(key, "<svix-id>.<svix-timestamp>.<body>")>`
 * entries, the key being the base64 after `whsec_` of the endpoint's secret; the timestamp must be
 * within 5 minutes of now, either way. svix's own `Webhook.verify` implements the same in pure
 * JavaScript (`fast-sha256`) over a decoded string, once per secret: 20–50 ms of the event loop
 * for a 1 MiB body, which anyone can send. Here the headers are checked before any of the body is
 * read, the MAC is computed over the exact bytes received, chunk by chunk as they arrive (a few
 * microseconds per 64 KiB chunk), and compared in constant time. `test/live-hostile.e2e.test.ts`
 * proves the result equal to svix's `Webhook.sign`.
 */
export interface SvixHeaders {
  id: string | null;
  timestamp: string | null;
  signature: string | null;
}

/** Svix headers that passed every check that needs no body: a delivery to verify. */
export interface SignedDelivery {
  /** `svix-id`: the same for every attempt of one message. */
  id: string;
  /** `svix-timestamp`, in Unix seconds. */
  timestamp: number;
  /** Every well-formed `v1` signature of the header (32 bytes each). */
  signatures: Buffer[];
}

/** A `v1` entry: 32 bytes in padded base64. Entries of other versions (`v1a,…`) are skipped, as svix does. */
const V1_SIGNATURE = /^v1,([A-Za-z0-9+/]{43}=)$/;
const UNIX_SECONDS = /^\d{1,12}$/;
/** More entries than this are not a Svix header (one per active secret, a few during a rotation). */
const MAX_SIGNATURE_ENTRIES = 16;

/**
 * Checks the svix headers at `nowSeconds`, before any of the body is read: present, well-formed,
 * the id one the event bus can carry, the timestamp within the tolerance, at least one well-formed
 * `v1` signature. Returns the delivery to verify, or why not (words safe to log).
 */
export function checkSvixHeaders(headers: SvixHeaders, nowSeconds: number): SignedDelivery | { reason: string } {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return { reason: 'missing svix headers' };
  // The same rule the bus applies to every event's delivery id: what is taken can be delivered.
  if (!deliveryIdSchema.safeParse(id).success) return { reason: 'malformed svix-id' };
  if (!UNIX_SECONDS.test(timestamp)) return { reason: 'malformed svix-timestamp' };
  const seconds = Number(timestamp);
  if (nowSeconds - seconds > WEBHOOK_TOLERANCE_SECONDS) return { reason: 'timestamp too old' };
  if (seconds - nowSeconds > WEBHOOK_TOLERANCE_SECONDS) return { reason: 'timestamp too new' };
  const entries = signature.split(' ');
  if (entries.length > MAX_SIGNATURE_ENTRIES) return { reason: 'malformed svix-signature' };
  const signatures: Buffer[] = [];
  for (const entry of entries) {
    const match = V1_SIGNATURE.exec(entry);
    if (match) signatures.push(Buffer.from(match[1] as string, 'base64'));
  }
  if (signatures.length === 0) return { reason: 'no v1 signature in svix-signature' };
  return { id, timestamp: seconds, signatures };
}

/** The HMAC key of a `whsec_` secret; throws (naming no part of it) when it is not base64. */
export function signingKey(secret: string): Buffer {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0 || key.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '')) {
    throw new Error('a webhook signing secret is not base64 after whsec_');
  }
  return key;
}

/** A signature check fed with the body as it arrives. */
export interface SignatureCheck {
  /** The next bytes of the body, exactly as received. */
  update(chunk: Uint8Array): void;
  /** After the last chunk: whether any key signed it. Every key and signature is compared, always. */
  matches(): boolean;
}

export function createSignatureCheck(keys: readonly Buffer[], delivery: SignedDelivery): SignatureCheck {
  // The id and timestamp as svix's own signer writes them: UTF-8, the timestamp as an integer.
  const prefix = Buffer.from(`${delivery.id}.${delivery.timestamp}.`, 'utf8');
  const macs = keys.map((key) => createHmac('sha256', key).update(prefix));
  return {
    update(chunk) {
      for (const mac of macs) mac.update(chunk);
    },
    matches() {
      let matched = false;
      for (const mac of macs) {
        const expected = mac.digest();
        for (const given of delivery.signatures) matched = timingSafeEqual(expected, given) || matched;
      }
      return matched;
    },
  };
}
