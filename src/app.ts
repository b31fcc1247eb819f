import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { createYoga, type YogaServerOptions } from 'graphql-yoga';
import type { Config, TelliTarget } from './config.js';
import { createContextFactory, type Context, type TelliAuth } from './context.js';
import { createAdmission } from './http/admission.js';
import { createMemoryApqStore, type ApqStore } from './http/apq-store.js';
import {
  createEdge,
  deadlineMarginMs,
  rootRoute,
  ROUTES,
  type Edge,
  type EdgeContext,
  type Route,
  type RouteHandler,
} from './http/edge.js';
import { createGraphiQLPage, isGraphiQLRequest } from './http/graphiql.js';
import { bearerCredentialOf, tokenCheck } from './http/headers.js';
import { loadPersistedDocuments, type PersistedDocuments } from './http/persisted-documents.js';
import { createReadiness, health } from './http/probes.js';
import { useApqNotSupported, useApqRegistration } from './http/use-apq.js';
import { useRequestBodyLimit } from './http/use-body-limit.js';
import { useCacheControl } from './http/use-cache-control.js';
import { useCsrfPrevention } from './http/use-csrf-prevention.js';
import { corsOption } from './http/origins.js';
import { useCallerAuth } from './http/use-caller-auth.js';
import { metricsRoute, useMetrics } from './http/use-metrics.js';
import { PERSISTED_DOCUMENT_PARAMS, usePersistedDocuments } from './http/use-persisted-documents.js';
import { useQueryLimits } from './http/use-query-limits.js';
import { useRequestBudget } from './http/use-request-budget.js';
import { useRefusals } from './http/use-refusals.js';
import { useRequestLog, yogaLogger } from './http/use-request-log.js';
import { useTracing } from './http/use-tracing.js';
import { createEventAdmission } from './http/event-admission.js';
import { useEventContexts } from './http/use-event-contexts.js';
import {
  createCallbackSubscriptions,
  type CallbackSubscriptions,
  type CallbackUrlPolicy,
} from './http/transports/callback.js';
import { createCallbackSender } from './http/transports/callback-sender.js';
import { useMultipartSubscriptions } from './http/transports/multipart.js';
import { createWebSocketTransport } from './http/transports/websocket.js';
import { useWireResults } from './http/transports/wire.js';
import { webhookRoute } from './http/webhook.js';
import { createMemoryBus, type LiveBus } from './live/bus.js';
import { DEFAULT_DEDUPE_MAX_ENTRIES, MemoryDedupe } from './live/dedupe.js';
import { createLiveHub, type LiveHub } from './live/hub.js';
import { createKeyCheck, DEFAULT_KEY_CHECK, type KeyCheck } from './live/key-check.js';
import { createWebhookReceiver } from './live/webhook.js';
import type { Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createWebhookSecret, SAMPLE_CONTACT_ID, startSandbox, type RunningSandbox } from './sandbox/index.js';
import { sandboxDefaultQuery } from './schema/demo-operations.js';
import { schema } from './schema/index.js';
import {
  ConcurrencyLimiter,
  createCoalescingClient,
  createTelliBudget,
  createTelliClient,
  type BudgetHooks,
  type SharedReadsClient,
  type TelliBudget,
} from './telli/index.js';
import type { RedisContactCache } from './telli/contacts/redis-cache.js';
import { createTracing, type Tracing } from './tracing.js';

/**
 * Composition: `createLayer` builds the whole layer from a parsed `Config` — the telli client, the
 * shared reads, metrics, tracing, the embedded sandbox in sandbox mode, the GraphQL server and the
 * request edge in front of it. `src/server.ts` and the tests call it the same way, so tests run
 * the wiring production runs. Nothing here reads the environment or listens on a port.
 */
export interface LayerDeps {
  logger: Logger;
  /** Tracing built by the caller (tests export spans to memory); otherwise from `config.tracing`. */
  tracing?: Tracing;
  /** Clock of the shared contact cache; `Date.now` otherwise. */
  now?: () => number;
  /** Randomness of the retry backoff; `Math.random` otherwise. */
  random?: () => number;
}

export interface Layer {
  /** The request edge: a `node:http` request listener, and `edge.fetch(…)` without a socket. */
  edge: Edge;
  /** Sandbox mode: the embedded telli emulator the layer talks to. */
  sandbox: RunningSandbox | undefined;
  /** Where telli is (the sandbox's loopback URL in sandbox mode). */
  telliBaseUrl: string;
  /** Live events: the hub of this instance's subscriptions (and its end of the event bus). */
  live: LiveHub;
  /** Whether `/readiness` may report ready: the server sets it once listening, clears it when draining. */
  setServing(serving: boolean): void;
  /**
   * The server listens at `url` now. In sandbox mode the sandbox, as telli's webhook sender,
   * delivers to `${url}/webhooks/telli` from now on.
   */
  listening(url: string): void;
  /**
   * With a server key against telli (not the sandbox, not forwarded keys): asks telli once whether
   * it accepts `TELLI_API_KEY` (`GET /v1/verify-api-key`, not retried). The server calls it at
   * start-up, so that a wrong key is reported before the first query fails with it.
   */
  verifyServerKey: (() => Promise<ServerKeyCheck>) | undefined;
  /**
   * Completes every open subscription, whatever its wire (their clients see `complete`), and
   * closes the WebSocket connections once their clients have been told (1001); resolves when
   * that is done, or after `SHUTDOWN_GRACE_MS`. The server calls it when it stops.
   */
  completeSubscriptions(): Promise<void>;
  /**
   * Closes subscriptions and the event bus, upstream connections, the sandbox and the span
   * exporter (unless `deps.tracing` gave it).
   */
  close(): Promise<void>;
}

/** What telli said about the server's key: `reason` is short and never holds the key. */
export type ServerKeyCheck =
  { outcome: 'accepted' } | { outcome: 'rejected'; reason: string } | { outcome: 'unverified'; reason: string };

export async function createLayer(config: Config, deps: LayerDeps): Promise<Layer> {
  const { logger } = deps;
  // Before anything is started: a bad manifest fails start-up like a bad variable, leaking nothing.
  const persistedDocuments = await loadPersistedOperations(config, logger);
  const apq = persistedDocuments?.mode === 'allow' ? await createApqStore(config, logger) : undefined;
  const target = config.telli;
  // Sandbox mode: the layer and the sandbox (telli's webhook sender there) share a fresh secret.
  const sandboxSecret = target.mode === 'sandbox' ? createWebhookSecret() : undefined;
  const { sandbox, baseUrl: telliBaseUrl, auth } = await connectTelli(target, sandboxSecret);
  if (sandbox && config.live.webhookSecrets.length > 0) {
    logger.warn('TELLI_WEBHOOK_SECRET is ignored in sandbox mode (the sandbox signs with a generated secret)');
  }
  const webhookSecrets = sandboxSecret ? [sandboxSecret] : config.live.webhookSecrets;

  const metrics = config.metrics ? createMetrics({ processMetrics: true }) : undefined;
  // Tracing the caller built is the caller's to shut down; the layer shuts down only its own.
  const ownTracing = deps.tracing ? undefined : config.tracing && createTracing(config.tracing);
  const tracing = deps.tracing ?? ownTracing;
  const shared = await createSharedTelliState(config, logger, metrics?.budgetHooks);
  const upstream = createTelliClient({
    ...target,
    baseUrl: telliBaseUrl,
    ...(shared.budget && { budget: shared.budget }),
    ...(deps.random && { random: deps.random }),
    ...(tracing && { tracer: tracing.tracer }),
    hooks: {
      ...metrics?.telliHooks,
      onRetry: (event) => {
        metrics?.telliHooks.onRetry?.(event);
        logger.warn(event, 'retrying telli call');
      },
    },
  });
  // One per layer: concurrent requests with the same key share upstream calls (and, when enabled,
  // recently read contacts and agents). Below the per-request loaders, which still batch and memoise.
  const telli = createCoalescingClient(upstream, {
    ttlMs: target.cacheTtlMs,
    maxEntries: target.cacheMaxEntries,
    agentTtlMs: target.agentCacheTtlMs,
    ...(shared.cache && { redisCache: shared.cache }),
    ...(shared.budget && { budget: shared.budget }),
    ...(deps.now && { now: deps.now }),
    ...(metrics && { hooks: metrics.telliHooks }),
  });

  const bus = await createBus(config, logger, deps.now);
  const live = createLiveHub({
    bus,
    // First thing on every instance for every event: what it shares about the contact goes.
    invalidate: (contactId, externalId) => telli.forgetForEveryKey(contactId, externalId ? [externalId] : []),
    limits: {
      maxSubscriptions: config.live.maxSubscriptions,
      maxPerCaller: config.live.maxSubscriptionsPerCaller,
      maxPerPeer: config.live.maxSubscriptionsPerPeer,
      queueSize: SUBSCRIBER_QUEUE_SIZE,
    },
    logger,
    ...(metrics && { hooks: metrics.liveHooks }),
  });
  const receiver =
    webhookSecrets.length > 0
      ? createWebhookReceiver({ secrets: webhookSecrets, bus, logger, ...(metrics && { hooks: metrics.webhookHooks }) })
      : undefined;

  // Caller auth protects a real key; the sandbox serves only demo data, so it stays open there.
  if (sandbox && config.callerAuth.tokens.length > 0) {
    logger.warn('CALLER_TOKENS is ignored in sandbox mode (demo data only)');
  }
  const callerTokens = sandbox ? [] : config.callerAuth.tokens;
  // What an answer depends on besides its URL and body: the caller's credentials.
  const credentialHeaders = ['authorization', ...(callerTokens.length > 0 ? [config.callerAuth.header] : [])];

  // Apollo's HTTP callback protocol: the layer POSTs each event to the router.
  const callbackSender = createCallbackSender();
  const callbacks = createCallbackSubscriptions({
    policy: callbackUrlPolicy(config, callerTokens),
    sender: callbackSender,
    logger,
    ...(metrics && {
      onMessage: (action, outcome) => metrics.series.subscriptionCallbacks.inc({ action, outcome }),
    }),
  });

  const keyChecks = new ConcurrencyLimiter(KEY_CHECKS_IN_FLIGHT);
  const graphql = createGraphQL({
    config,
    logger,
    telli,
    auth,
    ...(auth.mode === 'forward' && {
      checkKey: createKeyCheck({
        ...DEFAULT_KEY_CHECK,
        ...(deps.now && { now: deps.now }),
        // One unretried GET /v1/verify-api-key with the caller's key; at most a few at once, so
        // that a burst of new keys (made-up ones, say) reaches telli as a trickle.
        verify: (apiKey) => keyChecks.run(() => upstream.verifyKey(apiKey)),
      }),
    }),
    callerTokens,
    credentialHeaders,
    callbacks,
    persistedDocuments,
    apq,
    metrics,
    tracing,
    live,
  });

  // The GraphiQL page is answered before the GraphQL server sees the request (as Yoga's own page
  // was, ahead of caller auth and CSRF prevention): built once, compressed, cacheable.
  // Without introspection GraphiQL cannot work: no page then.
  const graphiql = config.introspection
    ? createGraphiQLPage({
        title: 'telli-graphql',
        ...(sandbox && { defaultQuery: sandboxDefaultQuery(SAMPLE_CONTACT_ID, sandbox.autopilotContactId) }),
      })
    : undefined;

  const admission = createAdmission(config.admission);
  const webSocket = createWebSocketTransport({
    // Each operation on a connection runs through the edge built below, as a request; none runs
    // before a server listens, long after the edge exists.
    run: (request, context) => edge.fetch(request, context),
    schema,
    callerAuth:
      callerTokens.length > 0 ? { header: config.callerAuth.header, isValid: tokenCheck(callerTokens) } : undefined,
    forwardedHeaders: [...credentialHeaders, 'x-request-id'],
    maxPayloadBytes: config.limits.maxBodyBytes,
    allowedOrigins: new Set(config.corsOrigins),
    // Every connection may hold a subscription: no more connections than subscriptions.
    maxConnections: config.live.maxSubscriptions,
    logger,
    ...(metrics && { onConnections: (open: number) => metrics.series.webSocketConnections.set(open) }),
  });

  let serving = false;
  const routes: Partial<Record<Route, RouteHandler>> = {
    root: rootRoute,
    graphql: (request, context) =>
      graphiql && isGraphiQLRequest(request.method, request.headers.get('accept'))
        ? graphiql({
            acceptEncoding: request.headers.get('accept-encoding'),
            ifNoneMatch: request.headers.get('if-none-match'),
          })
        : graphql.handleRequest(request, context),
    health,
    readiness: createReadiness({
      serving: () => serving,
      checkTelli: () => upstream.probe(auth.mode === 'server' ? auth.apiKey : undefined),
      cacheMs: config.readinessCacheMs,
      checkEvents: () => bus.health(),
    }),
    ...(metrics && { metrics: metricsRoute(metrics, config.metricsToken) }),
    ...(receiver && {
      webhooks: webhookRoute({
        receiver,
        maxBodyBytes: config.live.webhookMaxBodyBytes,
        maxInFlight: config.live.webhookMaxInFlight,
        ...(metrics && { onDelivery: (outcome) => metrics.series.webhookDeliveries.inc({ outcome }) }),
      }),
    }),
  };

  const edge: Edge = createEdge({
    routes,
    graphqlNode: (req, res, context) =>
      graphiql && isGraphiQLRequest(req.method, req.headers.accept)
        ? graphiql({ acceptEncoding: req.headers['accept-encoding'], ifNoneMatch: req.headers['if-none-match'] })
        : graphql.handleNodeRequestAndResponse(req, res, context),
    deadlineMs: config.requestDeadlineMs,
    admission,
    ...(metrics && { onOverload: (bound) => metrics.series.overloads.inc({ bound }) }),
    upgrade: webSocket.handleUpgrade,
  });

  return {
    edge,
    sandbox,
    telliBaseUrl,
    live,
    setServing: (value) => {
      serving = value;
    },
    listening(url) {
      sandbox?.webhooks?.setTarget(`${url}${ROUTES.webhooks}`);
    },
    verifyServerKey:
      target.mode === 'server' && auth.mode === 'server'
        ? async () => {
            const result = await upstream.probe(auth.apiKey);
            if (result === 'ok') return { outcome: 'accepted' };
            // The probe's words for a 401/403 to the key it was given.
            return result.startsWith('telli rejected the API key')
              ? { outcome: 'rejected', reason: result }
              : { outcome: 'unverified', reason: result };
          }
        : undefined,
    async completeSubscriptions() {
      live.completeAll();
      await Promise.all([webSocket.close(config.shutdownGraceMs), callbacks.drain(config.shutdownGraceMs)]);
    },
    async close() {
      await live.close();
      await callbackSender.close();
      await bus.close();
      await upstream.close();
      await shared.close();
      await apq?.close();
      await sandbox?.close();
      await ownTracing?.shutdown();
    },
  };
}

/** Forwarded-key mode: checks of callers' keys with telli in flight at once; more wait their turn. */
const KEY_CHECKS_IN_FLIGHT = 8;

/**
 * Events a subscriber may have waiting while its re-reads run; a subscriber further behind loses
 * its oldest (counted in `telli_subscription_events_total{outcome="dropped"}`).
 */
const SUBSCRIBER_QUEUE_SIZE = 256;

/**
 * Which URLs an HTTP-callback subscription may name: `SUBSCRIPTION_CALLBACK_URLS` when set; else
 * any http(s) URL — the caller already holds a caller token (a gateway), or the layer is on a
 * network whose callers are trusted with the server key (or it serves demo data) — except in
 * forwarded-key mode without caller tokens, where anyone with a telli key may subscribe.
 */
function callbackUrlPolicy(config: Config, callerTokens: readonly string[]): CallbackUrlPolicy {
  const prefixes = config.live.callbackUrlPrefixes;
  if (prefixes) return { kind: 'prefixes', prefixes };
  if (config.telli.mode === 'forward' && callerTokens.length === 0) {
    return {
      kind: 'none',
      reason:
        'Callback subscriptions are off: with forwarded keys and no CALLER_TOKENS anyone with a telli key may subscribe, and the layer would POST to any URL they name. Set SUBSCRIPTION_CALLBACK_URLS to your router’s callback URL.',
    };
  }
  return { kind: 'any' };
}

/** In process, or shared through Redis with REDIS_URL (only then is ioredis loaded). */
async function createBus(config: Config, logger: Logger, now: (() => number) | undefined): Promise<LiveBus> {
  const { redis, dedupeTtlSeconds } = config.live;
  if (!redis) {
    return createMemoryBus({
      topic: 'events',
      dedupe: new MemoryDedupe(dedupeTtlSeconds * 1000, DEFAULT_DEDUPE_MAX_ENTRIES, now),
    });
  }
  const { createRedisBus } = await import('./live/redis-bus.js');
  return createRedisBus({
    url: redis.url,
    prefix: redis.prefix,
    dedupeTtlSeconds,
    commandTimeoutMs: redis.timeoutMs,
    logger,
  });
}

/**
 * What the instances share about telli: the budget (TELLI_RATE_LIMIT_PER_SECOND) and, with
 * TELLI_CACHE_TTL_MS, the contact cache — through Redis with REDIS_URL (one connection of their
 * own; ioredis and the Redis modules are loaded only then), the budget in this process without.
 */
async function createSharedTelliState(
  config: Config,
  logger: Logger,
  budgetHooks: BudgetHooks | undefined,
): Promise<{ budget?: TelliBudget; cache?: RedisContactCache; close(): Promise<void> }> {
  const { rateLimitPerSecond, cacheTtlMs } = config.telli;
  const redis = config.live.redis;
  const budgetOnly = (budget?: TelliBudget) => ({ ...(budget && { budget }), close: () => Promise.resolve() });
  if (!redis || (rateLimitPerSecond === 0 && cacheTtlMs === 0)) {
    return budgetOnly(
      rateLimitPerSecond > 0
        ? createTelliBudget({ perSecond: rateLimitPerSecond, ...(budgetHooks && { hooks: budgetHooks }) })
        : undefined,
    );
  }
  const [{ connectSharedRedis, closeSharedRedis }, { createRedisContactCache }] = await Promise.all([
    import('./telli/redis.js'),
    import('./telli/contacts/redis-cache.js'),
  ]);
  const log = logger.child({ component: 'redis', connection: 'telli' });
  let closing = false;
  const client = connectSharedRedis({
    url: redis.url,
    commandTimeoutMs: redis.timeoutMs,
    onState: (state) => {
      if (state === 'ready') log.info('redis connected');
      else if (!closing)
        log.warn(
          'redis connection lost; reconnecting (meanwhile the budget counts in this process, reads skip the cache)',
        );
    },
  });
  // One warning per minute at most while Redis fails cache commands (every read would log one).
  let lastWarned = -Infinity;
  const cache =
    cacheTtlMs > 0
      ? createRedisContactCache({
          client,
          prefix: redis.prefix,
          ttlMs: cacheTtlMs,
          onError: (operation, error) => {
            if (closing || Date.now() - lastWarned < 60_000) return;
            lastWarned = Date.now();
            log.warn(
              { operation, err: error instanceof Error ? error.message : String(error) },
              'contact cache in Redis failed',
            );
          },
        })
      : undefined;
  // The budget's pause channel needs a connection of its own: a subscribed connection runs nothing else.
  const subscriber =
    rateLimitPerSecond > 0 ? connectSharedRedis({ url: redis.url, commandTimeoutMs: redis.timeoutMs }) : undefined;
  const budget =
    rateLimitPerSecond > 0
      ? createTelliBudget({
          perSecond: rateLimitPerSecond,
          redis: { client, subscriber, prefix: redis.prefix },
          ...(budgetHooks && { hooks: budgetHooks }),
        })
      : undefined;
  return {
    ...(budget && { budget }),
    ...(cache && { cache }),
    close: async () => {
      closing = true;
      await Promise.all([closeSharedRedis(client), subscriber && closeSharedRedis(subscriber)]);
    },
  };
}

/** APQ's store of registered documents: this instance's LRU, behind Redis when REDIS_URL is set. */
async function createApqStore(config: Config, logger: Logger): Promise<ApqStore> {
  const local = createMemoryApqStore(config.apq);
  const { redis } = config.live;
  if (!redis) return local;
  const { createRedisApqStore } = await import('./http/apq-redis-store.js');
  return createRedisApqStore({
    url: redis.url,
    prefix: redis.prefix,
    ttlSeconds: config.apq.redisTtlSeconds,
    commandTimeoutMs: redis.timeoutMs,
    local,
    logger,
  });
}

/**
 * The trusted-documents manifest when PERSISTED_OPERATIONS is `allow` or `only` (`allow` may have
 * none: APQ registers what clients send).
 */
async function loadPersistedOperations(
  config: Config,
  logger: Logger,
): Promise<{ mode: 'allow' | 'only'; documents: PersistedDocuments } | undefined> {
  const settings = config.persistedOperations;
  if (settings.mode === 'off') {
    if (settings.path) logger.warn('PERSISTED_DOCUMENTS_PATH is ignored with PERSISTED_OPERATIONS=off');
    return undefined;
  }
  if (settings.path === undefined) return { mode: settings.mode, documents: new Map() };
  const documents = await loadPersistedDocuments(settings.path);
  logger.info({ mode: settings.mode, documents: documents.size }, 'persisted documents loaded');
  return { mode: settings.mode, documents };
}

/**
 * Which telli to talk to and with whose key; in sandbox mode, the embedded emulator, started now,
 * as telli's dialer too: its calls' webhooks are signed with `webhookSecret`.
 */
async function connectTelli(
  target: TelliTarget,
  webhookSecret: string | undefined,
): Promise<{ sandbox?: RunningSandbox; baseUrl: string; auth: TelliAuth }> {
  switch (target.mode) {
    case 'sandbox': {
      const sandbox = await startSandbox({
        port: target.sandboxPort,
        latencyMs: target.sandboxLatencyMs,
        ...(webhookSecret && {
          live: { secret: webhookSecret, callMs: target.sandboxCallMs, autopilotMs: target.sandboxAutopilotMs },
        }),
      });
      return { sandbox, baseUrl: sandbox.url, auth: { mode: 'server', apiKey: sandbox.apiKey } };
    }
    case 'server':
      return { baseUrl: target.baseUrl, auth: { mode: 'server', apiKey: target.apiKey } };
    case 'forward':
      return { baseUrl: target.baseUrl, auth: { mode: 'forward' } };
  }
}

interface GraphQLParts {
  config: Config;
  logger: Logger;
  telli: SharedReadsClient;
  live: LiveHub;
  auth: TelliAuth;
  /** Forwarded-key mode: the check of a caller's key before its subscription opens. */
  checkKey?: KeyCheck;
  /** Tokens a caller must present (e.g. a company gateway); caller auth is off when empty. */
  callerTokens: readonly string[];
  /** Request headers carrying credentials: what an answer depends on besides its URL and body. */
  credentialHeaders: readonly string[];
  /** Apollo's HTTP callback subscriptions. */
  callbacks: CallbackSubscriptions;
  /** Trusted documents; undefined = PERSISTED_OPERATIONS=off. */
  persistedDocuments: { mode: 'allow' | 'only'; documents: PersistedDocuments } | undefined;
  /** PERSISTED_OPERATIONS=allow: the documents APQ registered. */
  apq: ApqStore | undefined;
  metrics: Metrics | undefined;
  tracing: Tracing | undefined;
}

/** The GraphQL server behind the edge's `/graphql` route. Plugin order matters: cheap refusals first. */
function createGraphQL(parts: GraphQLParts) {
  const { config, logger, metrics, tracing } = parts;
  const plugins: NonNullable<YogaServerOptions<EdgeContext, Context>['plugins']> = [];
  // Requests caller auth let through: only they may send documents under PERSISTED_OPERATIONS=only.
  const authenticated = new WeakSet<Request>();
  const { credentialHeaders } = parts;
  // Reject unauthenticated callers before any other work.
  if (parts.callerTokens.length > 0) {
    plugins.push(useCallerAuth({ tokens: parts.callerTokens, header: config.callerAuth.header, authenticated }));
  }
  if (tracing) plugins.push(useTracing(tracing.tracer));
  if (metrics) plugins.push(useMetrics(metrics));
  if (config.csrfPrevention) plugins.push(useCsrfPrevention());
  // Wires: each takes the results its request asks for, before the refusals answer 406 to the
  // rest; the WebSocket hand-off after them, so that it gets results recoded as HTTP answers are.
  plugins.push(
    useRequestBodyLimit(config.limits.maxBodyBytes),
    useMultipartSubscriptions(),
    parts.callbacks.plugin,
    useRefusals(),
    useWireResults(),
  );
  // APQ as Apollo defines it: `off` tells hashing clients to stop; `allow` registers documents
  // (before the lookup below turns a hash into a document).
  if (!parts.persistedDocuments) plugins.push(useApqNotSupported());
  if (parts.apq) plugins.push(useApqRegistration(parts.apq));
  // Answers unknown ids and refused documents in onParams, before the limits' parse-time checks.
  if (parts.persistedDocuments) {
    plugins.push(
      ...usePersistedDocuments({
        ...parts.persistedDocuments,
        ...(parts.apq && { registered: parts.apq }),
        maySendDocuments: (request) => authenticated.has(request),
        varyOn: credentialHeaders,
      }),
    );
  }
  plugins.push(
    ...useQueryLimits({
      limits: config.limits,
      schema,
      ...(metrics && { onOverload: (bound) => metrics.series.overloads.inc({ bound }) }),
    }),
  );
  if (!config.introspection) plugins.push(useDisableIntrospection(), blockFieldSuggestionsPlugin());
  // Subscription events have an admission of their own, of the same size as operations'.
  plugins.push(useRequestLog(), useRequestBudget(), useEventContexts(createEventAdmission(config.admission.maxCost)));
  // Last of the response hooks: it sees the trusted-documents plugin's ETag answers.
  plugins.push(useCacheControl(config.corsOrigins.length > 0 ? [...credentialHeaders, 'origin'] : credentialHeaders));

  return createYoga<EdgeContext, Context>({
    schema,
    context: createContextFactory({
      telli: parts.telli,
      auth: parts.auth,
      logger,
      forwardedKeyOf: bearerCredentialOf,
      ...(metrics && { loaderHooks: metrics.loaderHooks }),
      live: parts.live,
      ...(metrics && {
        onSubscriptionEvent: (type, outcome) => metrics.series.subscriptionEvents.inc({ type, outcome }),
      }),
      // Every request reaching the context passed useCallerAuth then: it comes from a gateway.
      callersAreGateways: parts.callerTokens.length > 0,
      ...(parts.checkKey && { checkKey: parts.checkKey }),
      eventBudgetMs: config.requestDeadlineMs - deadlineMarginMs(config.requestDeadlineMs),
    }),
    graphqlEndpoint: '/graphql',
    // Yoga's default echoes any origin with credentials; here only CORS_ORIGINS get CORS headers.
    cors: corsOption(config.corsOrigins, credentialHeaders),
    // `documentId` beside a document (allowed in `allow` mode) is not an unexpected parameter.
    ...(parts.persistedDocuments && { extraParamNames: PERSISTED_DOCUMENT_PARAMS }),
    // The edge answers /health itself; Yoga's own check matches any URL that *ends* with its
    // endpoint, query string included. No URL can end with a space (it would be percent-encoded).
    healthCheckEndpoint: ' ',
    landingPage: false,
    // The edge serves GraphiQL (src/http/graphiql.ts): self-hosted assets, since Yoga's default
    // page loads them from a CDN, which fails offline and behind strict corporate networks.
    graphiql: false,
    // Expected failures are GraphQLErrors with a code; everything else is masked. `isDev` is pinned
    // off so NODE_ENV=development can never put stack traces or upstream details into responses.
    maskedErrors: { isDev: false },
    logging: yogaLogger(logger),
    // Replaced by useRequestBodyLimit: same kind of limit, without a stream pipeline per request.
    maxRequestBodySize: false,
    plugins,
  });
}
