// A real local HTTP receiver for the webhook sink: records every call and answers as the test says (2xx, 500, never).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedCall {
  readonly key: string;
  readonly body: any;
  readonly answered: number | 'hang';
  /** The W3C trace context the call carried, if any. */
  readonly traceparent: string | undefined;
}

/** What the receiver does with a call: answer with a status (now or after a while), or hold it until the caller gives up. */
export type Behaviour = (call: { key: string; body: any; nth: number }) => number | 'hang' | { readonly status: number; readonly afterMs: number };

export interface WebhookReceiver {
  readonly url: string;
  readonly calls: ReceivedCall[];
  /** Keys that got a 2xx answer. */
  readonly accepted: Set<string>;
  behave(behaviour: Behaviour): void;
  /** Stops listening (connections refused) until `up`. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function webhookReceiver(behaviour: Behaviour = () => 200): Promise<WebhookReceiver> {
  let current = behaviour;
  const calls: ReceivedCall[] = [];
  const accepted = new Set<string>();
  const held = new Set<ServerResponse>();
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const key = String(req.headers['idempotency-key'] ?? '');
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      const behaviour = current({ key, body, nth: calls.length });
      const answer = typeof behaviour === 'object' ? behaviour.status : behaviour;
      const traceparent = req.headers.traceparent;
      const record = { key, body, answered: answer, traceparent: typeof traceparent === 'string' ? traceparent : undefined };
      calls.push(record);
      if (answer === 'hang') {
        held.add(res);
        res.on('close', () => held.delete(res));
        return;
      }
      const reply = () => {
        if (res.destroyed) return;
        if (answer >= 200 && answer < 300) accepted.add(key);
        res.writeHead(answer, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: answer < 300 }));
      };
      if (typeof behaviour === 'object') {
        held.add(res);
        setTimeout(() => {
          held.delete(res);
          reply();
        }, behaviour.afterMs);
      } else {
        reply();
      }
    });
  };
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer(handle);
      s.keepAliveTimeout = 1000;
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as AddressInfo).port;
        server = s;
        resolve();
      });
    });
  const stop = async () => {
    const s = server;
    if (!s) return;
    server = undefined;
    for (const res of held) res.destroy();
    held.clear();
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return {
    url: `http://127.0.0.1:${port}/events`,
    calls,
    accepted,
    behave: (b) => {
      current = b;
    },
    down: stop,
    up: listen,
    close: stop,
  };
}
