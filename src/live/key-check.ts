import { createHash } from 'node:crypto';

/**
 * Forwarded-key mode: whether telli accepts a caller's key, asked before that caller's
 * subscription opens. A query with a made-up key fails at its own telli call; a subscription with
 * one would hold a slot for as long as its client likes, and cost a telli call with the bad key
 * on every event (telli may rate-limit the whole deployment for those). So the stream opens only
 * for a key telli accepts.
 *
 * Verdicts are remembered per key — by its SHA-256, never the key itself — for a bounded time and
 * number of keys: an accepted key for `validMs`, a rejected one for `rejectedMs` (so a client
 * that retries a made-up key is refused without a telli call), at most `maxEntries` keys (the
 * oldest go first). Concurrent checks of one key share one telli call. When telli cannot answer,
 * nothing is remembered: the subscription is refused now and checked again next time.
 */
export type KeyVerdict = 'valid' | 'rejected' | { unavailable: string };

export interface KeyCheckOptions {
  /** Asks telli (`GET /v1/verify-api-key` with the key). */
  verify(apiKey: string): Promise<KeyVerdict>;
  validMs: number;
  rejectedMs: number;
  maxEntries: number;
  now?: () => number;
}

export type KeyCheck = (apiKey: string) => Promise<KeyVerdict>;

export const DEFAULT_KEY_CHECK = Object.freeze({ validMs: 5 * 60_000, rejectedMs: 60_000, maxEntries: 10_000 });

export function createKeyCheck(options: KeyCheckOptions): KeyCheck {
  const now = options.now ?? Date.now;
  /** Key digest → verdict and its expiry; a `Map` keeps insertion order, so the first key is the oldest. */
  const verdicts = new Map<string, { verdict: 'valid' | 'rejected'; until: number }>();
  const inFlight = new Map<string, Promise<KeyVerdict>>();

  return async (apiKey) => {
    const digest = createHash('sha256').update(apiKey).digest('base64url');
    const known = verdicts.get(digest);
    if (known && known.until > now()) return known.verdict;
    let checking = inFlight.get(digest);
    if (!checking) {
      checking = options
        .verify(apiKey)
        .catch((error: unknown): KeyVerdict => ({
          unavailable: error instanceof Error ? error.message : String(error),
        }))
        .then((verdict) => {
          inFlight.delete(digest);
          if (typeof verdict === 'string') {
            verdicts.delete(digest);
            verdicts.set(digest, {
              verdict,
              until: now() + (verdict === 'valid' ? options.validMs : options.rejectedMs),
            });
            if (verdicts.size > options.maxEntries) {
              const oldest = verdicts.keys().next();
              if (!oldest.done) verdicts.delete(oldest.value);
            }
          }
          return verdict;
        });
      inFlight.set(digest, checking);
    }
    return checking;
  };
}
