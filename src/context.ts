import { createLoaders, forgetContact, type LoaderHooks, type Loaders } from './loaders/index.js';
import type { Logger } from './logger.js';
import {
  Cancellation,
  type CallOptions,
  type CancelSignal,
  type SharedReadsClient,
  type Writes,
} from './telli/index.js';

/** Whose telli key a request uses: this deployment's, or the one the caller forwarded. */
export type KeySource = 'server' | 'caller';

/** What the request edge established about a request before GraphQL runs (see `src/http/edge.ts`). */
export interface RequestFacts {
  request: Request;
  /** On every log line of the request, echoed to the caller, sent to telli. */
  requestId: string;
  /** Epoch ms by which everything the request asks of telli must be done. */
  deadline: number;
  /** Where the operation reserves its cost (admission control); absent outside the edge's GraphQL route. */
  admission?: { reserve(cost: number): boolean };
}

/** Everything a resolver may use. Built fresh for every GraphQL request by `createContextFactory`. */
export interface Context {
  requestId: string;
  logger: Logger;
  loaders: Loaders;
  keySource: KeySource;
  /** telli's writes with this request's key, request id and deadline. Reads go through `loaders`. */
  writes: RequestWrites;
  /**
   * After a successful write to the contact: drops it from this request's loaders and from what
   * the process shares for this request's key, so whatever reads it next asks telli.
   */
  forgetContact(contactId: string, externalIds?: readonly string[]): void;
  /** Ends the request's telli budget (clears its deadline timer); the edge calls it once execution is done. */
  release(): void;
}

/** A telli write with the request's `CallOptions` already applied. */
type Bound<F> = F extends (...args: [...infer A, CallOptions]) => infer R ? (...args: A) => R : never;
export type RequestWrites = { [K in keyof Writes]: Bound<Writes[K]> };

function bindWrites(writes: Writes, call: CallOptions): RequestWrites {
  return {
    createContact: (contact) => writes.createContact(contact, call),
    updateContact: (id, patch) => writes.updateContact(id, patch, call),
    deleteContact: (id) => writes.deleteContact(id, call),
    addContacts: (contacts) => writes.addContacts(contacts, call),
    scheduleCall: (request) => writes.scheduleCall(request, call),
    scheduleCalls: (requests) => writes.scheduleCalls(requests, call),
    removeFromDialer: (contactIds) => writes.removeFromDialer(contactIds, call),
  };
}

/** What Yoga's hooks see: Yoga's own context, the edge's facts and ours. */
export type GraphQLContext = RequestFacts & Context;

/**
 * `server`: one key (TELLI_API_KEY) for every request. `forward`: the caller's own telli key from
 * `Authorization: Bearer <key>`; a request without one gets no default — its telli reads fail
 * with UNAUTHENTICATED before any I/O.
 */
export type TelliAuth = { mode: 'server'; apiKey: string } | { mode: 'forward' };

export interface ContextDeps {
  /** The shared-reads client (its `forget` keeps reads after a write fresh). */
  telli: SharedReadsClient;
  auth: TelliAuth;
  logger: Logger;
  loaderHooks?: LoaderHooks;
  /** The telli key a caller forwarded (`Authorization: Bearer`), or why there is none; for `forward` mode. */
  forwardedKeyOf: (request: Request) => { token: string } | { missing: 'absent' | 'malformed' };
}

export function createContextFactory(deps: ContextDeps) {
  return ({ request, requestId, deadline }: RequestFacts): Context => {
    const forwarded = deps.auth.mode === 'forward' ? deps.forwardedKeyOf(request) : undefined;
    const apiKey =
      deps.auth.mode === 'server' ? deps.auth.apiKey : forwarded && 'token' in forwarded ? forwarded.token : undefined;
    // One budget for everything this request asks of telli; a client that goes away aborts it too.
    // Built on first use only: most of its cost (a timer, a listener on the client's signal) is
    // wasted on operations that never call telli, and `release` frees it the moment execution
    // ends instead of leaving a timer alive for the whole deadline.
    let budget: RequestBudget | undefined;
    const call: CallOptions = {
      apiKey,
      ...(forwarded && 'missing' in forwarded && { missingKey: forwarded.missing }),
      requestId,
      deadline,
      get signal() {
        budget ??= createRequestBudget(request.signal, deadline);
        return budget.signal;
      },
    };
    const loaders = createLoaders(deps.telli, call, deps.loaderHooks);
    let writes: RequestWrites | undefined;
    return {
      requestId,
      logger: deps.logger.child({ requestId }),
      keySource: deps.auth.mode === 'server' ? 'server' : 'caller',
      loaders,
      // Bound on first use: most requests only read.
      get writes() {
        return (writes ??= bindWrites(deps.telli, call));
      },
      forgetContact(contactId, externalIds) {
        forgetContact(loaders, contactId);
        if (apiKey) deps.telli.forget(apiKey, contactId, externalIds);
      },
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
