import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import type { DocumentNode, GraphQLError, GraphQLSchema } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { QueryLimits } from '../config.js';
import { ErrorCode } from '../error-codes.js';
import { operationCost, UNBATCHED_READ_COST, V2_READ_COST } from '../schema/core/cost.js';
import type { GraphQLContext } from '../context.js';
import { OVERLOAD_RETRY_AFTER_SECONDS } from './admission.js';

/**
 * Query limits, all enforced before execution — so before any telli call: depth, aliases and
 * tokens through graphql-armor (HTTP 400, QUERY_TOO_COMPLEX), and the cost model of
 * `src/schema/core/cost.ts` (HTTP 400, COST_LIMIT_EXCEEDED).
 */
export interface QueryLimitsOptions {
  limits: QueryLimits;
  schema: GraphQLSchema;
  /** Told of every operation refused because the cost in flight was at its bound (metrics). */
  onOverload?: (reason: 'cost') => void;
}

export function useQueryLimits({ limits, schema, onOverload }: QueryLimitsOptions): Plugin<GraphQLContext>[] {
  // graphql-armor reports a plain validation error; give it our stable code.
  const tag = (_ctx: unknown, error: GraphQLError) => {
    Object.assign(error.extensions, { code: ErrorCode.QUERY_TOO_COMPLEX, http: { status: 400 } });
  };
  return [
    maxTokensPlugin({ n: limits.maxTokens, onReject: [tag] }),
    maxDepthPlugin({ n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true, onReject: [tag] }),
    maxAliasesPlugin({ n: limits.maxAliases, onReject: [tag] }),
    useCostLimit(limits.maxCost, schema, onOverload),
  ];
}

/**
 * Rejects an operation whose cost exceeds `maxCost` just before execution, where the variables are
 * known (`contacts(ids: $ids)` costs `$ids.length`). Not a validation rule: Yoga caches validation
 * per document, and the same document with bigger variables must not slip through. An operation
 * within the limit then reserves its cost in the request's admission (see `admission.ts`).
 */
function useCostLimit(
  maxCost: number,
  schema: GraphQLSchema,
  onOverload: QueryLimitsOptions['onOverload'],
): Plugin<GraphQLContext> {
  return {
    // Subscriptions too: each event executes the selection once more (with its own telli reads).
    onSubscribe: ({ args, setResultAndStopExecution }) => check(args, setResultAndStopExecution),
    onExecute: ({ args, setResultAndStopExecution }) => check(args, setResultAndStopExecution),
  };

  /** Stops an operation over the cost limit, or one whose cost does not fit in the admitted budget. */
  function check(
    args: {
      document: DocumentNode;
      operationName?: string | null;
      variableValues?: Record<string, unknown> | null;
      contextValue: GraphQLContext;
    },
    setResultAndStopExecution: (result: { errors: GraphQLError[] }) => void,
  ): void {
    const cost = operationCost(schema, args.document, args.operationName, args.variableValues ?? {});
    if (cost > maxCost) {
      // A fragment chain can cost 2^n: report a number JSON can carry.
      const shown = Math.min(cost, Number.MAX_SAFE_INTEGER);
      setResultAndStopExecution({
        errors: [
          createGraphQLError(
            `Operation cost ${shown} exceeds the limit of ${maxCost} (one per field, one per contact requested through a list, ${V2_READ_COST} per contact for each field read from telli v2, ${UNBATCHED_READ_COST} per contact whose calls are listed and per call or agent asked for by id).`,
            { extensions: { code: ErrorCode.COST_LIMIT_EXCEEDED, cost: shown, maxCost, http: { status: 400 } } },
          ),
        ],
      });
      return;
    }
    // The edge admitted the request; its ticket holds the cost until the response is built.
    if (args.contextValue.admission && !args.contextValue.admission.reserve(cost)) {
      onOverload?.('cost');
      setResultAndStopExecution({
        errors: [
          createGraphQLError('The server is at capacity; retry shortly.', {
            extensions: {
              code: ErrorCode.OVERLOADED,
              http: { status: 503, headers: { 'retry-after': String(OVERLOAD_RETRY_AFTER_SECONDS) } },
            },
          }),
        ],
      });
    }
  }
}
