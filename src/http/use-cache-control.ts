import type { Plugin } from 'graphql-yoga';

/**
 * What every GraphQL answer says to caches: `private, no-store`. An answer is one caller's
 * contacts (in forwarded-key mode one telli tenant's) and live call state, and so are its errors
 * and refusals (they tell whether an id exists): no cache may keep it, shared or not.
 *
 * `private` alone is not enough: a router's response cache (Apollo Router's) stores `private`
 * answers per user once it is told how to tell users apart, and its notion of a user need not
 * separate telli keys; `no-store` it never stores. Without any header such a cache may apply a
 * default TTL it was configured with. Streams (SSE, multipart) say it too.
 *
 * The one exception is a GET naming a persisted document, which the trusted-documents plugin
 * answers with `private, no-cache` and an ETag, so that a client polling it revalidates to a
 * bodiless 304 (docs/persisted-documents.md): an answer carrying an ETag keeps its own header.
 *
 * A GET answer also says, in `Vary`, which request headers it depends on besides its URL: the
 * media type asked for and `varyOn` (the credentials, and `Origin` when CORS answers depend on it).
 */
export const NO_STORE = 'private, no-store';

export function useCacheControl(varyOn: readonly string[]): Plugin {
  const varyOnGet = ['accept', ...varyOn];
  return {
    onResponse({ request, response }) {
      if (!response.headers.has('etag')) response.headers.set('cache-control', NO_STORE);
      if (request.method === 'GET') addVary(response.headers, varyOnGet);
    },
  };
}

/** Adds header names to `Vary`, each once (case-insensitively), keeping what is there. */
export function addVary(headers: Headers, names: readonly string[]): void {
  const present = (headers.get('vary') ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  const missing = names.filter((name) => !present.includes(name.toLowerCase()));
  if (missing.length > 0) headers.set('vary', [...present, ...missing].join(', '));
}
