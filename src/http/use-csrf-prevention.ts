import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import type { Plugin } from 'graphql-yoga';

/** The header a "simple" POST must carry; a cross-site page cannot add it without a CORS preflight. */
export const CSRF_HEADER = 'x-graphql-yoga-csrf';

/**
 * CSRF prevention for the POSTs a cross-site page can make a browser send without a CORS
 * preflight: a body of `text/plain`, `application/x-www-form-urlencoded` or `multipart/form-data`
 * (Yoga's plugin decides which, and refuses them without `CSRF_HEADER`). Only a POST can run a
 * mutation: Yoga refuses a mutation over GET (405) before anything executes.
 *
 * A GET is let through without the header. It runs a query or a subscription, which change
 * nothing, and it cannot carry the caller's credentials: caller auth is a header
 * (`CALLER_TOKEN_HEADER`, `Authorization`), which a cross-site page cannot add to a simple
 * request, and no cookie plays any part. So a cross-site GET runs exactly what any anonymous
 * caller could run directly. Asking GETs for a header broke every client that queries with GET
 * by default: urql, gateways opening subgraph SSE streams, a browser's `EventSource`.
 */
export function useCsrfPrevention(): Plugin {
  const simplePosts = useCSRFPrevention({ requestHeaders: [CSRF_HEADER] });
  return {
    onRequestParse(payload) {
      if (payload.request.method === 'GET') return;
      return simplePosts.onRequestParse?.(payload);
    },
  };
}
