// The data platform's webhook: each event POSTed as JSON with its id as Idempotency-Key (and its trace as traceparent); a 2xx answer means delivered.

import { SinkUnavailableError, type Sink, type SinkMessage } from './sink.js';

/** Answers that say "not now" rather than "not this event". */
const UNAVAILABLE = new Set([408, 429, 502, 503, 504]);

/**
 * POSTs every event to one URL. Anything but a 2xx answer within `timeoutMs` is a failed
 * attempt, retried by the relay under the same `Idempotency-Key`.
 */
export class WebhookSink implements Sink {
  readonly name = 'webhook';

  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  async send(message: SinkMessage, stop: AbortSignal): Promise<void> {
    // One controller for the deadline and the relay's stop, both let go of when the call ends.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    const onStop = () => controller.abort();
    stop.addEventListener('abort', onStop, { once: true });
    const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': message.id, 'x-event-type': message.type };
    if (message.trace !== undefined) headers.traceparent = message.trace;
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers,
        body: message.payload,
        signal: controller.signal,
      });
      // Read the answer to the end, so that its connection goes back to the pool.
      text = await response.text();
    } catch (error) {
      if (timedOut) throw new SinkUnavailableError(`the webhook did not answer within ${this.timeoutMs} ms`, { cause: error });
      if (stop.aborted) throw error;
      throw new SinkUnavailableError(`the webhook did not answer: ${error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
      stop.removeEventListener('abort', onStop);
    }
    if (response.ok) return;
    const problem = `HTTP ${response.status} from the webhook${text ? `: ${text.slice(0, 200)}` : ''}`;
    throw UNAVAILABLE.has(response.status) ? new SinkUnavailableError(problem) : new Error(problem);
  }

  connection(): string {
    return 'http';
  }

  async close(): Promise<void> {}
}
