// The one small interface every outbox destination implements: send an event, say how the connection is, close.

import type { TraceParent } from '../tracing/spans.js';

/** What a sink sends: the event's dedupe id, its type (NATS subject) and its JSON body. */
export interface SinkMessage {
  readonly id: string;
  readonly type: string;
  readonly payload: string;
  /** Tracing on: the publish span's context, sent along as the message's `traceparent` header. */
  readonly trace?: TraceParent;
}

/**
 * A destination of outbox events. `send` resolves only once the destination has the event
 * (JetStream's PubAck, a 2xx answer) and rejects otherwise, at the latest after the sink's
 * time-out or when `signal` fires; it may be called again with the same message, so the
 * destination must drop duplicates by `id`.
 *
 * ```ts
 * await sink.send({ id: 'order-42:5', type: 'OrderPaid', payload: '{"id":"order-42:5",…}' }, stop.signal);
 * ```
 */
export interface Sink {
  /** Also the value of the outbox rows' `sink` column and of the metrics' `sink` label. */
  readonly name: string;
  send(message: SinkMessage, signal: AbortSignal): Promise<void>;
  /** For readiness and logs: e.g. "connected", "reconnecting". */
  connection(): string;
  close(): Promise<void>;
}

/**
 * The sink could not be reached or said it cannot take anything now (no connection, refused,
 * overloaded), as opposed to refusing this event. A probe of an open circuit that fails this way
 * does not count against the row: an outage must not turn events into dead letters.
 */
export class SinkUnavailableError extends Error {
  override readonly name = 'SinkUnavailableError';
}
