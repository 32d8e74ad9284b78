// With neither NATS nor a webhook configured, committed events go to the log, one JSON line each.

import type { Logger } from 'pino';
import type { Sink, SinkMessage } from './sink.js';

/**
 * Writes each event to the log at info level (`msg: "outbox event"`). It is not behind the relay:
 * there is nothing to retry, so no outbox row is written for it and the event is logged when its
 * batch commits. A crash between the commit and the log line loses the line, nothing else.
 */
export class LogSink implements Sink {
  readonly name = 'log';

  constructor(private readonly log: Logger) {}

  /** False when the log level drops info lines: then the engine skips the work altogether. */
  get enabled(): boolean {
    return this.log.isLevelEnabled('info');
  }

  async send(message: SinkMessage): Promise<void> {
    this.write(message);
  }

  write(message: SinkMessage): void {
    this.log.info({ eventId: message.id, eventType: message.type, event: JSON.parse(message.payload) as unknown }, 'outbox event');
  }

  connection(): string {
    return 'log';
  }

  async close(): Promise<void> {}
}
