import { createHash } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import { createGraphQLError } from 'graphql-yoga';
import { ErrorCode } from '../error-codes.js';
import type { ApqStore } from './apq-store.js';
import { sha256OfId } from './persisted-documents.js';

/*
 * Automatic Persisted Queries as Apollo defines them (Apollo Server's request pipeline; Apollo
 * Client's PersistedQueryLink, Hive Gateway's subgraph APQ). A client first sends
 * `extensions.persistedQuery: { version: 1, sha256Hash }` alone; an unknown hash is answered
 * `PersistedQueryNotFound`, the client sends the document with the hash, and the server registers
 * it; from then on the hash alone runs it. Looking hashes up is the persisted-documents plugin's
 * job (the trusted-documents manifest first, then this store); these plugins answer the two other
 * cases the protocol has.
 */

/**
 * Both APQ answers are 200, as Apollo Server sends them, so that no client error handling hides
 * the message the APQ link reads. Like every GraphQL answer they say `cache-control: private,
 * no-store` (use-cache-control.ts), so the request retried after registering is answered afresh.
 */
const APQ_ANSWER_HTTP = { status: 200 };

/** Apollo's exact message and code: clients match either to decide to retry with the document. */
export const PERSISTED_QUERY_NOT_FOUND = {
  message: 'PersistedQueryNotFound',
  extensions: { code: ErrorCode.PERSISTED_QUERY_NOT_FOUND, http: APQ_ANSWER_HTTP },
};

const persistedQueryOf = (extensions: Record<string, unknown> | undefined): unknown =>
  extensions?.['persistedQuery'] ?? undefined;

/**
 * `PERSISTED_OPERATIONS=off`: a hash without a document is answered `PersistedQueryNotSupported`,
 * as Apollo Server without APQ answers it, so that Apollo's link stops hashing for the client's
 * lifetime and sends documents. A document beside a hash runs: the hash adds nothing to it.
 */
export function useApqNotSupported(): Plugin {
  return {
    onParams({ params }) {
      if (params.query || persistedQueryOf(params.extensions) === undefined) return;
      throw createGraphQLError('PersistedQueryNotSupported', {
        extensions: { code: ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED, http: APQ_ANSWER_HTTP },
      });
    },
  };
}

/**
 * `PERSISTED_OPERATIONS=allow`: a document sent with `extensions.persistedQuery` is registered in
 * `store` under its hash — after the hash is checked to be the document's sha256 (otherwise anyone
 * could make a known hash run another document: 400, as Apollo answers), and only once the
 * document has parsed and validated, so that the store holds only runnable operations.
 *
 * Must come before the persisted-documents plugin: that one turns a hash alone into a document, and
 * this one would then register a document that is already known.
 */
export function useApqRegistration(store: ApqStore): Plugin {
  /** Requests whose document is to be registered once it has validated. */
  const pending = new WeakMap<Request, { hash: string; document: string }>();
  const register = (request: Request | undefined) => {
    const entry = request && pending.get(request);
    if (!entry) return;
    pending.delete(request);
    // The store never fails; the answer does not wait for it.
    void store.set(entry.hash, entry.document);
  };
  return {
    onParams({ params, request }) {
      const persistedQuery = persistedQueryOf(params.extensions);
      if (!params.query || persistedQuery === undefined) return;
      const { version, sha256Hash } = (persistedQuery ?? {}) as { version?: unknown; sha256Hash?: unknown };
      const hash = version === 1 && typeof sha256Hash === 'string' ? sha256OfId(sha256Hash) : undefined;
      if (!hash) {
        throw createGraphQLError(
          'Invalid persisted document id: extensions.persistedQuery must be { version: 1, sha256Hash: "<64 hex digits>" }.',
          { extensions: { code: ErrorCode.PERSISTED_QUERY_INVALID_ID, http: { status: 400 } } },
        );
      }
      if (createHash('sha256').update(params.query).digest('hex') !== hash) {
        // Apollo Server's message.
        throw createGraphQLError('provided sha does not match query', {
          extensions: { code: ErrorCode.PERSISTED_QUERY_MISMATCH, http: { status: 400 } },
        });
      }
      pending.set(request, { hash, document: params.query });
    },
    // Execution (or a subscription's start) is reached only by a document that parsed and validated.
    onExecute({ args }) {
      register((args.contextValue as { request?: Request }).request);
    },
    onSubscribe({ args }) {
      register((args.contextValue as { request?: Request }).request);
    },
  };
}
