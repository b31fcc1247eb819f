import { SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { errorsOf, executionOf } from './graphql-args.js';

/** Wraps each GraphQL operation in an active server span named after the operation. */
export function useTracing(tracer: Tracer): Plugin {
  return {
    instrumentation: {
      operation: (_payload, wrapped) =>
        tracer.startActiveSpan('graphql.operation', async (span) => {
          try {
            await wrapped();
          } finally {
            span.end();
          }
        }),
    },
    onExecute({ args }) {
      const span = trace.getActiveSpan();
      const { document, operationName } = executionOf(args);
      const operation = getOperationAST(document, operationName);
      const name = operation?.name?.value;
      span?.updateName(`graphql.${operation?.operation ?? 'operation'}${name ? ` ${name}` : ''}`);
      span?.setAttributes({
        'graphql.operation.type': operation?.operation ?? 'unknown',
        ...(name && { 'graphql.operation.name': name }),
      });
      return {
        onExecuteDone({ result }) {
          const errors = errorsOf(result).length;
          span?.setAttribute('graphql.errors', errors);
          if (errors > 0) span?.setStatus({ code: SpanStatusCode.ERROR, message: `${errors} GraphQL error(s)` });
        },
      };
    },
  };
}
