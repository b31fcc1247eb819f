/**
 * Once in effect: Svix delivers at least once, and redelivers a message (same `svix-id`) when an
 * attempt failed or timed out — immediately, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and
 * 10 h, about 28 hours in all (telli-api.md §9). A delivery id seen within the window is
 * acknowledged and not processed again.
 *
 * In memory (one instance) or in Redis (every instance shares one record). In Redis the claim and
 * the publish are one Lua script, so they happen together or not at all: with a separate
 * `SET NX` and `PUBLISH`, a process that died (or a connection that dropped) between the two
 * would leave a claim with no event, and every redelivery would then be acknowledged as a
 * duplicate of an event nobody ever received.
 */

/** Delivery ids remembered in memory at most; the oldest go first (bounded memory on one instance). */
export const DEFAULT_DEDUPE_MAX_ENTRIES = 100_000;

/** In-memory record of delivery ids seen, each for `ttlMs`, at most `maxEntries` at once. */
export class MemoryDedupe {
  /** Delivery id → expiry (epoch ms). A `Map` keeps insertion order, so its first key expires first. */
  readonly #seen = new Map<string, number>();

  constructor(
    readonly ttlMs: number,
    readonly maxEntries: number,
    readonly now: () => number = Date.now,
  ) {}

  /** True when `id` is new (and now remembered); false when it was seen within the window. */
  claim(id: string): boolean {
    const at = this.now();
    this.#expire(at);
    const expiry = this.#seen.get(id);
    if (expiry !== undefined && expiry > at) return false;
    this.#seen.delete(id);
    this.#seen.set(id, at + this.ttlMs);
    // Over the bound the oldest id is forgotten: a very late redelivery of it would be processed
    // again — a duplicate hint (one more re-read), never a lost event.
    if (this.#seen.size > this.maxEntries) {
      const oldest = this.#seen.keys().next();
      if (!oldest.done) this.#seen.delete(oldest.value);
    }
    return true;
  }

  /** Drops expired ids from the front; each claim removes at most what expired since the last. */
  #expire(at: number): void {
    for (const [id, expiry] of this.#seen) {
      if (expiry > at) return;
      this.#seen.delete(id);
    }
  }
}

/** The Redis key remembering one delivery id. */
export function dedupeKey(prefix: string, deliveryId: string): string {
  return `${prefix}webhook:${deliveryId}`;
}

/**
 * KEYS[1]: the delivery's dedupe key; ARGV[1]: its TTL in seconds; ARGV[2]: the channel;
 * ARGV[3]: the message. Returns 1 when claimed and published, 0 when the id was already seen, and
 * -1 when no instance was subscribed to receive it: the claim is taken back, so that the
 * redelivery this refusal asks for is processed instead of acknowledged as a duplicate of an event
 * nobody received.
 */
export const CLAIM_AND_PUBLISH_SCRIPT = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  if redis.call('PUBLISH', ARGV[2], ARGV[3]) == 0 then
    redis.call('DEL', KEYS[1])
    return -1
  end
  return 1
end
return 0
`;
