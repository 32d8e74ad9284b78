// What the engine asks of tracing: spans for an actor's command, a journal batch and an outbox publish, with their context as plain data.

import type { Address } from '../../actors/shared/entity.js';

/**
 * A span's context as a W3C `traceparent` string (`00-<trace id>-<span id>-<flags>`): plain
 * data, so that it travels inside actor messages, across processes with them, and into an
 * outbox row.
 */
export type TraceParent = string;

/** A span open while some work runs elsewhere (a journal batch on its way to the database). */
export interface OpenSpan {
  end(error?: unknown): void;
}

/**
 * The engine's spans. Absent when tracing is off, and then nothing on the hot path touches
 * OpenTelemetry: every caller checks for it (and for a message's trace context) first, so a
 * message outside any trace costs one `undefined` check.
 *
 * ```ts
 * if (parent === undefined || spans === undefined) return run(undefined);
 * return spans.handle(parent, address, command.type, (trace) => run(trace));
 * ```
 */
export interface Spans {
  /** The context of the span active where a command enters the engine (the HTTP request's), if it is sampled. */
  current(): TraceParent | undefined;
  /**
   * One command decided at an actor (a request's command, a saga step, a step's answer), as a
   * child of the sender's span. `work` gets the span's own context, for the messages it sends
   * and the appends it makes; the span ends when `work` has, synchronously or not.
   */
  handle(parent: TraceParent, actor: Address, command: string, work: (trace: TraceParent) => Promise<void> | undefined): Promise<void> | undefined;
  /**
   * One journal batch on its way: a span in every trace with an append in it, child of that
   * trace's latest append in the batch, so each payment's trace shows the commit that made it
   * durable. Undefined when no append of the batch is traced.
   */
  commit(appends: ReadonlyArray<{ readonly trace?: TraceParent; readonly events: ReadonlyArray<unknown> }>): OpenSpan | undefined;
  /** One attempt to send an outbox row to a sink, child of the span that appended it; `work` sends with the span's context. */
  publish(parent: TraceParent, sink: string, message: { readonly id: string; readonly type: string }, work: (trace: TraceParent) => Promise<void>): Promise<void>;
}
