import { SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Optional OpenTelemetry tracing: a server span per GraphQL operation and a client span per telli
 * attempt (see the telli client's `tracer` option), exported over OTLP/HTTP. Off unless an OTLP
 * endpoint is configured; then nothing here runs on the hot path.
 */
export interface Tracing {
  tracer: Tracer;
  /** Flushes pending spans. */
  shutdown(): Promise<void>;
}

export function createTracing(options: {
  serviceName: string;
  otlpTracesUrl?: string;
  processor?: SpanProcessor;
}): Tracing {
  const processor = options.processor ?? new BatchSpanProcessor(new OTLPTraceExporter({ url: options.otlpTracesUrl }));
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    spanProcessors: [processor],
  });
  // Registers the AsyncLocalStorage context manager and W3C propagator: spans started in a
  // DataLoader batch find the operation span as their parent.
  provider.register();
  return { tracer: provider.getTracer('telli-graphql'), shutdown: () => provider.shutdown() };
}

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
      const operation = getOperationAST(args.document, args.operationName);
      const name = operation?.name?.value;
      span?.updateName(`graphql.${operation?.operation ?? 'operation'}${name ? ` ${name}` : ''}`);
      span?.setAttributes({
        'graphql.operation.type': operation?.operation ?? 'unknown',
        ...(name && { 'graphql.operation.name': name }),
      });
      return {
        onExecuteDone({ result }) {
          const errors = 'errors' in result ? (result.errors?.length ?? 0) : 0;
          span?.setAttribute('graphql.errors', errors);
          if (errors > 0) span?.setStatus({ code: SpanStatusCode.ERROR, message: `${errors} GraphQL error(s)` });
        },
      };
    },
  };
}
