// Keeps a postgres.js pool from killing the process when a reserved connection's socket has closed.

import type postgres from 'postgres';
import { connectionLost } from '../unavailable.js';

/**
 * postgres.js 3.4.9 throws from a timer, past every catch, when a reserved connection whose
 * socket has closed is written to or released (porsager/postgres#1208): the whole engine would
 * die the moment PostgreSQL goes away. Kysely's dialect reserves a connection per query and
 * always releases it. So every reservation is guarded: once a query on it failed because the
 * connection is gone, it takes no more queries and is not released (the driver has already
 * moved it among its closed connections and reconnects it on demand).
 */
export function guardReservations(client: postgres.Sql): void {
  const reserve = client.reserve;
  client.reserve = async () => {
    const reserved = await reserve();
    const { unsafe, release } = reserved;
    let lost: unknown;
    reserved.unsafe = ((...args: Parameters<typeof unsafe>) => {
      if (lost !== undefined) return Promise.reject(lost);
      const query = unsafe(...args);
      query.catch((error: unknown) => {
        if (connectionLost(error)) lost ??= error;
      });
      return query;
    }) as typeof unsafe;
    reserved.release = () => {
      if (lost === undefined) release();
    };
    return reserved;
  };
}
