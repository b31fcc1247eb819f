import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LoaderHooks } from './loaders/index.js';
import type { TelliClientHooks } from './telli/index.js';

/**
 * Prometheus metrics at `/metrics`. GraphQL request counts and durations by operation come from
 * `@graphql-yoga/plugin-prometheus`; telli-side metrics (upstream durations, retries, batch sizes,
 * loader cache) are fed by the hooks below. One registry per app instance: no global state.
 */
export interface Metrics {
  registry: Registry;
  telliHooks: TelliClientHooks;
  loaderHooks: LoaderHooks;
  plugins: Plugin[];
}

export function createMetrics(options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
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
  const loaderCache = new Counter({
    name: 'telli_loader_cache_total',
    help: 'Per-request loader lookups, by loader and result (hit: served from the request memo, miss: went upstream).',
    labelNames: ['loader', 'result'],
    registers: [registry],
  });

  const countErrors: Plugin = {
    onRequest() {
      inFlight.inc();
    },
    onResponse() {
      inFlight.dec();
    },
    onExecute() {
      return {
        onExecuteDone({ result }) {
          if (!('errors' in result) || !result.errors) return;
          for (const error of result.errors) {
            const code = error.extensions?.['code'];
            const masked = error.originalError && !(error.originalError instanceof GraphQLError);
            errors.inc({ code: typeof code === 'string' && !masked ? code : 'INTERNAL_SERVER_ERROR' });
          }
        },
      };
    },
  };

  return {
    registry,
    telliHooks: {
      onAttempt: ({ endpoint, status, error, durationMs }) =>
        upstreamDuration.observe({ endpoint, status: status ?? error?.kind ?? 'unknown' }, durationMs / 1000),
      onRetry: ({ endpoint, reason }) => retries.inc({ endpoint, reason }),
      onBatch: (size) => batchSize.observe(size),
    },
    loaderHooks: {
      onCacheHit: (loader) => loaderCache.inc({ loader, result: 'hit' }),
      onCacheMiss: (loader) => loaderCache.inc({ loader, result: 'miss' }),
    },
    plugins: [
      usePrometheus({
        registry,
        endpoint: '/metrics',
        skipIntrospection: true,
        labels: { operationName: true, operationType: true },
        // Exactly the series the README lists. The plugin turns on nearly all of its metrics unless
        // told otherwise; the rest cost CPU on every request and say little here: the deprecated-
        // field counter walks every document with TypeInfo (the schema has no deprecated fields),
        // the request-time summary keeps a t-digest per label set, and the parse/validate/context/
        // execute phase histograms time phases that are cached or sub-millisecond.
        metrics: {
          graphql_envelop_request: true,
          graphql_envelop_request_duration: true,
          graphql_envelop_error_result: true,
          graphql_yoga_http_duration: true,
          graphql_envelop_deprecated_field: false,
          graphql_envelop_request_time_summary: false,
          graphql_envelop_phase_parse: false,
          graphql_envelop_phase_validate: false,
          graphql_envelop_phase_context: false,
          graphql_envelop_phase_execute: false,
          graphql_envelop_phase_subscribe: false,
          graphql_envelop_execute_resolver: false,
          graphql_envelop_schema_change: false,
        },
      }) as Plugin,
      countErrors,
    ],
  };
}
