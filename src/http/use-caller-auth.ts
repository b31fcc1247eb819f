import type { Plugin } from 'graphql-yoga';
import { ErrorCode } from '../error-codes.js';
import { tokenCheck } from './headers.js';
import { errorResponse } from './responses.js';

/**
 * Caller authentication for deployments behind a company gateway: the gateway (Hive Gateway,
 * Apollo Router, an API gateway) adds a static secret header to every subgraph request. A GraphQL
 * request without a valid token gets 401 before Yoga parses anything. Several tokens may be valid
 * at once, so they can be rotated without downtime. Only the GraphQL route uses this plugin: the
 * probes are open and `/metrics` has its own token (see `edge.ts`).
 */
export interface CallerAuthOptions {
  tokens: readonly string[];
  /** Header carrying the token (lower-case). */
  header: string;
  /**
   * Filled with every request let through: plugins that grant authenticated callers more (the
   * persisted-documents gateway exemption) ask this instead of hashing the token a second time.
   */
  authenticated?: WeakSet<Request>;
}

export function useCallerAuth(options: CallerAuthOptions): Plugin {
  const isValid = tokenCheck(options.tokens);
  return {
    onRequest({ request, endResponse }) {
      if (isValid(request.headers.get(options.header))) {
        options.authenticated?.add(request);
        return;
      }
      endResponse(
        errorResponse(401, ErrorCode.UNAUTHENTICATED, `Missing or invalid ${options.header} header.`, {
          'www-authenticate': `Token header="${options.header}"`,
        }),
      );
    },
  };
}
