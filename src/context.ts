import { createHash } from 'node:crypto';
import type { KeyCheck } from './live/key-check.js';
import type { EventStream, LiveHub, SubscribeRequest, Subscriber } from './live/hub.js';
import { createLoaders, forgetContact, type LoaderHooks, type Loaders } from './loaders/index.js';
import type { Logger } from './logger.js';
import {
  createRequestBudget,
  ENDPOINTS,
  TelliCredentialsMissingError,
  TelliHttpError,
  type CallOptions,
  type RequestBudget,
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
  /** The node:http request, when there is a socket (its peer address identifies anonymous callers). */
  req?: { socket?: { remoteAddress?: string | undefined } };
}

/** Live events as resolvers see them: subscriptions of this caller (see `src/live/hub.ts`). */
export interface LiveAccess {
  /**
   * Opens a subscription for this caller; rejects with SubscriptionLimitError, or, in
   * forwarded-key mode, with the telli error of a key telli does not accept (checked first).
   */
  subscribe(request: Omit<SubscribeRequest, keyof Subscriber>): Promise<EventStream>;
  /** Counts what became of an event for one subscriber (metrics). */
  report(type: SubscribeRequest['type'], outcome: 'delivered' | 'unreadable'): void;
}

/** Everything a resolver may use. Built fresh for every GraphQL request by `createContextFactory`. */
export interface Context {
  requestId: string;
  logger: Logger;
  loaders: Loaders;
  keySource: KeySource;
  /**
   * telli's writes, each called with `callOptions` last (`ctx.writes.createContact(contact,
   * ctx.callOptions)`): a write telli/ adds is there without an edit here. Reads go through `loaders`.
   */
  writes: Writes;
  /** What every telli call of this request carries: its key, request id, deadline and budget. */
  callOptions: CallOptions;
  /**
   * After a successful write to the contact: drops it from this request's loaders and from what
   * the process shares for this request's key, so whatever reads it next asks telli.
   */
  forgetContact(contactId: string, externalIds?: readonly string[]): void;
  /** Ends the request's telli budget (clears its deadline timer); the edge calls it once execution is done. */
  release(): void;
  /**
   * A context for one subscription event: the same caller, credentials and client signal, but
   * fresh loaders (a subscription is one long request, and its loaders' memo would otherwise
   * serve the first event's reads forever) and a fresh budget of `REQUEST_DEADLINE_MS`.
   */
  forEvent(): Context;
  /** Subscriptions; undefined when the layer serves no live events. */
  live: LiveAccess | undefined;
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
  /** Live events, when the layer serves them. */
  live?: LiveHub;
  /** Told what became of each event for a subscriber (metrics). */
  onSubscriptionEvent?: LiveAccess['report'];
  /**
   * Every caller authenticated with a caller token (`CALLER_TOKENS`): each is a gateway you issued
   * a token to, multiplexing the company's clients, so it is not limited per caller or per peer.
   */
  callersAreGateways?: boolean;
  /** Forwarded-key mode: whether telli accepts a caller's key, asked before its subscription opens. */
  checkKey?: KeyCheck;
  /** The budget of one subscription event's telli work (`REQUEST_DEADLINE_MS` less the edge's margin). */
  eventBudgetMs: number;
}

export function createContextFactory(deps: ContextDeps) {
  const build = (request: Request, requestId: string, deadline: number, who: () => Subscriber): Context => {
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
    const { live } = deps;
    return {
      requestId,
      logger: deps.logger.child({ requestId }),
      keySource: deps.auth.mode === 'server' ? 'server' : 'caller',
      loaders,
      // The shared client itself and the call options the loaders hold too: nothing is built per
      // request for writes (most requests only read). Yoga copies the context's properties with
      // `Object.assign`, which would run a getter (on its slow path: ~13 µs per request); these
      // are two plain references.
      writes: deps.telli,
      callOptions: call,
      forgetContact(contactId, externalIds) {
        forgetContact(loaders, contactId);
        if (apiKey) deps.telli.forget(apiKey, contactId, externalIds);
      },
      release: () => budget?.release(),
      forEvent: () => build(request, requestId, Date.now() + deps.eventBudgetMs, who),
      live: live && {
        subscribe: async (subscription) => {
          // Forwarded-key mode without a key: nothing would ever be readable, so every event
          // would be skipped in silence. Say so now, as a query would.
          if (!apiKey)
            throw new TelliCredentialsMissingError(forwarded && 'missing' in forwarded ? forwarded.missing : 'absent');
          // The slot is taken while the key is checked, so that checks count against the limits.
          const slot = live.reserve(who());
          try {
            const verdict = deps.checkKey ? await deps.checkKey(apiKey) : 'valid';
            // As a telli call with that key would have answered: UNAUTHENTICATED, or UPSTREAM_UNAVAILABLE.
            if (verdict !== 'valid')
              throw new TelliHttpError(ENDPOINTS.verifyApiKey, verdict === 'rejected' ? 401 : 503);
          } catch (error) {
            slot.release();
            throw error;
          }
          const stream = slot.open(subscription);
          // The client left while its key was checked: nobody will read (or end) the stream.
          if (request.signal.aborted) void stream.return();
          return stream;
        },
        report: (type, outcome) => deps.onSubscriptionEvent?.(type, outcome),
      },
    };
  };
  return ({ request, requestId, deadline, req }: RequestFacts): Context => {
    // Who counts as one caller for the subscription limits, whatever the wire:
    // - a forwarded telli key is its tenant (hashed: the key itself is not kept), limited per caller;
    // - a caller with a caller token is a gateway (Apollo Router, Hive Gateway) multiplexing the
    //   company's clients from one address: neither limited per caller nor per peer (it would cap
    //   every live screen behind it), only by SUBSCRIPTIONS_MAX — its tenants still per caller;
    // - anyone else is its peer address, limited per caller and per peer.
    const who = (): Subscriber => {
      const peerId = `peer:${req?.socket?.remoteAddress ?? 'unknown'}`;
      const forwarded = deps.auth.mode === 'forward' ? deps.forwardedKeyOf(request) : undefined;
      const key =
        forwarded && 'token' in forwarded
          ? `key:${createHash('sha256').update(forwarded.token).digest('base64url')}`
          : undefined;
      if (deps.callersAreGateways) return { callerId: key, peerId: undefined };
      return { callerId: key ?? peerId, peerId };
    };
    return build(request, requestId, deadline, who);
  };
}
