// What the engine asks of tracing: spans for an actor's message, a journal batch and an outbox publish, with their context as plain data.

import type { Address } from '../../actors/shared/entity.js';

/**
 * A span's context as a W3C `traceparent` string: plain data, so that it travels inside actor
 * messages, across processes with them, and into an outbox row.
 */
export type TraceParent = string;

export interface OpenSpan {
  /** This span's own context, carried by what is sent while it is open. */
  readonly traceparent: TraceParent;
  end(error?: unknown): void;
}

/**
 * The engine's spans. Absent when tracing is off, and then nothing on the hot path touches
 * OpenTelemetry: every caller checks for it first.
 */
export interface Spans {
  /** The context of the span active where a request enters the engine (the HTTP request's), if any. */
  current(): TraceParent | undefined;
  /** One message handled at an actor (a command, a saga step, a step's answer), child of the sender's span. */
  handle(parent: TraceParent, name: string, actor: Address): OpenSpan;
  /**
   * One journal batch: a span in every trace with an append in it, all with the batch's times
   * and sizes, so that each payment's trace shows the commit that made it durable.
   */
  commit(parents: ReadonlySet<TraceParent>, entries: number, events: number): { end(error?: unknown): void };
  /** One outbox row sent to a sink; its context goes out with the message as its `traceparent`. */
  publish(parent: TraceParent, sink: string, type: string, id: string): OpenSpan;
}
