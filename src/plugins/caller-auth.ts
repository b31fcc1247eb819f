import { createHash, timingSafeEqual } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';

/**
 * Caller authentication for deployments behind a company gateway: the gateway (Hive Gateway,
 * Apollo Router, an API gateway) adds a static secret header to every subgraph request. A request
 * to a protected path without a valid token gets 401 before Yoga parses anything. Several tokens
 * may be valid at once, so they can be rotated without downtime.
 */
export interface CallerAuthOptions {
  tokens: readonly string[];
  /** Header carrying the token (lower-case). */
  header: string;
  /** Paths that stay open (probes). */
  openPaths: readonly string[];
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

export function useCallerAuth(options: CallerAuthOptions): Plugin {
  const open = new Set(options.openPaths);
  const isValid = tokenCheck(options.tokens);
  return {
    onRequest({ url, request, endResponse }) {
      if (open.has(url.pathname)) return;
      if (isValid(request.headers.get(options.header))) return;
      endResponse(
        Response.json(
          {
            errors: [
              { message: `Missing or invalid ${options.header} header.`, extensions: { code: 'UNAUTHENTICATED' } },
            ],
          },
          { status: 401, headers: { 'www-authenticate': `Token header="${options.header}"` } },
        ),
      );
    },
  };
}
