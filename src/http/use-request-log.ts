import { getOperationAST, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GraphQLContext } from '../context.js';
import type { Logger } from '../logger.js';
import { logMasked, reportedCode } from './error-report.js';
import { errorsOf, executionOf } from './graphql-args.js';

/**
 * One access-log line per GraphQL operation, and every error Yoga is about to mask logged in full
 * with the request id (the client sees only "Unexpected error." and the id).
 */
export function useRequestLog(): Plugin<GraphQLContext> {
  return {
    onExecute({ args }) {
      const started = performance.now();
      return {
        onExecuteDone({ result }) {
          const { logger } = args.contextValue;
          const execution = executionOf(args);
          const errors = errorsOf(result);
          logMasked(logger, errors, '');
          if (!logger.isLevelEnabled('info')) return;
          logger.info(
            {
              operationName: getOperationAST(execution.document, execution.operationName)?.name?.value,
              durationMs: Math.round((performance.now() - started) * 100) / 100,
              errors: errors.length,
              ...(errors.length && { codes: [...new Set(errors.map(reportedCode))] }),
            },
            'graphql operation',
          );
        },
      };
    },
  };
}

/** Yoga's own log lines, through our logger. */
export function yogaLogger(logger: Logger) {
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
