// A TCP proxy in front of a database that can freeze like a network partition: bytes are held, not lost, and flow again on thaw.

import { createServer, connect, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** The URL with its host and port replaced by the proxy's. */
  via(url: string): string;
  /** Holds every byte in both directions; new connections are accepted but go nowhere. */
  freeze(): void;
  /** Delivers what was held, in order, and forwards again. */
  thaw(): void;
  close(): Promise<void>;
}

interface Pipe {
  readonly client: Socket;
  upstream: Socket | undefined;
  readonly toUpstream: Buffer[];
  readonly toClient: Buffer[];
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let frozen = false;
  const pipes = new Set<Pipe>();

  const open = (pipe: Pipe) => {
    const upstream = connect(targetPort, targetHost);
    pipe.upstream = upstream;
    upstream.on('data', (chunk: Buffer) => (frozen ? pipe.toClient.push(chunk) : pipe.client.write(chunk)));
    upstream.on('error', () => pipe.client.destroy());
    upstream.on('close', () => pipe.client.destroy());
    flush(pipe);
  };
  const flush = (pipe: Pipe) => {
    if (!pipe.upstream) return open(pipe);
    for (const chunk of pipe.toUpstream.splice(0)) pipe.upstream.write(chunk);
    for (const chunk of pipe.toClient.splice(0)) pipe.client.write(chunk);
  };

  const server = createServer((client) => {
    const pipe: Pipe = { client, upstream: undefined, toUpstream: [], toClient: [] };
    pipes.add(pipe);
    client.on('data', (chunk: Buffer) => (frozen || !pipe.upstream ? pipe.toUpstream.push(chunk) : pipe.upstream.write(chunk)));
    client.on('error', () => pipe.upstream?.destroy());
    client.on('close', () => {
      pipe.upstream?.destroy();
      pipes.delete(pipe);
    });
    if (!frozen) open(pipe);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('proxy has no port');
  return {
    port: address.port,
    via(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(address.port);
      return u.toString();
    },
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
      for (const pipe of pipes) flush(pipe);
    },
    async close() {
      for (const pipe of pipes) {
        pipe.client.destroy();
        pipe.upstream?.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
