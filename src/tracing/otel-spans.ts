// The engine's spans on the OpenTelemetry API, their context carried as a W3C traceparent; loaded only when tracing is on.

import { context, defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Address } from '../../actors/shared/entity.js';
import type { OpenSpan, Spans, TraceParent } from './spans.js';

// The engine's own carrier is always W3C, whatever OTEL_PROPAGATORS sets for HTTP.
const w3c = new W3CTraceContextPropagator();

const contextOf = (traceparent: TraceParent): Context => w3c.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter);

const traceparentOf = (ctx: Context): TraceParent | undefined => {
  const carrier: { traceparent?: string } = {};
  w3c.inject(ctx, carrier, defaultTextMapSetter);
  return carrier.traceparent;
};

const ended = (span: Span) => (error?: unknown) => {
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }
  span.end();
};

export class OtelSpans implements Spans {
  constructor(private readonly tracer: Tracer = trace.getTracer('order-engine')) {}

  current(): TraceParent | undefined {
    return traceparentOf(context.active());
  }

  handle(parent: TraceParent, name: string, actor: Address): OpenSpan {
    return this.open(name, parent, SpanKind.INTERNAL, { 'orderengine.actor.kind': actor.kind, 'orderengine.actor.id': actor.id });
  }

  commit(parents: ReadonlySet<TraceParent>, entries: number, events: number): { end(error?: unknown): void } {
    const attributes = { 'orderengine.batch.entries': entries, 'orderengine.batch.events': events };
    const spans = [...parents].map((parent) => this.tracer.startSpan('journal commit', { kind: SpanKind.CLIENT, attributes }, contextOf(parent)));
    return {
      end: (error) => {
        for (const span of spans) ended(span)(error);
      },
    };
  }

  publish(parent: TraceParent, sink: string, type: string, id: string): OpenSpan {
    return this.open(`outbox publish ${type}`, parent, SpanKind.PRODUCER, {
      'messaging.system': sink === 'nats' ? 'nats' : 'webhook',
      'messaging.operation.type': 'send',
      'messaging.message.id': id,
      'orderengine.outbox.sink': sink,
    });
  }

  private open(name: string, parent: TraceParent, kind: SpanKind, attributes: Attributes): OpenSpan {
    const span = this.tracer.startSpan(name, { kind, attributes }, contextOf(parent));
    return { traceparent: traceparentOf(trace.setSpan(ROOT_CONTEXT, span)) ?? parent, end: ended(span) };
  }
}
