import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import type { GraphQLError, GraphQLSchema } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { QueryLimits } from '../config.js';
import { ErrorCode } from '../error-codes.js';
import { operationCost, UNBATCHED_READ_COST, V2_READ_COST } from '../schema/cost.js';

/**
 * Query limits, all enforced before execution — so before any telli call: depth, aliases and
 * tokens through graphql-armor (HTTP 400, QUERY_TOO_COMPLEX), and the cost model of
 * `src/schema/cost.ts` (HTTP 400, COST_LIMIT_EXCEEDED).
 */
export function useQueryLimits(limits: QueryLimits, schema: GraphQLSchema): Plugin[] {
  // graphql-armor reports a plain validation error; give it our stable code.
  const tag = (_ctx: unknown, error: GraphQLError) => {
    Object.assign(error.extensions, { code: ErrorCode.QUERY_TOO_COMPLEX, http: { status: 400 } });
  };
  return [
    maxTokensPlugin({ n: limits.maxTokens, onReject: [tag] }),
    maxDepthPlugin({ n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true, onReject: [tag] }),
    maxAliasesPlugin({ n: limits.maxAliases, onReject: [tag] }),
    useCostLimit(limits.maxCost, schema),
  ];
}

/**
 * Rejects an operation whose cost exceeds `maxCost` just before execution, where the variables are
 * known (`contacts(ids: $ids)` costs `$ids.length`). Not a validation rule: Yoga caches validation
 * per document, and the same document with bigger variables must not slip through.
 */
function useCostLimit(maxCost: number, schema: GraphQLSchema): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const cost = operationCost(schema, args.document, args.operationName, args.variableValues ?? {});
      if (cost > maxCost) {
        setResultAndStopExecution({
          errors: [
            createGraphQLError(
              `Operation cost ${cost} exceeds the limit of ${maxCost} (one per field, one per contact requested through a list, ${V2_READ_COST} per contact for each field read from telli v2, ${UNBATCHED_READ_COST} per contact whose calls are listed and per call or agent asked for by id).`,
              { extensions: { code: ErrorCode.COST_LIMIT_EXCEEDED, cost, maxCost, http: { status: 400 } } },
            ),
          ],
        });
      }
    },
  };
}
