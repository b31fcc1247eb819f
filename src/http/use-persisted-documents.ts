import { createHash } from 'node:crypto';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import { createGraphQLError } from 'graphql-yoga';
import { ErrorCode } from '../error-codes.js';
import type { ApqStore } from './apq-store.js';
import { sha256OfId, type PersistedDocuments } from './persisted-documents.js';
import { PERSISTED_QUERY_NOT_FOUND } from './use-apq.js';

/**
 * Persisted documents, see docs/persisted-documents.md. A request names a document of the
 * trusted-documents manifest — or, in `allow` mode, one registered by APQ (`./use-apq.ts`) — by
 * its sha256 instead of sending it, in either wire shape:
 *
 * - `documentId: "sha256:<hex>"` (or the bare hex) — the GraphQL-over-HTTP persisted-documents
 *   shape that GraphQL Code Generator's client preset and Hive use; in a GET, `?documentId=…`;
 * - `extensions: { persistedQuery: { version: 1, sha256Hash: "<hex>" } }` — Apollo's APQ shape
 *   (Apollo Client's persisted-queries link, Hive Gateway's and Apollo Router's subgraph APQ).
 *
 * Every refusal happens in Yoga's onParams, before anything is parsed: an unknown id is
 * PERSISTED_QUERY_NOT_FOUND (200 in `allow`, where the client's retry with the document registers
 * it, as Apollo Server answers; 404 in `only`, where nothing registers), a malformed one
 * PERSISTED_QUERY_INVALID_ID (400), and in `only` mode a document from anyone but an
 * authenticated gateway PERSISTED_QUERY_ONLY (400).
 * Documents found are handed to Yoga as text, so they go through the same parse cache, validation
 * and query limits as a document sent in full.
 */
export interface PersistedDocumentsOptions {
  mode: 'allow' | 'only';
  /** The trusted-documents manifest (empty in `allow` mode without one). */
  documents: PersistedDocuments;
  /** `allow`: the documents APQ registered, looked up after the manifest. */
  registered?: ApqStore;
  /**
   * `only` mode: whether this request may still send a document — a gateway sends documents its
   * query planner wrote, which no manifest can hold. The caller-auth verdict, not a second check.
   */
  maySendDocuments(request: Request): boolean;
  /** Request headers a response may depend on (credentials), for `Vary` on cacheable GETs. */
  varyOn: readonly string[];
}

/** Body parameters besides Yoga's four that a request may carry; `createYoga`'s `extraParamNames`. */
export const PERSISTED_DOCUMENT_PARAMS = ['documentId'];

const httpError = (status: number, code: ErrorCode, message: string) => ({
  message,
  extensions: { code, http: { status } },
});

/**
 * `only`: "PersistedQueryNotFound" is Apollo's exact text (APQ clients that predate the code match
 * on the message), but a 404: nothing will register the document, so this is not a step of APQ's
 * handshake but the answer. `allow` answers APQ's way (`PERSISTED_QUERY_NOT_FOUND` in use-apq.ts).
 */
const NOT_FOUND = httpError(404, ErrorCode.PERSISTED_QUERY_NOT_FOUND, 'PersistedQueryNotFound');
const ONLY = httpError(
  400,
  ErrorCode.PERSISTED_QUERY_ONLY,
  'This server runs persisted documents only: send the id of a document of its manifest (documentId, or extensions.persistedQuery.sha256Hash), not the document.',
);
const NO_QUERY = httpError(
  400,
  ErrorCode.BAD_REQUEST,
  'Send a query, or the id of a persisted document (documentId, or extensions.persistedQuery.sha256Hash).',
);

function invalidId(detail: string) {
  const { message, extensions } = httpError(
    400,
    ErrorCode.PERSISTED_QUERY_INVALID_ID,
    `Invalid persisted document id: ${detail}.`,
  );
  return createGraphQLError(message, { extensions });
}

/**
 * The lower-case hex sha256 a request names, or null when it names none. Throws
 * PERSISTED_QUERY_INVALID_ID for an id that is there but malformed, and for two that disagree:
 * guessing which one the caller meant could run another operation than the one it expects.
 */
function documentIdOf(params: GraphQLParams, request: Request): string | null {
  const named: string[] = [];
  // Yoga's GET parser keeps only query, variables, operationName and extensions.
  const documentId =
    (params as { documentId?: unknown }).documentId ??
    (request.method === 'GET' ? new URL(request.url).searchParams.get('documentId') : null);
  if (documentId !== null && documentId !== undefined) {
    const hash = typeof documentId === 'string' ? sha256OfId(documentId) : undefined;
    if (!hash) throw invalidId('documentId must be "sha256:" and 64 hex digits, or the 64 alone');
    named.push(hash);
  }
  const persistedQuery = params.extensions?.['persistedQuery'] as unknown;
  if (persistedQuery !== null && persistedQuery !== undefined) {
    const { version, sha256Hash } = persistedQuery as { version?: unknown; sha256Hash?: unknown };
    const hash = version === 1 && typeof sha256Hash === 'string' ? sha256OfId(sha256Hash) : undefined;
    if (!hash) throw invalidId('extensions.persistedQuery must be { version: 1, sha256Hash: "<64 hex digits>" }');
    named.push(hash);
  }
  if (named.length === 2 && named[0] !== named[1]) {
    throw invalidId('documentId and persistedQuery name different documents');
  }
  return named[0] ?? null;
}

export function usePersistedDocuments(options: PersistedDocumentsOptions): Plugin[] {
  const { documents, registered } = options;
  /** GET requests without a document (so with an id, valid or not): their answers get cache headers. */
  const namedByGet = new WeakSet<Request>();
  return [
    usePersistedOperations({
      // Called only for requests without a document.
      extractPersistedOperationId: (params, request) => {
        if (request.method === 'GET') namedByGet.add(request);
        return documentIdOf(params, request);
      },
      // The manifest first: its documents are the trusted ones, and need no store round trip.
      getPersistedOperation: (hash) => documents.get(hash) ?? registered?.get(hash) ?? null,
      allowArbitraryOperations: options.mode === 'allow' || ((request) => options.maySendDocuments(request)),
      customErrors: {
        notFound: options.mode === 'allow' ? PERSISTED_QUERY_NOT_FOUND : NOT_FOUND,
        persistedQueryOnly: ONLY,
        keyNotFound: NO_QUERY,
      },
    }),
    useCacheableGets(namedByGet, options.varyOn),
  ];
}

/**
 * A GET naming a persisted document is a short, stable URL: cacheable. But the answer is one
 * caller's contacts (in forwarded-key mode, one telli tenant's) and live call state, so no shared
 * cache may keep it and no cache may reuse it unasked: `private, no-cache`, with an ETag so that a
 * client polling the same operation gets a bodiless 304 while nothing changed. Refusals and
 * failures are `no-store`. The ETag covers the body only, so `Vary` names what else the body
 * depends on: the media type asked for and the credentials.
 */
function useCacheableGets(namedByGet: WeakSet<Request>, varyOn: readonly string[]): Plugin {
  const vary = ['accept', ...varyOn].join(', ');
  return {
    async onResponse({ request, response, setResponse, fetchAPI }) {
      if (!namedByGet.has(request)) return;
      // An answer that says how to cache it already (APQ's "not found, send the document") keeps it.
      if (response.headers.has('cache-control')) return;
      // Set on the response itself: a copied Headers object can end up with two content-types.
      response.headers.append('vary', vary);
      if (response.status !== 200) {
        response.headers.set('cache-control', 'no-store');
        return;
      }
      const body = await response.clone().text();
      const etag = `"${createHash('sha256').update(body).digest('base64url')}"`;
      response.headers.set('etag', etag);
      response.headers.set('cache-control', 'private, no-cache');
      if (matches(request.headers.get('if-none-match'), etag)) {
        // RFC 9110: a 304 carries the validator and caching headers a 200 would, and no body.
        setResponse(
          new fetchAPI.Response(null, { status: 304, headers: { etag, 'cache-control': 'private, no-cache', vary } }),
        );
      }
    },
  };
}

/** RFC 9110 If-None-Match: weak comparison, a list of tags, or `*`. */
function matches(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((tag) => {
    const candidate = tag.trim();
    return candidate === '*' || candidate.replace(/^W\//, '') === etag;
  });
}
