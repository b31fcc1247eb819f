import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { createYoga, type YogaServerOptions } from 'graphql-yoga';
import type { Config, TelliTarget } from './config.js';
import { createContextFactory, type Context, type TelliAuth } from './context.js';
import { createAdmission } from './http/admission.js';
import { createEdge, type Edge, type EdgeContext, type Route, type RouteHandler } from './http/edge.js';
import { bearerCredentialOf } from './http/headers.js';
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
import type { Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { SAMPLE_CONTACT_ID, startSandbox, type RunningSandbox } from './sandbox/index.js';
import { schema } from './schema/index.js';
import { createCoalescingClient, createTelliClient, type SharedReadsClient, type TelliClient } from './telli/index.js';
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
  /** The telli client behind the shared reads (readiness uses its probe). */
  telli: TelliClient;
  /** Sandbox mode: the embedded telli emulator the layer talks to. */
  sandbox: RunningSandbox | undefined;
  /** Where telli is (the sandbox's loopback URL in sandbox mode). */
  telliBaseUrl: string;
  metrics: Metrics | undefined;
  /** Whether `/readiness` may report ready: the server sets it once listening, clears it when draining. */
  setServing(serving: boolean): void;
  /** Closes upstream connections, the sandbox and the span exporter (unless `deps.tracing` gave it). */
  close(): Promise<void>;
}

/**
 * GraphiQL's opening query in sandbox mode: a real demo contact, with fields from telli v1 and v2,
 * and its latest calls. The sample contact is in a call right now, so its newest call has no
 * transcript yet: two calls show the ongoing one and the completed conversation before it.
 */
export function sandboxDefaultQuery(contactId: string): string {
  return `# Sandbox mode: demo data from the embedded telli emulator.
# Press the run button (or Ctrl/Cmd+Enter).
query DemoContact {
  contact(id: "${contactId}") {
    id
    externalId
    firstName
    lastName
    phoneNumber
    email
    timezone
    status
    inCallSince
    reachedAt
    nextCallAt
    callAttempts
    contactDetails
    # From telli v2 (one more call):
    updatedAt
    properties {
      key
      label
      dataType
      value
    }
    # What the agent did (list-calls: one more call):
    # the call in progress now, and the finished one
    # before it, with its transcript.
    calls(first: 2) {
      nodes {
        id
        status
        rawStatus
        direction
        startedAt
        endedAt
        durationMinutes
        agent {
          title
        }
        transcriptMessages {
          role
          content
        }
        outcome
      }
    }
  }
}
`;
}

export async function createLayer(config: Config, deps: LayerDeps): Promise<Layer> {
  const { logger } = deps;
  // Before anything is started: a bad manifest fails start-up like a bad variable, leaking nothing.
  const persistedDocuments = await loadPersistedOperations(config, logger);
  const target = config.telli;
  const { sandbox, baseUrl: telliBaseUrl, auth } = await connectTelli(target);

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
  });

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
    ...(sandbox && { graphiqlDefaultQuery: sandboxDefaultQuery(SAMPLE_CONTACT_ID) }),
  });

  let serving = false;
  const routes: Partial<Record<Route, RouteHandler>> = {
    graphql: (request, context) => graphql.handleRequest(request, context),
    health,
    readiness: createReadiness({
      serving: () => serving,
      checkTelli: () => upstream.probe(auth.mode === 'server' ? auth.apiKey : undefined),
      cacheMs: config.readinessCacheMs,
    }),
    ...(metrics && { metrics: metricsRoute(metrics, config.metricsToken) }),
  };

  return {
    edge: createEdge({
      routes,
      deadlineMs: config.requestDeadlineMs,
      admission: createAdmission(config.admission),
      ...(metrics && { onOverload: (bound) => metrics.series.overloads.inc({ bound }) }),
    }),
    telli: upstream,
    sandbox,
    telliBaseUrl,
    metrics,
    setServing: (value) => {
      serving = value;
    },
    async close() {
      await upstream.close();
      await sandbox?.close();
      await ownTracing?.shutdown();
    },
  };
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

/** Which telli to talk to and with whose key; in sandbox mode, the embedded emulator, started now. */
async function connectTelli(
  target: TelliTarget,
): Promise<{ sandbox?: RunningSandbox; baseUrl: string; auth: TelliAuth }> {
  switch (target.mode) {
    case 'sandbox': {
      const sandbox = await startSandbox({ port: target.sandboxPort, latencyMs: target.sandboxLatencyMs });
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
  plugins.push(useRequestLog(), useRequestBudget());

  return createYoga<EdgeContext, Context>({
    schema,
    context: createContextFactory({
      telli: parts.telli,
      auth: parts.auth,
      logger,
      forwardedKeyOf: bearerCredentialOf,
      ...(metrics && { loaderHooks: metrics.loaderHooks }),
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
