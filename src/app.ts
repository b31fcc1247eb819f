import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { createYoga, type YogaServerOptions } from 'graphql-yoga';
import type { Config, TelliTarget } from './config.js';
import { createContextFactory, type Context, type TelliAuth } from './context.js';
import { createAdmission } from './http/admission.js';
import {
  createEdge,
  deadlineMarginMs,
  ROUTES,
  type Edge,
  type EdgeContext,
  type Route,
  type RouteHandler,
} from './http/edge.js';
import { bearerCredentialOf, callerIdOf } from './http/headers.js';
import { loadPersistedDocuments, type PersistedDocuments } from './http/persisted-documents.js';
import { createReadiness, health } from './http/probes.js';
import { useRequestBodyLimit } from './http/use-body-limit.js';
import { useCallerAuth } from './http/use-caller-auth.js';
import { metricsRoute, useMetrics } from './http/use-metrics.js';
import { PERSISTED_DOCUMENT_PARAMS, usePersistedDocuments } from './http/use-persisted-documents.js';
import { useQueryLimits } from './http/use-query-limits.js';
import { useRequestBudget } from './http/use-request-budget.js';
import { useRefusals } from './http/use-refusals.js';
import { useRequestLog, yogaLogger } from './http/use-request-log.js';
import { useTracing } from './http/use-tracing.js';
import { useEventContexts } from './http/use-event-contexts.js';
import { webhookRoute } from './http/webhook.js';
import { createMemoryBus, type LiveBus } from './live/bus.js';
import { DEFAULT_DEDUPE_MAX_ENTRIES, MemoryDedupe } from './live/dedupe.js';
import { createLiveHub, type LiveHub } from './live/hub.js';
import { createWebhookReceiver } from './live/webhook.js';
import type { Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createWebhookSecret, SAMPLE_CONTACT_ID, startSandbox, type RunningSandbox } from './sandbox/index.js';
import { sandboxDefaultQuery } from './schema/demo-operations.js';
import { schema } from './schema/index.js';
import { createCoalescingClient, createTelliClient, type SharedReadsClient } from './telli/index.js';
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
  /** Completes every open subscription (their clients see `complete`); the server calls it when it stops. */
  completeSubscriptions(): void;
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
  const upstream = createTelliClient({
    ...target,
    baseUrl: telliBaseUrl,
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

  const graphql = createGraphQL({
    config,
    logger,
    telli,
    auth,
    callerTokens,
    persistedDocuments,
    metrics,
    tracing,
    live,
    ...(sandbox && { graphiqlDefaultQuery: sandboxDefaultQuery(SAMPLE_CONTACT_ID, sandbox.autopilotContactId) }),
  });

  let serving = false;
  const routes: Partial<Record<Route, RouteHandler>> = {
    graphql: (request, context) => graphql.handleRequest(request, context),
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
        ...(metrics && { onDelivery: (outcome) => metrics.series.webhookDeliveries.inc({ outcome }) }),
      }),
    }),
  };

  return {
    edge: createEdge({
      routes,
      graphqlNode: (req, res, context) => graphql.handleNodeRequestAndResponse(req, res, context),
      deadlineMs: config.requestDeadlineMs,
      admission: createAdmission(config.admission),
      ...(metrics && { onOverload: (bound) => metrics.series.overloads.inc({ bound }) }),
    }),
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
    completeSubscriptions: () => live.completeAll(),
    async close() {
      await live.close();
      await bus.close();
      await upstream.close();
      await sandbox?.close();
      await ownTracing?.shutdown();
    },
  };
}

/**
 * Events a subscriber may have waiting while its re-reads run; a subscriber further behind loses
 * its oldest (counted in `telli_subscription_events_total{outcome="dropped"}`).
 */
const SUBSCRIBER_QUEUE_SIZE = 256;

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

/** The trusted-documents manifest when PERSISTED_OPERATIONS is `allow` or `only`. */
async function loadPersistedOperations(
  config: Config,
  logger: Logger,
): Promise<{ mode: 'allow' | 'only'; documents: PersistedDocuments } | undefined> {
  const settings = config.persistedOperations;
  if (settings.mode === 'off') {
    if (settings.path) logger.warn('PERSISTED_DOCUMENTS_PATH is ignored with PERSISTED_OPERATIONS=off');
    return undefined;
  }
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
  /** Tokens a caller must present (e.g. a company gateway); caller auth is off when empty. */
  callerTokens: readonly string[];
  /** Trusted documents; undefined = PERSISTED_OPERATIONS=off. */
  persistedDocuments: { mode: 'allow' | 'only'; documents: PersistedDocuments } | undefined;
  metrics: Metrics | undefined;
  tracing: Tracing | undefined;
  /** The query GraphiQL opens with (sandbox mode puts a real demo contact id in it). */
  graphiqlDefaultQuery?: string;
}

/** The GraphQL server behind the edge's `/graphql` route. Plugin order matters: cheap refusals first. */
function createGraphQL(parts: GraphQLParts) {
  const { config, logger, metrics, tracing } = parts;
  const plugins: NonNullable<YogaServerOptions<EdgeContext, Context>['plugins']> = [];
  // Requests caller auth let through: only they may send documents under PERSISTED_OPERATIONS=only.
  const authenticated = new WeakSet<Request>();
  // Reject unauthenticated callers before any other work.
  if (parts.callerTokens.length > 0) {
    plugins.push(useCallerAuth({ tokens: parts.callerTokens, header: config.callerAuth.header, authenticated }));
  }
  if (tracing) plugins.push(useTracing(tracing.tracer));
  if (metrics) plugins.push(useMetrics(metrics));
  if (config.csrfPrevention) plugins.push(useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf'] }));
  plugins.push(useRequestBodyLimit(config.limits.maxBodyBytes), useRefusals());
  // Answers unknown ids and refused documents in onParams, before the limits' parse-time checks.
  if (parts.persistedDocuments) {
    plugins.push(
      ...usePersistedDocuments({
        ...parts.persistedDocuments,
        maySendDocuments: (request) => authenticated.has(request),
        varyOn: ['authorization', ...(parts.callerTokens.length > 0 ? [config.callerAuth.header] : [])],
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
  plugins.push(useRequestLog(), useRequestBudget(), useEventContexts());
  const callerHeader = config.callerAuth.header;

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
      // With caller tokens, a caller is its token (useCallerAuth has checked it by then).
      ...(parts.callerTokens.length > 0 && { callerIdOf: (request: Request) => callerIdOf(request, callerHeader) }),
      eventBudgetMs: config.requestDeadlineMs - deadlineMarginMs(config.requestDeadlineMs),
    }),
    graphqlEndpoint: '/graphql',
    // `documentId` beside a document (allowed in `allow` mode) is not an unexpected parameter.
    ...(parts.persistedDocuments && { extraParamNames: PERSISTED_DOCUMENT_PARAMS }),
    // The edge answers /health itself; Yoga's own check matches any URL that *ends* with its
    // endpoint, query string included. No URL can end with a space (it would be percent-encoded).
    healthCheckEndpoint: ' ',
    landingPage: false,
    // Self-hosted GraphiQL assets: Yoga's default page loads them from a CDN, which fails offline
    // and behind strict corporate networks. Without introspection GraphiQL cannot work: off too.
    // Imported on the first GraphiQL page, not at boot: the module is ~30 MB of strings in the
    // heap and a noticeable share of start-up time.
    renderGraphiQL: async (options) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(options),
    graphiql: config.introspection && {
      title: 'telli-graphql',
      ...(parts.graphiqlDefaultQuery !== undefined && { defaultQuery: parts.graphiqlDefaultQuery }),
      // GraphiQL subscribes over SSE with a GET, which CSRF prevention refuses without this
      // header; the page is same-origin, so it may send it (a cross-site page cannot).
      ...(config.csrfPrevention && { additionalHeaders: { 'x-graphql-yoga-csrf': 'graphiql' } }),
    },
    // Expected failures are GraphQLErrors with a code; everything else is masked. `isDev` is pinned
    // off so NODE_ENV=development can never put stack traces or upstream details into responses.
    maskedErrors: { isDev: false },
    logging: yogaLogger(logger),
    // Replaced by useRequestBodyLimit: same kind of limit, without a stream pipeline per request.
    maxRequestBodySize: false,
    plugins,
  });
}
