import { randomUUID } from 'node:crypto';
import { createLoaders, type LoaderHooks, type Loaders } from './loaders/index.js';
import type { Logger } from './logger.js';
import type { TelliClient } from './telli/index.js';

/** Whose telli key a request uses: this deployment's, or the one the caller forwarded. */
export type KeySource = 'server' | 'caller';

/** Everything a resolver may use. Built fresh for every GraphQL request by `createContextFactory`. */
export interface Context {
  /** From the caller's `x-request-id` when it is sane, generated otherwise; on every log line. */
  requestId: string;
  logger: Logger;
  loaders: Loaders;
  keySource: KeySource;
}

/**
 * `server`: one key (TELLI_API_KEY) for every request. `forward`: the caller's own telli key from
 * `Authorization: Bearer <key>`; a request without one gets no default — its telli reads fail
 * with UNAUTHENTICATED before any I/O.
 */
export type TelliAuth = { mode: 'server'; apiKey: string } | { mode: 'forward' };

export interface ContextDeps {
  telli: TelliClient;
  auth: TelliAuth;
  logger: Logger;
  /** Budget for the request's upstream work (queueing and retries included). */
  requestDeadlineMs?: number;
  loaderHooks?: LoaderHooks;
  /** Told the id chosen for each request (the app echoes it as a response header). */
  onRequestId?: (request: Request, requestId: string) => void;
}

/** Caller-supplied ids are echoed into logs and sent to telli: accept only a conservative shape. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(request: Request): string {
  const given = request.headers.get('x-request-id');
  return given && REQUEST_ID.test(given) ? given : randomUUID();
}

const BEARER = /^Bearer\s+([\x21-\x7e]{1,512})$/i;

/** The caller's telli key from `Authorization: Bearer <key>`, or undefined when absent or malformed. */
export function forwardedKeyOf(request: Request): string | undefined {
  return BEARER.exec(request.headers.get('authorization')?.trim() ?? '')?.[1];
}

export const DEFAULT_REQUEST_DEADLINE_MS = 15_000;

export function createContextFactory(deps: ContextDeps) {
  const deadlineMs = deps.requestDeadlineMs ?? DEFAULT_REQUEST_DEADLINE_MS;
  return ({ request }: { request: Request }): Context => {
    const requestId = requestIdOf(request);
    deps.onRequestId?.(request, requestId);
    const apiKey = deps.auth.mode === 'server' ? deps.auth.apiKey : forwardedKeyOf(request);
    // One budget for everything this request asks of telli; a client that goes away aborts it too.
    const signal = AbortSignal.any([request.signal, AbortSignal.timeout(deadlineMs)]);
    return {
      requestId,
      logger: deps.logger.child({ requestId }),
      keySource: deps.auth.mode === 'server' ? 'server' : 'caller',
      loaders: createLoaders(
        deps.telli,
        { apiKey, requestId, signal, deadline: Date.now() + deadlineMs },
        deps.loaderHooks,
      ),
    };
  };
}
