// The socket postgres.js connects through: roomy enough that a journal batch never stops its pipelining.

import { Socket, type SocketConstructorOpts } from 'node:net';

/** Bytes a PostgreSQL connection may hold unsent before a write reports backpressure. */
const WRITE_BUFFER = 64 * 1024 * 1024;

/**
 * A connection whose writes report backpressure only past WRITE_BUFFER, not Node's 16 KiB.
 * postgres.js stops pipelining on a connection the moment a write reports backpressure and
 * then sends the statements still queued one round trip at a time; a journal batch (often
 * 100 KiB or more) written while PostgreSQL is still busy with the one before would do that,
 * and PostgreSQL would sit idle in the transaction between its statements. What is unsent is
 * bounded by the batches in flight. Connects to the URL's first host.
 *
 * The socket is handed over while it connects (writes wait for the connection): a refused or
 * timed-out connection then fails through postgres.js's own error, close and reconnect
 * handling, exactly as with the socket it makes itself.
 *
 * ```ts
 * const client = postgres(url, { ...({ socket: postgresSocket } as object) });
 * ```
 */
export function postgresSocket(options: { host: string[]; port: number[]; path?: string }): Socket {
  // Node's Duplex option; @types/node leaves it out of the socket constructor's options.
  const socket = new Socket({ writableHighWaterMark: WRITE_BUFFER } as SocketConstructorOpts);
  if (options.path) socket.connect(options.path);
  else socket.connect(options.port[0] ?? 5432, options.host[0] ?? 'localhost');
  return socket;
}
