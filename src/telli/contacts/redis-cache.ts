import type { Redis } from 'ioredis';
import { hashKey } from '../transport/key-hash.js';
import type { TelliContact } from './schemas.js';

/**
 * The contact cache in Redis (`REDIS_URL` with `TELLI_CACHE_TTL_MS`): one cache for every
 * instance, per telli key (entries are under a hash of the key, never the key), dropped for every
 * instance by a write on any of them and by every webhook.
 *
 * **Why versions, not deletes.** A read that was in flight when a write landed may have read
 * telli before the write; deleting the entry after the write would not stop that read from
 * putting the old contact back a moment later, on whichever instance made it. So each contact id
 * has a version (`INCR` on every write and webhook, for all telli keys at once: a webhook names
 * the contact, not whose key read it), a read takes the versions of the ids it misses in the same
 * round trip as the lookup (before it asks telli), and stores what telli answered tagged with
 * them. An entry counts only while its tag is the contact's current version: whatever a read
 * stores after a change it started before is dead on arrival, on every instance. No lock, no
 * compare-and-set: the check is on the read side, in the lookup that happens anyway.
 *
 * A version key lives for the cache's TTL (+ VERSION_SLACK_MS) after its last change, and an
 * entry at most the TTL from when the telli call that read it went out, so an entry tagged with a
 * version older than a change it predates always expires before that change's version key does
 * (a vanished version reads as 0 again, and must not revive an old entry tagged 0).
 */
export interface RedisContactCache {
  /**
   * The cached contacts among `ids` (lower-case), and the current version of each other id —
   * what `store` tags a contact read from telli now with. Redis unreachable: nothing cached and no
   * versions (then nothing is stored either).
   */
  lookup(apiKey: string, ids: readonly string[]): Promise<CacheLookup>;
  /** Stores contacts read by a telli call that went out at `sentAt` (epoch ms), each with the version its reader saw. */
  store(apiKey: string, entries: readonly CacheEntry[], sentAt: number): void;
  /** A change to these contacts (lower-case ids), for every telli key: their entries no longer count. */
  invalidate(ids: readonly string[]): Promise<void>;
}

export interface CacheLookup {
  hits: Map<string, TelliContact>;
  versions: Map<string, string> | undefined;
}

export interface CacheEntry {
  id: string;
  contact: TelliContact;
  version: string;
}

/** How long a version outlives the entries it may have to disown (clock skew between instances). */
const VERSION_SLACK_MS = 5_000;

export interface RedisContactCacheOptions {
  client: Redis;
  /** REDIS_PREFIX. */
  prefix: string;
  ttlMs: number;
  /** Told when Redis failed a cache command (the read or write went on without it). */
  onError?: (operation: 'lookup' | 'store' | 'invalidate', error: unknown) => void;
  now?: () => number;
}

export function createRedisContactCache(options: RedisContactCacheOptions): RedisContactCache {
  const { client, ttlMs } = options;
  const now = options.now ?? Date.now;
  // `v1`: the entry's format (the version tag, a newline, the JSON of a `TelliContact`); a
  // deployment that changes it changes this, so that old and new instances never read each other's.
  const entryKey = (keyHash: string, id: string) => `${options.prefix}contact:v1:${keyHash}:${id}`;
  const versionKey = (id: string) => `${options.prefix}contact-version:${id}`;
  const failed = (operation: 'lookup' | 'store' | 'invalidate') => (error: unknown) =>
    options.onError?.(operation, error);

  return {
    async lookup(apiKey, ids) {
      const keyHash = hashKey(apiKey);
      let values: (string | null)[];
      try {
        values = await client.mget([...ids.map((id) => entryKey(keyHash, id)), ...ids.map(versionKey)]);
      } catch (error) {
        failed('lookup')(error);
        return { hits: new Map(), versions: undefined };
      }
      const hits = new Map<string, TelliContact>();
      const versions = new Map<string, string>();
      ids.forEach((id, i) => {
        const version = values[ids.length + i] ?? '0';
        const contact = current(values[i] ?? null, version, id);
        if (contact) hits.set(id, contact);
        else versions.set(id, version);
      });
      return { hits, versions };
    },

    store(apiKey, entries, sentAt) {
      const ms = Math.floor(ttlMs - (now() - sentAt));
      if (entries.length === 0 || ms <= 0) return;
      const keyHash = hashKey(apiKey);
      const batch = client.pipeline();
      for (const { id, contact, version } of entries) {
        batch.set(entryKey(keyHash, id), `${version}\n${JSON.stringify(contact)}`, 'PX', ms);
      }
      batch.exec().catch(failed('store'));
    },

    async invalidate(ids) {
      if (ids.length === 0) return;
      const batch = client.multi();
      for (const id of ids) batch.incr(versionKey(id)).pexpire(versionKey(id), ttlMs + VERSION_SLACK_MS);
      await batch.exec().then(undefined, failed('invalidate'));
    },
  };
}

/** The contact an entry holds, when its tag is the contact's current version. */
function current(entry: string | null, version: string, id: string): TelliContact | undefined {
  if (entry === null) return undefined;
  const newline = entry.indexOf('\n');
  if (newline < 0 || entry.slice(0, newline) !== version) return undefined;
  try {
    const contact = JSON.parse(entry.slice(newline + 1)) as TelliContact;
    // Written by this code under this format's key, so only a foreign or broken entry fails this.
    return typeof contact === 'object' && contact !== null && contact.id?.toLowerCase() === id ? contact : undefined;
  } catch {
    return undefined;
  }
}
