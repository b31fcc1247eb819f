import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/**
 * Optional OpenTelemetry tracing, exported over OTLP/HTTP: a server span per GraphQL operation
 * (`src/http/use-tracing.ts`) and a client span per telli attempt (the telli client's `tracer`
 * option). Off unless an OTLP endpoint is configured; then nothing of it runs on the hot path.
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
