// The one-writer lock on MySQL and MariaDB: GET_LOCK on a connection of its own, named after the database, the holder in a row beside it.

import { createConnection, type Connection } from 'mysql2/promise';
import { LOCK_CHECK_MS, type LockOutcome, type SoleWriterLock } from '../sole-writer-lock.js';

export function mysqlSoleWriterLock(url: string): SoleWriterLock {
  let connection: Connection | undefined;
  let timer: NodeJS.Timeout | undefined;
  let holder = '';
  let lost: (holder: string | undefined) => void = () => undefined;
  let recorded = false;

  const open = () => createConnection({ uri: url.replace(/^mariadb:/, 'mysql:'), connectTimeout: 5000 });
  // GET_LOCK names are server-wide: the database's name keeps two databases on one server apart.
  const lockName = 'concat(\'order-engine:\', database())';

  // A few seconds' grace: the server may not yet have noticed that a holder which just died is gone.
  const tryLock = async (c: Connection, waitS = 0): Promise<boolean> => {
    const [rows] = await c.query(`select get_lock(${lockName}, ${waitS}) as ok`);
    return Number((rows as Array<{ ok: number | null }>)[0]?.ok) === 1;
  };

  const holderName = async (c: Connection): Promise<string | undefined> => {
    const [rows] = await c.query('select holder from engine_holder where id = 1').catch(() => [[]]);
    return (rows as Array<{ holder: string }>)[0]?.holder;
  };

  // Best effort: on a database's first start the table comes with the migrations, after the lock.
  const record = async (c: Connection) => {
    try {
      await c.query('replace into engine_holder (id, holder, since) values (1, ?, ?)', [holder, Date.now()]);
      recorded = true;
    } catch {
      recorded = false;
    }
  };

  const check = async () => {
    try {
      connection ??= await open();
      const [rows] = await connection.query(`select is_used_lock(${lockName}) = connection_id() as held`);
      if (Number((rows as Array<{ held: number | null }>)[0]?.held) === 1) return recorded ? undefined : record(connection);
      if (await tryLock(connection)) return record(connection);
      lost(await holderName(connection));
    } catch {
      // The connection broke (and with it the lock): the next check opens another and takes it again.
      connection?.destroy();
      connection = undefined;
    }
  };

  return {
    async acquire(name) {
      holder = name;
      const c = await open();
      if (await tryLock(c, 3)) {
        connection = c;
        await record(c);
        timer = setInterval(() => void check(), LOCK_CHECK_MS);
        timer.unref();
        return { ok: true };
      }
      const outcome: LockOutcome = { ok: false, holder: await holderName(c) };
      await c.end();
      return outcome;
    },
    async recordHolder() {
      if (connection && !recorded) await record(connection);
    },
    onLost(listener) {
      lost = listener;
    },
    async release() {
      clearInterval(timer);
      // Closing the connection frees the lock.
      await connection?.end().catch(() => undefined);
      connection = undefined;
    },
  };
}
