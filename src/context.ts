import { randomUUID } from 'node:crypto';
import { createLoaders, type LoaderHooks, type Loaders } from './loaders/index.js';
import type { Logger } from './logger.js';
import { Cancellation, type CallOptions, type CancelSignal, type TelliClient } from './telli/index.js';

/** Whose telli key a request uses: this deployment's, or the one the caller forwarded. */
export type KeySource = 'server' | 'caller';

/** Everything a resolver may use. Built fresh for every GraphQL request by `createContextFactory`. */
export interface Context {
  /** From the caller's `x-request-id` when it is sane, generated otherwise; on every log line. */
  requestId: string;
  logger: Logger;
  loaders: Loaders;
  keySource: KeySource;
  /** Ends the request's telli budget (clears its deadline timer); the app calls it once execution is done. */
  release(): void;
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

/** The token of `Authorization: Bearer <token>`, or undefined when absent or malformed. */
export function bearerTokenOf(request: Request): string | undefined {
  return BEARER.exec(request.headers.get('authorization')?.trim() ?? '')?.[1];
}

export const DEFAULT_REQUEST_DEADLINE_MS = 15_000;

export function createContextFactory(deps: ContextDeps) {
  const deadlineMs = deps.requestDeadlineMs ?? DEFAULT_REQUEST_DEADLINE_MS;
  return ({ request }: { request: Request }): Context => {
    const requestId = requestIdOf(request);
    deps.onRequestId?.(request, requestId);
    const apiKey = deps.auth.mode === 'server' ? deps.auth.apiKey : bearerTokenOf(request);
    const deadline = Date.now() + deadlineMs;
    // One budget for everything this request asks of telli; a client that goes away aborts it too.
    // Built on first use only: most of its cost (a timer, a listener on the client's signal) is
    // wasted on operations that never call telli, and `release` frees it the moment execution
    // ends instead of leaving a timer alive for the whole deadline.
    let budget: RequestBudget | undefined;
    const call: CallOptions = {
      apiKey,
      requestId,
      deadline,
      get signal() {
        budget ??= createRequestBudget(request.signal, deadline);
        return budget.signal;
      },
    };
    return {
      requestId,
      logger: deps.logger.child({ requestId }),
      keySource: deps.auth.mode === 'server' ? 'server' : 'caller',
      loaders: createLoaders(deps.telli, call, deps.loaderHooks),
      release: () => budget?.release(),
    };
  };
}

interface RequestBudget {
  signal: CancelSignal;
  release(): void;
}

/**
 * A signal that fires when the client goes away or at `deadline`, whichever comes first. Cheaper
 * than `AbortSignal.any([request.signal, AbortSignal.timeout(ms)])`: that timer cannot be
 * cleared, so each request's signals stayed reachable (and fired, building a DOMException) long
 * after the response was sent; and a `Cancellation` is a plain object, not an EventTarget.
 */
function createRequestBudget(clientSignal: AbortSignal, deadline: number): RequestBudget {
  const controller = new Cancellation();
  const onClientGone = () => controller.abort(clientSignal.reason);
  const timer = setTimeout(
    () => controller.abort(new DOMException('request deadline passed', 'TimeoutError')),
    Math.max(0, deadline - Date.now()),
  );
  timer.unref();
  if (clientSignal.aborted) onClientGone();
  else clientSignal.addEventListener('abort', onClientGone, { once: true });
  return {
    signal: controller,
    release() {
      clearTimeout(timer);
      clientSignal.removeEventListener('abort', onClientGone);
    },
  };
}
