import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LiveHooks } from './live/hub.js';
import type { WebhookHooks } from './live/webhook.js';
import type { LoaderHooks } from './loaders/index.js';
import type { BudgetHooks, TelliClientHooks } from './telli/index.js';

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
  /** Webhooks received (this instance) and events on the bus, subscriptions (this instance). */
  webhookHooks: WebhookHooks;
  liveHooks: LiveHooks;
  /** The telli budget (`TELLI_RATE_LIMIT_PER_SECOND`): waits, refusals, pauses, slots lost. */
  budgetHooks: BudgetHooks;
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
      onSharedBatch: ({ callers, waitedMs }) => {
        series.batchCallers.observe(callers);
        series.batchWait.observe(waitedMs / 1000);
      },
    },
    loaderHooks: {
      onCacheHit: (loader) => series.loaderCache.inc({ loader, result: 'hit' }),
      onCacheMiss: (loader) => series.loaderCache.inc({ loader, result: 'miss' }),
    },
    webhookHooks: {
      onEvent: (type) => series.webhookEvents.inc({ type }),
      onUnknownFields: (type, count) => series.webhookUnknownFields.inc({ type }, count),
    },
    liveHooks: {
      onBusEvent: (type) => series.busEvents.inc({ type }),
      onSubscriptionOpened: (type) => series.subscriptionsOpen.inc({ type }),
      onSubscriptionClosed: (type) => series.subscriptionsOpen.dec({ type }),
      onEventDropped: (type) => series.subscriptionEvents.inc({ type, outcome: 'dropped' }),
    },
    budgetHooks: {
      onWait: (ms) => series.budgetWait.observe(ms / 1000),
      onRefusal: (reason) => series.budgetRefusals.inc({ reason }),
      onPause: () => series.budgetPauses.inc(),
      onSlotsLost: (reason, count) => series.budgetSlotsLost.inc({ reason }, count),
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
  /**
   * Counted in a plain field on every request, read only when Prometheus scrapes: a gauge's own
   * `inc`/`dec` hash a label set each time, twice per request for a figure seen once a scrape.
   */
  const requestsInFlight = { count: 0 };
  const inFlight = new Gauge({
    name: 'telli_graphql_requests_in_flight',
    help: 'HTTP requests being handled right now.',
    registers: [registry],
    collect() {
      this.set(requestsInFlight.count);
    },
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
  // Group commit across requests (src/telli/contacts/group-commit.ts): ids per call is `batchSize` above.
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

  const webhookDeliveries = new Counter({
    name: 'telli_webhook_deliveries_total',
    help: 'Webhook deliveries to /webhooks/telli, by outcome: published, duplicate (a redelivered svix-id), ignored (authentic, nothing to do), unauthenticated, invalid_json, undeliverable (authentic, but not an event the bus can carry), too_large, busy (WEBHOOK_MAX_IN_FLIGHT bodies in flight: 503), aborted (the sender left mid-body), unavailable (event bus down: 503), method_not_allowed.',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const webhookEvents = new Counter({
    name: 'telli_webhook_events_total',
    help: 'Authentic, first-time webhook events received by this instance, by type (unknown: a type this layer does not handle; unusable: no contact id).',
    labelNames: ['type'],
    registers: [registry],
  });
  const webhookUnknownFields = new Counter({
    name: 'telli_webhook_unknown_fields_total',
    help: 'Top-level webhook payload fields this layer does not know, by event type (names are logged at debug).',
    labelNames: ['type'],
    registers: [registry],
  });
  const busEvents = new Counter({
    name: 'telli_live_bus_events_total',
    help: 'Events this instance received from the event bus (any instance may have published them), by type; invalid: not a live event, dropped.',
    labelNames: ['type'],
    registers: [registry],
  });
  const subscriptionsOpen = new Gauge({
    name: 'telli_subscriptions_open',
    help: 'GraphQL subscriptions open on this instance, by event type.',
    labelNames: ['type'],
    registers: [registry],
  });
  const subscriptionCallbacks = new Counter({
    name: 'telli_subscription_callbacks_total',
    help: "Messages POSTed to routers' callback URLs (Apollo's HTTP callback protocol), by action (check, next, complete) and outcome: delivered, gone (404: the router dropped the subscription), failed (after retries).",
    labelNames: ['action', 'outcome'],
    registers: [registry],
  });
  const webSocketConnections = new Gauge({
    name: 'telli_websocket_connections',
    help: 'GraphQL-over-WebSocket connections open on this instance (each may carry several operations).',
    registers: [registry],
  });
  const subscriptionEvents = new Counter({
    name: 'telli_subscription_events_total',
    help: "Events per subscriber, by type and outcome: delivered, unreadable (the subscriber's key cannot read the contact: not sent), dropped (the subscriber fell behind).",
    labelNames: ['type', 'outcome'],
    registers: [registry],
  });

  // The telli budget (src/telli/transport/budget.ts). No label names the telli key: with forwarded
  // keys that would be a series per caller (and a secret in the metrics).
  const budgetWait = new Histogram({
    name: 'telli_budget_wait_seconds',
    help: 'How long a telli call waited for its slot in the budget (TELLI_RATE_LIMIT_PER_SECOND) before it could leave; 0: at once.',
    buckets: [0, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const budgetRefusals = new Counter({
    name: 'telli_budget_refusals_total',
    help: 'telli calls not sent because no slot of the budget (reason=budget) or no end of a pause telli asked for (reason=paused) came before the request deadline.',
    labelNames: ['reason'],
    registers: [registry],
  });
  const budgetPauses = new Counter({
    name: 'telli_budget_pauses_total',
    help: "Pauses this instance started for every instance after telli's 429 with Retry-After.",
    registers: [registry],
  });
  const budgetSlotsLost = new Counter({
    name: 'telli_budget_slots_lost_total',
    help: 'Slots of the budget this instance counted but did not use, by reason: late (the call could not leave within 200 ms of its slot: a busy event loop), passed (already over when counted: budget nobody used, or a count this instance read late), paused (telli asked for a pause meanwhile).',
    labelNames: ['reason'],
    registers: [registry],
  });

  return {
    budgetWait,
    budgetRefusals,
    budgetPauses,
    budgetSlotsLost,
    webhookDeliveries,
    webhookEvents,
    webhookUnknownFields,
    busEvents,
    subscriptionsOpen,
    subscriptionEvents,
    webSocketConnections,
    subscriptionCallbacks,
    errors,
    inFlight,
    requestsInFlight,
    upstreamDuration,
    retries,
    batchSize,
    batchCallers,
    batchWait,
    loaderCache,
    overloads,
    requests,
    requestDuration,
    errorResults,
    httpDuration,
  };
}
