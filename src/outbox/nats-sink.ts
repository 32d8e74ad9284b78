// NATS JetStream: publishes each event on `<prefix>.<type>` with its id as Nats-Msg-Id (and its trace as traceparent) and waits for the PubAck.

import { jetstream, jetstreamManager, JetStreamApiCodes, JetStreamApiError, StorageType, type JetStreamClient } from '@nats-io/jetstream';
import { connect, headers, nanos, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { SinkUnavailableError, type Sink, type SinkMessage } from './sink.js';

export interface NatsSinkOptions {
  readonly url: string;
  readonly stream: string;
  readonly subjectPrefix: string;
  /** How long a publish waits for its PubAck. */
  readonly timeoutMs: number;
}

const traceHeaders = (traceparent: string) => {
  const h = headers();
  h.set('traceparent', traceparent);
  return h;
};

/** The broker drops a repeated Nats-Msg-Id within this window: retries inside it never duplicate. */
const DUPLICATE_WINDOW_MS = 2 * 60_000;
const RECONNECT_WAIT_MS = 1000;

/**
 * A JetStream publisher that never blocks the engine: it connects in the background (and again
 * after the client gives up), reconnects forever, and fails sends while it has no connection so
 * that the relay's breaker opens. Before its first publish on a connection it creates the stream,
 * or adds its subjects to an existing one.
 */
export class NatsSink implements Sink {
  readonly name = 'nats';
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private stream: Promise<void> | undefined;
  private state = 'connecting';
  private closed = false;
  private readonly running: Promise<void>;
  private wake: (() => void) | undefined;

  constructor(
    private readonly options: NatsSinkOptions,
    private readonly log: Logger,
  ) {
    this.running = this.stayConnected();
  }

  get subjects(): string {
    return `${this.options.subjectPrefix}.>`;
  }

  subjectOf(type: string): string {
    return `${this.options.subjectPrefix}.${type}`;
  }

  async send(message: SinkMessage, signal: AbortSignal): Promise<void> {
    const { nc, js } = this;
    if (!nc || !js || nc.isClosed() || this.state !== 'connected') {
      throw new SinkUnavailableError(`not connected to NATS at ${this.options.url} (${this.state})`);
    }
    signal.throwIfAborted();
    try {
      this.stream ??= this.ensureStream(nc);
      await this.stream;
      await js.publish(this.subjectOf(message.type), message.payload, { msgID: message.id, timeout: this.options.timeoutMs, ...(message.trace === undefined ? {} : { headers: traceHeaders(message.trace) }) });
    } catch (error) {
      // Check the stream again before the next publish: the server may have lost it.
      this.stream = undefined;
      // A JetStream API error is the server refusing this message; anything else (time-out, no
      // responders, a dropped connection) says the broker cannot take messages now.
      if (error instanceof JetStreamApiError) throw error;
      throw new SinkUnavailableError(`NATS did not acknowledge: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  connection(): string {
    return this.state;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.nc?.close().catch(() => undefined);
    await this.running;
  }

  private async stayConnected(): Promise<void> {
    let warned = false;
    while (!this.closed) {
      let nc: NatsConnection;
      try {
        nc = await connect({
          servers: this.options.url,
          name: 'order-engine outbox',
          maxReconnectAttempts: -1,
          reconnectTimeWait: RECONNECT_WAIT_MS,
          timeout: 5000,
          // Each publish would otherwise build two Error objects for their stack traces: a tenth of the relay's CPU.
          noAsyncTraces: true,
        });
      } catch (error) {
        if (!warned) this.log.warn({ err: error, url: this.options.url }, 'NATS unreachable: outbox events wait in the outbox table; retrying every second');
        warned = true;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, RECONNECT_WAIT_MS).unref();
        });
        continue;
      }
      if (this.closed) {
        await nc.close();
        return;
      }
      warned = false;
      this.nc = nc;
      this.js = jetstream(nc, { timeout: this.options.timeoutMs });
      this.state = 'connected';
      this.log.info({ url: this.options.url, stream: this.options.stream, subjects: this.subjects }, 'outbox connected to NATS');
      void this.follow(nc);
      const ended = await nc.closed();
      this.nc = undefined;
      this.js = undefined;
      this.stream = undefined;
      this.state = 'connecting';
      if (!this.closed) this.log.warn({ err: ended }, 'NATS connection closed; connecting again');
    }
  }

  private async follow(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        this.state = 'reconnecting';
        this.log.warn({ server: status.server }, 'NATS disconnected; the client reconnects');
      } else if (status.type === 'reconnect') {
        this.state = 'connected';
        this.log.info({ server: status.server }, 'NATS reconnected');
      }
    }
  }

  /** Creates the stream, or makes an existing one capture `<prefix>.>` too. */
  private async ensureStream(nc: NatsConnection): Promise<void> {
    const jsm = await jetstreamManager(nc, { timeout: this.options.timeoutMs });
    const { stream } = this.options;
    try {
      const info = await jsm.streams.info(stream);
      const subjects = info.config.subjects ?? [];
      if (!subjects.includes(this.subjects)) {
        await jsm.streams.update(stream, { subjects: [...subjects, this.subjects] });
        this.log.info({ stream, subjects: this.subjects }, 'added the outbox subjects to the existing stream');
      }
    } catch (error) {
      if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.StreamNotFound) throw error;
      await jsm.streams.add({ name: stream, subjects: [this.subjects], storage: StorageType.File, duplicate_window: nanos(DUPLICATE_WINDOW_MS) });
      this.log.info({ stream, subjects: this.subjects }, 'created the outbox stream');
    }
  }
}
