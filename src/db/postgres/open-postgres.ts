// PostgreSQL through postgres.js: the journal's pool with pipelined batches, and a pool apart for reads.

import { PostgresJSDialect } from 'kysely-postgres-js';
import postgres from 'postgres';
import { int8AsNumber } from '../int8-as-number.js';
import type { OpenedDialect } from '../opened-dialect.js';
import { guardReservations } from './guard-reservations.js';
import { PipelinedReadDialect } from './pipelined-read-dialect.js';
import { postgresPipeline } from './postgres-pipeline.js';
import { postgresSocket } from './postgres-socket.js';
import { postgresSoleWriterLock } from './postgres-sole-writer-lock.js';

/** Seconds that queries still running at close get before their connections are cut. */
const CLOSE_TIMEOUT_S = 5;

/**
 * Opens `poolSize` connections for the journal and everything else, and `readPoolSize` more for
 * `Database.reads` (none: reads share the first pool).
 *
 * ```ts
 * const opened = openPostgres('postgres://localhost/orders', { poolSize: 8, readPoolSize: 4 });
 * ```
 */
export function openPostgres(url: string, { poolSize, readPoolSize, idleInTransactionMs }: { poolSize: number; readPoolSize: number; idleInTransactionMs?: number | undefined }): OpenedDialect {
  const open = (max: number) =>
    postgres(url, {
      max,
      ...(idleInTransactionMs ? { connection: { idle_in_transaction_session_timeout: idleInTransactionMs } } : {}),
      onnotice: () => {},
      connect_timeout: 5,
      // Reconnect at once rather than after postgres.js's growing back-off (up to 20 s): while the
      // server is away a query then fails in milliseconds (503) instead of waiting, and the first
      // query after it is back gets through.
      backoff: () => 0,
      types: { int8: { to: int8AsNumber.oid, from: [int8AsNumber.oid], serialize: (v: number) => String(v), parse: int8AsNumber.parse } },
      // Documented ("Custom socket") but missing from postgres.js's types.
      ...({ socket: postgresSocket } as object),
    });
  const client = open(poolSize);
  guardReservations(client);
  // A pool apart: the journal reserves connections of `client` for its batches, and a
  // reservation waits for a connection with nothing in flight, which pipelined reads on the
  // same pool would seldom leave.
  const readClient = readPoolSize > 0 ? open(readPoolSize) : undefined;
  const pipeline = postgresPipeline(client);
  return {
    dialect: new PostgresJSDialect({ postgres: client }),
    traits: { dialect: 'postgres', documentType: 'text', arrayParameters: true, upsert: 'on-conflict', jsonAgg: true },
    transact: pipeline.run,
    transactInOrder: pipeline.runInOrder,
    end: async () => {
      await Promise.all([client.end({ timeout: CLOSE_TIMEOUT_S }), readClient?.end({ timeout: CLOSE_TIMEOUT_S })]);
    },
    ...(readClient ? { readDialect: new PipelinedReadDialect(readClient) } : {}),
    soleWriterLock: (shared) => postgresSoleWriterLock(url, shared),
  };
}
