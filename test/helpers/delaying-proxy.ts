// A TCP proxy in front of a server that can hold back what the server answers: acknowledgements arrive late, the client retries.

import { createServer, connect as connectTcp, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Milliseconds by which every byte from the server to the client is held back; 0 passes them at once. */
  delayMs: number;
  close(): Promise<void>;
}

export async function tcpProxy(host: string, port: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const proxy = { delayMs: 0 } as { delayMs: number };
  const server: Server = createServer((client) => {
    const upstream = connectTcp(port, host);
    sockets.add(client).add(upstream);
    // Bytes keep their order: each chunk leaves no earlier than the one before it.
    let lastDue = 0;
    upstream.on('data', (chunk: Buffer) => {
      const due = Math.max(Date.now() + proxy.delayMs, lastDue);
      lastDue = due;
      const wait = due - Date.now();
      if (wait <= 0) client.write(chunk);
      else setTimeout(() => client.destroyed || client.write(chunk), wait);
    });
    client.pipe(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(proxy, {
    port: (server.address() as AddressInfo).port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
