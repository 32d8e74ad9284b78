// A small keep-alive JSON client and a bounded parallel map, for seeding and checks (not for load).

import { Agent, request } from 'node:http';

export interface JsonAnswer<T = unknown> {
  readonly status: number;
  readonly body: T;
}

export class JsonClient {
  private readonly agent: Agent;
  private readonly base: URL;

  constructor(baseUrl: string, maxSockets = 64) {
    this.base = new URL(baseUrl);
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  /** Sends one request; a non-JSON body comes back as the raw text. */
  send<T = unknown>(method: string, path: string, body?: unknown): Promise<JsonAnswer<T>> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent: this.agent,
          hostname: this.base.hostname,
          port: this.base.port,
          path,
          method,
          headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text.length > 0 ? JSON.parse(text) : undefined;
            } catch {
              // Keep the text: the caller reports it.
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Like `send`, but throws unless the status is the expected one. */
  async expect<T>(status: number, method: string, path: string, body?: unknown): Promise<T> {
    const answer = await this.send<T>(method, path, body);
    if (answer.status !== status) {
      throw new Error(`${method} ${path} answered ${answer.status} (expected ${status}): ${JSON.stringify(answer.body).slice(0, 300)}`);
    }
    return answer.body;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Maps `items` through `work` with at most `limit` calls in flight, keeping the order. */
export async function parallelMap<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
