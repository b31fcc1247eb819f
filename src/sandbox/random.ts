const HEX_DIGITS = '0123456789abcdef';

/** Small, fast, seedable PRNG (mulberry32): the sandbox's data must be the same on every run. */
export function createRandom(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number) => Math.floor(next() * max);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const hex = (n: number) => {
    let out = '';
    for (let i = 0; i < n; i++) out += HEX_DIGITS[int(16)];
    return out;
  };
  /** A UUID v4 (version and variant nibbles set), like the ids telli hands out. */
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
  return { next, int, pick, hex, uuid };
}

export type Random = ReturnType<typeof createRandom>;

/** A 32-bit seed from a string (FNV-1a), so data derived from an id is the same on every run. */
export function seedFrom(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
