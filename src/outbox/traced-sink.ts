// A sink seen through tracing: each attempt at a traced row is a publish span, whose context goes out with the message.

import type { Spans } from '../tracing/spans.js';
import type { Sink, SinkMessage } from './sink.js';

/**
 * Wraps a sink when tracing is on. A row committed under a trace (its `trace_parent`) is sent
 * inside a publish span, child of the span that committed it, and carries that span's context
 * as its `traceparent`, so the receiver's spans join the payment's trace. A row without one
 * (tracing was off when it was committed) goes as it is.
 */
export class TracedSink implements Sink {
  constructor(
    private readonly sink: Sink,
    private readonly spans: Spans,
  ) {}

  get name(): string {
    return this.sink.name;
  }

  send(message: SinkMessage, signal: AbortSignal): Promise<void> {
    if (message.trace === undefined) return this.sink.send(message, signal);
    return this.spans.publish(message.trace, this.sink.name, message, (trace) => this.sink.send({ ...message, trace }, signal));
  }

  connection(): string {
    return this.sink.connection();
  }

  close(): Promise<void> {
    return this.sink.close();
  }
}
