// The data platform's webhook: each event POSTed as JSON with its id as Idempotency-Key; a 2xx answer means delivered.

import type { Sink, SinkMessage } from './sink.js';

/**
 * POSTs every event to one URL. Anything but a 2xx answer (or no answer before the signal
 * fires) is a failed attempt, retried by the relay under the same `Idempotency-Key`.
 */
export class WebhookSink implements Sink {
  readonly name = 'webhook';

  constructor(private readonly url: string) {}

  async send(message: SinkMessage, signal: AbortSignal): Promise<void> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': message.id, 'x-event-type': message.type },
      body: message.payload,
      signal,
    });
    // Read the answer to the end, so that its connection goes back to the pool.
    const text = await response.text().catch(() => '');
    if (!response.ok) throw new Error(`HTTP ${response.status} from the webhook${text ? `: ${text.slice(0, 200)}` : ''}`);
  }

  connection(): string {
    return 'http';
  }

  async close(): Promise<void> {}
}
