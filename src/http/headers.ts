import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';

/** Caller-supplied ids are echoed into logs and sent to telli: accept only a conservative shape. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's `x-request-id` (the header's value) when it is sane, a fresh UUID otherwise. */
export function requestIdFrom(given: string | string[] | null | undefined): string {
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

const BEARER = /^Bearer\s+([\x21-\x7e]{1,512})$/i;

/** A caller's bearer token, or why there is none: no header, or one that is not `Bearer <1–512 printable ASCII>`. */
export function bearerCredentialOf(request: Request): { token: string } | { missing: 'absent' | 'malformed' } {
  const header = request.headers.get('authorization');
  if (header === null || header.trim() === '') return { missing: 'absent' };
  const token = BEARER.exec(header.trim())?.[1];
  return token === undefined ? { missing: 'malformed' } : { token };
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Whether a presented secret is one of `tokens`. Compares fixed-length digests with
 * timingSafeEqual: no early exit on the first differing byte, and no length leak. Every configured
 * token is compared, always.
 */
export function tokenCheck(tokens: readonly string[]): (given: string | null | undefined) => boolean {
  const expected = tokens.map(digest);
  return (given) => {
    if (!given) return false;
    const candidate = digest(given);
    let ok = false;
    for (const token of expected) ok = timingSafeEqual(candidate, token) || ok;
    return ok;
  };
}
