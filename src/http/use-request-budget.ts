import type { Plugin } from 'graphql-yoga';
import type { GraphQLContext } from '../context.js';

/** Execution is over, so no resolver will call telli again for this request: free its budget. */
export function useRequestBudget(): Plugin<GraphQLContext> {
  return {
    onExecute() {
      return { onExecuteDone: ({ args }) => args.contextValue.release() };
    },
  };
}
