const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The key a call or agent id is deduplicated, shared and compared by. telli's ids are UUIDs
 * (case-insensitive) in everything seen so far, but neither endpoint documents a format, so any
 * other id is kept exactly as given: two ids that differ only in case may be two records.
 */
export function recordIdKey(id: string): string {
  return UUID.test(id) ? id.toLowerCase() : id;
}
