// Spans without OpenTelemetry: each command handled is recorded with its parent, under a span id of its own, so tests can follow the context through messages.

import type { Address } from '../../actors/shared/entity.js';
import type { OpenSpan, Spans, TraceParent } from '../../src/tracing/spans.js';

export interface HandledSpan {
  readonly parent: TraceParent;
  readonly actor: Address;
  readonly command: string;
  /** The span's own context, as the messages it sent carry it. */
  readonly traceparent: TraceParent;
}

/** A traceparent in trace `traceId` (32 hex digits) for span `spanId` (up to 16 hex digits). */
export const traceparent = (traceId: string, spanId: string): TraceParent => `00-${traceId}-${spanId.padStart(16, '0')}-01`;

export class RecordingSpans implements Spans {
  readonly handled: HandledSpan[] = [];
  /** What `current()` answers: the caller's span, or undefined outside any trace. */
  active: TraceParent | undefined;
  private next = 0;

  /** `tag` (hex digits) starts every span id made here, so that two processes' spans never share one. */
  constructor(private readonly tag: string) {}

  current(): TraceParent | undefined {
    return this.active;
  }

  handle(parent: TraceParent, actor: Address, command: string, work: (trace: TraceParent) => Promise<void> | undefined): Promise<void> | undefined {
    const own = traceparent(parent.slice(3, 35), `${this.tag}${(++this.next).toString(16).padStart(8, '0')}`);
    this.handled.push({ parent, actor, command, traceparent: own });
    return work(own);
  }

  commit(): OpenSpan | undefined {
    return undefined;
  }

  publish(parent: TraceParent, _sink: string, _message: { readonly id: string; readonly type: string }, work: (trace: TraceParent) => Promise<void>): Promise<void> {
    return work(parent);
  }
}
