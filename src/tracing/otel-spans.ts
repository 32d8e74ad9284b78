// The engine's spans on the OpenTelemetry API, their context carried as a W3C traceparent; loaded only when tracing is on.

import { context, defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Address } from '../../actors/shared/entity.js';
import type { OpenSpan, Spans, TraceParent } from './spans.js';

// The engine's own carrier is always W3C, whatever OTEL_PROPAGATORS sets for HTTP.
const w3c = new W3CTraceContextPropagator();

const contextOf = (traceparent: TraceParent): Context => w3c.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter);

const traceparentOf = (span: Span): TraceParent | undefined => {
  const carrier: { traceparent?: string } = {};
  w3c.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  return carrier.traceparent;
};

/** The trace id inside a traceparent (`00-<trace id>-<span id>-<flags>`). */
const traceIdOf = (traceparent: TraceParent): string => traceparent.slice(3, 35);

const end = (span: Span, error?: unknown): void => {
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }
  span.end();
};

/**
 * Runs `work` inside `span` and ends it when `work` has, with its error if it failed. Should the
 * span have no context to pass on (tracing suppressed), what `work` sends goes under `parent`.
 */
function within<R extends Promise<void> | undefined>(span: Span, parent: TraceParent, work: (trace: TraceParent) => R): R {
  let pending: R;
  try {
    pending = work(traceparentOf(span) ?? parent);
  } catch (error) {
    end(span, error);
    throw error;
  }
  if (pending === undefined) {
    end(span);
    return pending;
  }
  return pending.then(
    () => end(span),
    (error: unknown) => {
      end(span, error);
      throw error;
    },
  ) as R;
}

export class OtelSpans implements Spans {
  constructor(private readonly tracer: Tracer = trace.getTracer('order-engine')) {}

  current(): TraceParent | undefined {
    const span = trace.getSpan(context.active());
    // An unsampled request is not followed into the engine: its spans would be dropped anyway.
    if (span === undefined || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return undefined;
    return traceparentOf(span);
  }

  handle(parent: TraceParent, actor: Address, command: string, work: (trace: TraceParent) => Promise<void> | undefined): Promise<void> | undefined {
    return within(
      this.start(`${actor.kind} ${command}`, parent, SpanKind.INTERNAL, {
        'orderengine.actor.kind': actor.kind,
        'orderengine.actor.id': actor.id,
        'orderengine.command': command,
      }),
      parent,
      work,
    );
  }

  commit(appends: ReadonlyArray<{ readonly trace?: TraceParent; readonly events: ReadonlyArray<unknown> }>): OpenSpan | undefined {
    // The latest append of each trace in the batch: a trace's commit span goes under it.
    const latest = new Map<string, TraceParent>();
    let events = 0;
    for (const append of appends) {
      events += append.events.length;
      if (append.trace) latest.set(traceIdOf(append.trace), append.trace);
    }
    if (latest.size === 0) return undefined;
    const attributes = { 'orderengine.batch.entries': appends.length, 'orderengine.batch.events': events };
    const spans = [...latest.values()].map((parent) => this.start('journal commit', parent, SpanKind.CLIENT, attributes));
    return {
      end: (error) => {
        for (const span of spans) end(span, error);
      },
    };
  }

  publish(parent: TraceParent, sink: string, message: { readonly id: string; readonly type: string }, work: (trace: TraceParent) => Promise<void>): Promise<void> {
    const span = this.start(`outbox publish ${message.type}`, parent, SpanKind.PRODUCER, {
      'messaging.system': sink === 'nats' ? 'nats' : 'webhook',
      'messaging.operation.type': 'send',
      'messaging.message.id': message.id,
      'orderengine.outbox.sink': sink,
    });
    return within(span, parent, work);
  }

  private start(name: string, parent: TraceParent, kind: SpanKind, attributes: Attributes): Span {
    return this.tracer.startSpan(name, { kind, attributes }, contextOf(parent));
  }
}
