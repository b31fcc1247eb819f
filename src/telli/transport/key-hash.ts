import { createHash } from 'node:crypto';

/** A telli key as Redis sees it (budget, pauses, cache): a hash, so that Redis never holds a key. */
export function hashKey(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('base64url');
}
