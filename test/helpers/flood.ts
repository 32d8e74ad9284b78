// Floods an HTTP server: every request written at once, pipelined over a few keep-alive connections, and every answer read back.

import { connect } from 'node:net';

export interface FloodRequest {
  readonly method: string;
  readonly path: string;
  readonly body?: string;
}

export interface FloodAnswer {
  readonly status: number;
  /** The `error` field of a JSON error body. */
  readonly code: string | undefined;
}

/**
 * Sends `total` requests spread over `connections` sockets, all written before any answer is
 * read, so the server sees the whole flood at once. Answers come back in order per connection;
 * a request whose connection closed before its answer counts as status 0.
 */
export async function flood(url: string, total: number, connections: number, request: (i: number) => FloodRequest): Promise<FloodAnswer[]> {
  const { hostname, port } = new URL(url);
  const answers: FloodAnswer[] = new Array(total);
  await Promise.all(
    Array.from({ length: connections }, (_, c) => {
      const mine: number[] = [];
      for (let i = c; i < total; i += connections) mine.push(i);
      return new Promise<void>((resolve) => {
        const socket = connect(Number(port), hostname);
        let buffer: Buffer = Buffer.alloc(0);
        let next = 0;
        const finish = () => {
          for (; next < mine.length; next++) answers[mine[next] as number] = { status: 0, code: undefined };
          socket.destroy();
          resolve();
        };
        socket.on('connect', () => {
          const text = mine
            .map((i) => {
              const r = request(i);
              const body = r.body ?? '';
              const type = r.body === undefined ? '' : 'content-type: application/json\r\n';
              return `${r.method} ${r.path} HTTP/1.1\r\nhost: ${hostname}\r\n${type}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
            })
            .join('');
          socket.write(text);
        });
        socket.on('data', (chunk: Buffer) => {
          buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
          for (;;) {
            const end = buffer.indexOf('\r\n\r\n');
            if (end < 0) break;
            const head = buffer.subarray(0, end).toString('latin1');
            const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
            if (buffer.length < end + 4 + length) break;
            const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
            buffer = buffer.subarray(end + 4 + length);
            let code: string | undefined;
            try {
              code = (JSON.parse(body) as { error?: string }).error;
            } catch {
              code = undefined;
            }
            answers[mine[next++] as number] = { status: Number(head.slice(9, 12)), code };
            if (next === mine.length) return finish();
          }
        });
        socket.on('error', finish);
        socket.on('close', finish);
      });
    }),
  );
  return answers;
}
