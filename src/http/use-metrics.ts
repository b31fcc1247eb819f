import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Counter, Histogram } from 'prom-client';
import type { GraphQLContext } from '../context.js';
import type { Metrics } from '../metrics.js';
import type { RouteHandler } from './edge.js';
import { ErrorCode } from '../error-codes.js';
import { reportedCode } from './error-report.js';
import { documentOf, errorsOf, executionOf, sourceTextOf } from './graphql-args.js';
import { bearerCredentialOf, tokenCheck } from './headers.js';
import { schemaCoordinateOf } from './schema-coordinate.js';

/**
 * The GraphQL series of `src/metrics.ts`, fed per request, and the `/metrics` scrape route.
 *
 * This replaced `@graphql-yoga/plugin-prometheus`, which cost ~5 % of the layer's CPU per request
 * (label objects rebuilt through Object.entries on every observation, a TypeInfo walk of every
 * document), and labelled the HTTP histogram with the full request URL, so every GET query string
 * became a new series kept forever.
 *
 * Every label value here is bounded by the schema or by this code, never by what a client sends —
 * each distinct value is a series held in memory until the process exits:
 * - `url`: the path only, and the edge sends only `/graphql` here;
 * - `operationName`: at most MAX_OPERATION_NAMES names of at most MAX_OPERATION_NAME_LENGTH
 *   characters; the rest are `__other__`;
 * - `operationType`, `phase`, `statusCode`, `method` (node parses only the methods it knows): the code's;
 * - `path` of an error: the schema coordinate of its field (`Query.contact`, `Contact.calls`),
 *   not the response path, whose keys are client-chosen aliases;
 * - `code`: a code of the error table (`src/error-codes.ts`); anything else is `INTERNAL_SERVER_ERROR`.
 */

/**
 * Distinct `operationName` label values kept; later names are counted as `__other__`. Operation
 * names come from callers, and every distinct value is a set of series held in memory until the
 * process exits: without a bound, random names would grow the registry without limit.
 */
export const MAX_OPERATION_NAMES = 200;
/** Longer names are `__other__` too: 200 names of a megabyte each would be a bound in name only. */
export const MAX_OPERATION_NAME_LENGTH = 100;
export const OTHER_OPERATIONS = '__other__';

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

interface OperationLabels {
  operationName: string;
  operationType: string;
}

/**
 * One operation's label set and its series' children, made once per operation name and type (both
 * bounded, see above) and reused by every request that runs it: prom-client hashes a label object
 * on every `inc`/`observe` given one, and a child skips that.
 */
interface OperationSeries {
  labels: OperationLabels;
  requests: Counter.Internal;
  duration: Histogram.Internal<string>;
  /** `httpDuration` children by method, status and path (each bounded by the code). */
  http: Map<string, Histogram.Internal<string>>;
}

interface RequestState {
  started: number;
  operation: OperationSeries | undefined;
  /** The URL path only: a GET request's query string would make every request a new series. */
  path: string;
}

export function useMetrics(metrics: Metrics): Plugin<GraphQLContext> {
  const { series } = metrics;
  const operationNames = new BoundedNames(MAX_OPERATION_NAMES);
  /** Per HTTP request: when it started and, once parsed, which operation it runs. */
  const requestStates = new WeakMap<Request, RequestState>();
  const operations = new Map<string, OperationSeries>();
  const operationSeries = (operationName: string, operationType: string): OperationSeries => {
    const key = `${operationType} ${operationName}`;
    let found = operations.get(key);
    if (!found) {
      const labels = { operationName, operationType };
      found = {
        labels,
        requests: series.requests.labels(labels),
        duration: series.requestDuration.labels(labels),
        http: new Map(),
      };
      operations.set(key, found);
    }
    return found;
  };

  return {
    onRequest({ request, url }) {
      series.requestsInFlight.count++;
      requestStates.set(request, { started: performance.now(), operation: undefined, path: url.pathname });
    },
    onParse({ context, params }) {
      // Introspection (GraphiQL, codegen) is tooling traffic, not API use.
      if (sourceTextOf(params.source).includes('__schema')) return undefined;
      const state = requestStates.get(context.request);
      return ({ result }) => {
        if (result instanceof Error) {
          series.errorResults.inc({ phase: 'parse' });
          return;
        }
        if (!state) return;
        const givenName = context.params?.operationName ?? undefined;
        const operation = getOperationAST(documentOf(result), givenName);
        state.operation = operationSeries(
          operationNames.label(givenName || operation?.name?.value || 'Anonymous'),
          operation?.operation ?? 'unknown',
        );
      };
    },
    onValidate({ context }) {
      const labels = requestStates.get(context.request)?.operation?.labels;
      if (!labels) return undefined;
      return ({ valid }) => {
        if (!valid) series.errorResults.inc({ ...labels, phase: 'validate' });
      };
    },
    onExecute({ args }) {
      const operation = requestStates.get(args.contextValue.request)?.operation;
      const labels = operation?.labels;
      const { schema, document, operationName } = executionOf(args);
      const started = performance.now();
      return {
        onExecuteDone({ result }) {
          const errorList = errorsOf(result);
          if (operation) {
            operation.requests.inc();
            operation.duration.observe((performance.now() - started) / 1000);
          }
          for (const error of errorList) {
            const code = reportedCode(error);
            series.errors.inc({ code: KNOWN_CODES.has(code) ? code : ErrorCode.INTERNAL_SERVER_ERROR });
            if (labels) {
              series.errorResults.inc(
                error.path
                  ? {
                      ...labels,
                      phase: 'execute',
                      path: schemaCoordinateOf(schema, document, operationName, error.path),
                    }
                  : { ...labels, phase: 'execute' },
              );
            }
          }
        },
      };
    },
    onResponse({ request, response, serverContext }) {
      const state = requestStates.get(request);
      if (!state) return;
      series.requestsInFlight.count--;
      const { operation } = state;
      // An operation of a WebSocket has no HTTP time of its own (wire.ts): its execution is counted.
      if (!operation || (serverContext as { wire?: unknown }).wire) return;
      const key = `${request.method} ${response.status} ${state.path}`;
      let http = operation.http.get(key);
      if (!http) {
        http = series.httpDuration.labels({
          ...operation.labels,
          method: request.method,
          statusCode: response.status,
          url: state.path,
        });
        operation.http.set(key, http);
      }
      http.observe((performance.now() - state.started) / 1000);
    },
  };
}

/** `/metrics` in Prometheus text format; with `token`, only for `Authorization: Bearer <token>`. */
export function metricsRoute(metrics: Metrics, token: string | undefined): RouteHandler {
  const scraperAllowed = token ? tokenCheck([token]) : () => true;
  return async (request) => {
    const credential = bearerCredentialOf(request);
    if (!scraperAllowed('token' in credential ? credential.token : undefined)) {
      return new Response('Missing or invalid bearer token for /metrics.\n', {
        status: 401,
        headers: { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer' },
      });
    }
    return new Response(await metrics.registry.metrics(), {
      headers: { 'content-type': metrics.registry.contentType },
    });
  };
}

class BoundedNames {
  readonly #names = new Set<string>();
  constructor(readonly max: number) {}
  label(name: string): string {
    if (this.#names.has(name)) return name;
    if (this.#names.size >= this.max || name.length > MAX_OPERATION_NAME_LENGTH) return OTHER_OPERATIONS;
    this.#names.add(name);
    return name;
  }
}
