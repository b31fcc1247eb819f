import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LoaderHooks } from './loaders/index.js';
import type { TelliClientHooks } from './telli/index.js';

/**
 * Prometheus metrics, on one registry per layer (no global state): the series, and the hooks that
 * feed the telli-side ones (upstream durations, retries, batch sizes, loader cache). The GraphQL
 * series are fed by the edge's metrics plugin (`src/http/use-metrics.ts`) and keep the names and
 * labels of `@graphql-yoga/plugin-prometheus`, so its dashboards work.
 */
export interface Metrics {
  registry: Registry;
  telliHooks: TelliClientHooks;
  loaderHooks: LoaderHooks;
  series: ReturnType<typeof createSeries>;
}

export interface MetricsOptions {
  /** Node process metrics (CPU, memory, event loop lag, GC). */
  processMetrics?: boolean;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  const series = createSeries(registry);
  return {
    registry,
    series,
    telliHooks: {
      onAttempt: ({ endpoint, status, error, durationMs }) =>
        series.upstreamDuration.observe({ endpoint, status: status ?? error?.kind ?? 'unknown' }, durationMs / 1000),
      onRetry: ({ endpoint, reason }) => series.retries.inc({ endpoint, reason }),
      onBatch: (size) => series.batchSize.observe(size),
    },
    loaderHooks: {
      onCacheHit: (loader) => series.loaderCache.inc({ loader, result: 'hit' }),
      onCacheMiss: (loader) => series.loaderCache.inc({ loader, result: 'miss' }),
    },
  };
}

function createSeries(registry: Registry) {
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
  const loaderCache = new Counter({
    name: 'telli_loader_cache_total',
    help: 'Per-request loader lookups, by loader and result (hit: served from the request memo, miss: went upstream).',
    labelNames: ['loader', 'result'],
    registers: [registry],
  });

  const overloads = new Counter({
    name: 'telli_graphql_overload_refusals_total',
    help: 'GraphQL requests refused with OVERLOADED, by which bound was full (operations or cost in flight).',
    labelNames: ['bound'],
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

  return {
    errors,
    inFlight,
    upstreamDuration,
    retries,
    batchSize,
    loaderCache,
    overloads,
    requests,
    requestDuration,
    errorResults,
    httpDuration,
  };
}
