import { getOperationAST, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { bearerTokenOf } from './context.js';
import type { LoaderHooks } from './loaders/index.js';
import { tokenCheck } from './plugins/caller-auth.js';
import type { TelliClientHooks } from './telli/index.js';

/**
 * Prometheus metrics at `/metrics`, on one registry per app instance (no global state).
 *
 * GraphQL request counts and durations by operation keep the series names and labels of
 * `@graphql-yoga/plugin-prometheus`, which this module replaced: that plugin cost ~5 % of the
 * layer's CPU per request (label objects rebuilt through Object.entries on every observation, a
 * TypeInfo walk of every document), and labelled the HTTP histogram with the full request URL, so
 * every GET query string became a new series kept forever. Here labels are bounded: the URL path
 * only, at most MAX_OPERATION_NAMES operation names, list indices folded out of error paths.
 * telli-side metrics (upstream durations, retries, batch sizes, loader cache) are fed by the hooks.
 */
export interface Metrics {
  registry: Registry;
  telliHooks: TelliClientHooks;
  loaderHooks: LoaderHooks;
  plugins: Plugin[];
}

export interface MetricsOptions {
  /** Node process metrics (CPU, memory, event loop lag, GC). */
  processMetrics?: boolean;
  /** When set, `/metrics` answers only `Authorization: Bearer <token>` (Prometheus `authorization`). */
  token?: string | undefined;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const scraperAllowed = options.token ? tokenCheck([options.token]) : () => true;
  if (options.processMetrics) collectDefaultMetrics({ register: registry });

  const errors = new Counter({
    name: 'telli_graphql_errors_total',
    help: 'GraphQL errors returned to clients, by extensions.code (masked errors count as INTERNAL_SERVER_ERROR).',
    labelNames: ['code'],
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'telli_graphql_requests_in_flight',
    help: 'HTTP requests being handled right now.',
    registers: [registry],
  });
  const upstreamDuration = new Histogram({
    name: 'telli_upstream_request_duration_seconds',
    help: 'Duration of each HTTP attempt to telli, by endpoint and outcome (HTTP status, or timeout/network).',
    labelNames: ['endpoint', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const retries = new Counter({
    name: 'telli_upstream_retries_total',
    help: 'Retries of telli calls, by endpoint and reason (HTTP status or socket error code).',
    labelNames: ['endpoint', 'reason'],
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: 'telli_upstream_batch_size',
    help: 'Contact ids per get-contacts-batch call.',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
    registers: [registry],
  });
  // Group commit across requests (src/telli/group-commit.ts): ids per call is `batchSize` above.
  const batchCallers = new Histogram({
    name: 'telli_upstream_batch_callers',
    help: 'Per-request loader batches (roughly: GraphQL operations) whose ids one get-contacts-batch call carries.',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
    registers: [registry],
  });
  const batchWait = new Histogram({
    name: 'telli_upstream_batch_wait_seconds',
    help: 'How long the first id of a get-contacts-batch call waited for the calls of its API key ahead of it (0: sent at once).',
    buckets: [0, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const loaderCache = new Counter({
    name: 'telli_loader_cache_total',
    help: 'Per-request loader lookups, by loader and result (hit: served from the request memo, miss: went upstream).',
    labelNames: ['loader', 'result'],
    registers: [registry],
  });

  const requests = new Counter({
    name: 'graphql_envelop_request',
    help: 'Counts the amount of GraphQL requests executed through Envelop',
    labelNames: ['operationName', 'operationType'],
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: 'graphql_envelop_request_duration',
    // The name is the plugin's; what it measured, and still measures, is execution alone.
    help: 'Time spent executing GraphQL operations, in seconds.',
    labelNames: ['operationName', 'operationType'],
    registers: [registry],
  });
  const errorResults = new Counter({
    name: 'graphql_envelop_error_result',
    help: 'Counts the amount of errors reported from all phases',
    labelNames: ['operationType', 'operationName', 'path', 'phase'],
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'graphql_yoga_http_duration',
    help: 'Time spent on HTTP connection',
    labelNames: ['operationName', 'operationType', 'method', 'statusCode', 'url'],
    registers: [registry],
  });

  const operationNames = new BoundedNames(MAX_OPERATION_NAMES);
  /** Per HTTP request: when it started and, once parsed, which operation it runs. */
  const requestStates = new WeakMap<Request, RequestState>();

  const graphqlMetrics: Plugin = {
    onRequest({ request, url, fetchAPI, endResponse }) {
      if (url.pathname === METRICS_PATH) {
        if (!scraperAllowed(bearerTokenOf(request))) {
          endResponse(
            new fetchAPI.Response('Missing or invalid bearer token for /metrics.\n', {
              status: 401,
              headers: { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer' },
            }),
          );
          return undefined;
        }
        return registry.metrics().then((text) => {
          endResponse(new fetchAPI.Response(text, { headers: { 'content-type': registry.contentType } }));
        });
      }
      inFlight.inc();
      requestStates.set(request, { started: performance.now(), labels: undefined, path: url.pathname });
      return undefined;
    },
    onParse({ context, params }) {
      // Introspection (GraphiQL, codegen) is tooling traffic, not API use.
      const source = typeof params.source === 'string' ? params.source : params.source.body;
      if (source.includes('__schema')) return undefined;
      const { request, params: httpParams } = context as YogaContext;
      const state = requestStates.get(request);
      return ({ result }) => {
        if (result instanceof Error) {
          errorResults.inc({ phase: 'parse' });
          return;
        }
        if (!state) return;
        const givenName = httpParams?.operationName ?? undefined;
        const operation = getOperationAST(result, givenName);
        state.labels = {
          operationName: operationNames.label(givenName || operation?.name?.value || 'Anonymous'),
          operationType: operation?.operation ?? 'unknown',
        };
      };
    },
    onValidate({ context }) {
      const labels = requestStates.get((context as YogaContext).request)?.labels;
      if (!labels) return undefined;
      return ({ valid }) => {
        if (!valid) errorResults.inc({ ...labels, phase: 'validate' });
      };
    },
    onExecute({ args }) {
      const labels = requestStates.get((args.contextValue as YogaContext).request)?.labels;
      const started = performance.now();
      return {
        onExecuteDone({ result }) {
          const errorList = 'errors' in result ? result.errors : undefined;
          if (labels) {
            requests.inc(labels);
            requestDuration.observe(labels, (performance.now() - started) / 1000);
          }
          if (!errorList) return;
          for (const error of errorList) {
            const code = error.extensions?.['code'];
            const masked = error.originalError && !(error.originalError instanceof GraphQLError);
            errors.inc({ code: typeof code === 'string' && !masked ? code : 'INTERNAL_SERVER_ERROR' });
            if (labels) {
              errorResults.inc(
                error.path
                  ? { ...labels, phase: 'execute', path: errorPath(error.path) }
                  : { ...labels, phase: 'execute' },
              );
            }
          }
        },
      };
    },
    onResponse({ request, response }) {
      const state = requestStates.get(request);
      if (!state) return;
      inFlight.dec();
      if (!state.labels) return;
      httpDuration.observe(
        { ...state.labels, method: request.method, statusCode: response.status, url: state.path },
        (performance.now() - state.started) / 1000,
      );
    },
  };

  return {
    registry,
    telliHooks: {
      onAttempt: ({ endpoint, status, error, durationMs }) =>
        upstreamDuration.observe({ endpoint, status: status ?? error?.kind ?? 'unknown' }, durationMs / 1000),
      onRetry: ({ endpoint, reason }) => retries.inc({ endpoint, reason }),
      onBatch: (size) => batchSize.observe(size),
      onSharedBatch: ({ callers, waitedMs }) => {
        batchCallers.observe(callers);
        batchWait.observe(waitedMs / 1000);
      },
    },
    loaderHooks: {
      onCacheHit: (loader) => loaderCache.inc({ loader, result: 'hit' }),
      onCacheMiss: (loader) => loaderCache.inc({ loader, result: 'miss' }),
    },
    plugins: [graphqlMetrics],
  };
}

/** Where the scrape endpoint is served (and `createApp` keeps it open without caller credentials). */
export const METRICS_PATH = '/metrics';

/**
 * Distinct `operationName` label values kept; later names are counted as `__other__`. Operation
 * names come from callers, and every distinct value is a set of series held in memory until the
 * process exits: without a bound, random names would grow the registry without limit.
 */
export const MAX_OPERATION_NAMES = 200;
export const OTHER_OPERATIONS = '__other__';

/** The part of Yoga's context these hooks read. */
interface YogaContext {
  request: Request;
  params?: { operationName?: string | null };
}

interface OperationLabels {
  operationName: string;
  operationType: string;
}

interface RequestState {
  started: number;
  labels: OperationLabels | undefined;
  /** The URL path only: a GET request's query string would make every request a new series. */
  path: string;
}

class BoundedNames {
  readonly #names = new Set<string>();
  constructor(readonly max: number) {}
  label(name: string): string {
    if (this.#names.has(name)) return name;
    if (this.#names.size >= this.max) return OTHER_OPERATIONS;
    this.#names.add(name);
    return name;
  }
}

/** An error's response path with list indices folded to `*` (`contacts.*.email`): bounded by the schema. */
function errorPath(path: readonly (string | number)[]): string {
  return path.map((segment) => (typeof segment === 'number' ? '*' : segment)).join('.');
}
