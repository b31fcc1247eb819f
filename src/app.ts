import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { getOperationAST, GraphQLError } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { createContextFactory, type Context, type ContextDeps } from './context.js';
import type { Logger } from './logger.js';
import { METRICS_PATH, type Metrics } from './metrics.js';
import { useCallerAuth } from './plugins/caller-auth.js';
import { useRequestBodyLimit } from './plugins/body-limit.js';
import { DEFAULT_QUERY_LIMITS, useQueryLimits, type QueryLimits } from './plugins/limits.js';
import { useReadiness, type ReadinessOptions } from './plugins/readiness.js';
import { isRejectedKey } from './schema/errors.js';
import { schema } from './schema/index.js';
import { createCoalescingClient, type ContactCacheOptions } from './telli/index.js';
import { useTracing } from './tracing.js';
import type { Tracer } from '@opentelemetry/api';

export interface AppDeps extends ContextDeps {
  /** The query GraphiQL opens with (sandbox mode puts a real demo contact id in it). */
  graphiqlDefaultQuery?: string;
  /** Query limits; `DEFAULT_QUERY_LIMITS` when omitted. */
  limits?: Partial<QueryLimits>;
  /** Tokens a caller must present (e.g. a company gateway); caller auth is off when empty. */
  callerAuth?: { tokens: readonly string[]; header: string };
  /** Introspection, field suggestions and GraphiQL; on unless switched off for production. */
  introspection?: boolean;
  /** Yoga's CSRF prevention (GET and "simple" POSTs need a custom header); on by default. */
  csrfPrevention?: boolean;
  /** `/readiness`; only `/health` is served when omitted. */
  readiness?: ReadinessOptions;
  /** `/metrics` and the hooks feeding it. */
  metrics?: Metrics;
  /** OpenTelemetry tracer: a span per operation (give the same one to the telli client). */
  tracer?: Tracer;
  /** Contacts shared across requests for a short time, per API key; off unless `ttlMs` > 0. */
  contactCache?: ContactCacheOptions;
}

export type App = YogaServerInstance<Record<string, unknown>, Context>;

/** Paths that never need caller credentials: probes and the scrape endpoint. */
export const OPEN_PATHS = ['/health', '/readiness', METRICS_PATH] as const;

/**
 * The whole GraphQL layer as a fetch-style handler: `app.fetch(request)` in tests, bound to
 * `node:http` by `server.ts` in production. Built only from injected parts; never reads env.
 */
export function createApp(deps: AppDeps): App {
  const introspection = deps.introspection ?? true;
  const limits = { ...DEFAULT_QUERY_LIMITS, ...deps.limits };
  // One per app: concurrent requests with the same key share upstream calls (and, when enabled,
  // recently read contacts). Below the per-request loaders, which still batch and memoise.
  const telli = createCoalescingClient(deps.telli, { ...deps.contactCache, hooks: deps.metrics?.telliHooks });
  const requestIds = new WeakMap<Request, string>();
  const plugins: Plugin[] = [];
  // Order matters: reject unauthenticated callers before any other work, then serve probes.
  if (deps.callerAuth && deps.callerAuth.tokens.length > 0) {
    plugins.push(useCallerAuth({ ...deps.callerAuth, openPaths: OPEN_PATHS }));
  }
  if (deps.readiness) plugins.push(useReadiness(deps.readiness));
  if (deps.tracer) plugins.push(useTracing(deps.tracer));
  if (deps.metrics) plugins.push(...deps.metrics.plugins);
  if (deps.csrfPrevention ?? true) plugins.push(useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf'] }));
  plugins.push(useRequestBodyLimit(limits.maxBodyBytes), ...useQueryLimits(limits));
  if (!introspection) plugins.push(useDisableIntrospection(), blockFieldSuggestionsPlugin() as Plugin);
  plugins.push(useRequestLog(requestIds), useReleaseRequestBudget());

  return createYoga<Record<string, unknown>, Context>({
    schema,
    context: createContextFactory({
      ...deps,
      telli,
      ...(deps.metrics && { loaderHooks: deps.metrics.loaderHooks }),
      onRequestId: (request, id) => requestIds.set(request, id),
    }),
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health',
    landingPage: false,
    // Self-hosted GraphiQL assets: Yoga's default page loads them from a CDN, which fails offline
    // and behind strict corporate networks. Without introspection GraphiQL cannot work: off too.
    // Imported on the first GraphiQL page, not at boot: the module is ~30 MB of strings in the
    // heap and a noticeable share of start-up time.
    renderGraphiQL: async (options) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(options),
    graphiql: introspection && {
      title: 'telli-graphql',
      ...(deps.graphiqlDefaultQuery !== undefined && { defaultQuery: deps.graphiqlDefaultQuery }),
    },
    // Expected failures are GraphQLErrors with a code; everything else is masked. `isDev` is pinned
    // off so NODE_ENV=development can never put stack traces or upstream details into responses.
    maskedErrors: { isDev: false },
    logging: yogaLogger(deps.logger),
    // Replaced by useRequestBodyLimit: same kind of limit, without a stream pipeline per request.
    maxRequestBodySize: false,
    plugins,
  });
}

/** Execution is over, so no resolver will call telli again for this request: free its budget. */
function useReleaseRequestBudget(): Plugin {
  return {
    onExecute() {
      return { onExecuteDone: ({ args }) => (args.contextValue as unknown as Context).release() };
    },
  };
}

/**
 * One access-log line per GraphQL operation, every error Yoga is about to mask logged with the
 * request id, and the request id echoed as a response header so callers can quote it.
 */
function useRequestLog(requestIds: WeakMap<Request, string>): Plugin {
  return {
    onExecute({ args }) {
      const started = performance.now();
      return {
        onExecuteDone({ result }) {
          // Yoga types plugin contexts as its initial context; ours is built by createContextFactory.
          const { logger } = args.contextValue as unknown as Context;
          const errors = 'errors' in result ? (result.errors ?? []) : [];
          for (const error of errors) {
            const original = error.originalError;
            if (!original || original instanceof GraphQLError) continue;
            if (isRejectedKey(original)) {
              // Every request fails until an operator fixes TELLI_API_KEY: say so plainly.
              logger.fatal(
                { err: original, path: error.path, alert: 'telli-server-key-rejected' },
                `telli rejected this server's API key (HTTP ${original.status}): check TELLI_API_KEY`,
              );
            } else {
              logger.error({ err: original, path: error.path }, 'unexpected error (masked for the client)');
            }
          }
          if (!logger.isLevelEnabled('info')) return;
          logger.info(
            {
              operationName: getOperationAST(args.document, args.operationName)?.name?.value,
              durationMs: Math.round((performance.now() - started) * 100) / 100,
              errors: errors.length,
              ...(errors.length && { codes: [...new Set(errors.map((e) => e.extensions?.['code'] ?? 'INTERNAL'))] }),
            },
            'graphql operation',
          );
        },
      };
    },
    onResponse({ request, response }) {
      const id = requestIds.get(request);
      if (id) response.headers.set('x-request-id', id);
    },
  };
}

function yogaLogger(logger: Logger) {
  const yoga = logger.child({ component: 'yoga' });
  const write =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]) => {
      const [first, ...rest] = args;
      // Errors Yoga masks were already logged, with the request id, by useRequestLog.
      if (first instanceof GraphQLError && first.originalError) yoga.debug({ err: first }, first.message);
      else if (first instanceof Error) yoga[level]({ err: first }, first.message);
      else yoga[level]({ details: rest.length ? rest : undefined }, String(first));
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
