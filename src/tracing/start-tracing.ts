// OpenTelemetry traces, off unless an OTLP endpoint is set: the SDK is not even loaded otherwise.

import type { FastifyPluginCallback } from 'fastify';
import type { tracing } from '@opentelemetry/sdk-node';
import type { Spans } from './spans.js';

export interface Tracing {
  /** Registered first in the app (`buildApp({ tracing })`), so that every route and hook is traced. */
  readonly plugin: FastifyPluginCallback;
  /** The engine's own spans (`startEngine(config, metrics, { spans })`): actor messages, journal commits, outbox publishes. */
  readonly spans: Spans;
  /** Sends the spans still buffered and stops the SDK. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Where spans go instead of OTLP (tests: an in-memory exporter); tracing is on when it is given. */
  readonly exporter?: tracing.SpanExporter;
}

/**
 * With `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set, starts the
 * OpenTelemetry Node SDK, which exports over OTLP as the standard `OTEL_*` variables say, with
 * Fastify's own instrumentation (@fastify/otel): a span per request, its hooks and its handler;
 * the engine adds its own through `spans`.
 * Without either, answers undefined and loads nothing.
 *
 * ```ts
 * const tracing = await startTracing();
 * const engine = await startEngine(config, metrics, { ...(tracing ? { spans: tracing.spans } : {}) });
 * const app = await buildApp({ ..., ...(tracing ? { tracing } : {}) });
 * ```
 */
export async function startTracing({ env = process.env, exporter }: TracingOptions = {}): Promise<Tracing | undefined> {
  if (!exporter && !env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return undefined;
  const [{ NodeSDK, tracing: sdkTracing }, { FastifyOtelInstrumentation }, { OtelSpans }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@fastify/otel'),
    import('./otel-spans.js'),
  ]);
  const fastify = new FastifyOtelInstrumentation();
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? 'order-engine',
    instrumentations: [fastify],
    ...(exporter ? { spanProcessors: [new sdkTracing.SimpleSpanProcessor(exporter)] } : {}),
  });
  sdk.start();
  return { plugin: fastify.plugin(), spans: new OtelSpans(), shutdown: () => sdk.shutdown() };
}
