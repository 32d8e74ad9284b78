// The one-writer lock on PostgreSQL: a session-level advisory lock on a connection of its own, the holder named in its application_name.

import postgres from 'postgres';
import { LOCK_CHECK_MS, type LockOutcome, type SoleWriterLock } from '../sole-writer-lock.js';

/** Advisory locks are per database, so one constant key serves every database on a server. */
const KEY = 0x6f65_0001;

/** `shared`: a cluster's members hold the lock together (`pg_try_advisory_lock_shared`), and exclude a process alone. */
export function postgresSoleWriterLock(url: string, shared = false): SoleWriterLock {
  let sql: postgres.Sql | undefined;
  let timer: NodeJS.Timeout | undefined;
  let holder = '';
  let lost: (holder: string | undefined) => void = () => undefined;

  const open = () =>
    postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5, idle_timeout: 0, max_lifetime: null, connection: { application_name: `order-engine ${holder}`.slice(0, 63) } });

  const holderName = async (client: postgres.Sql): Promise<string | undefined> => {
    const [row] = await client<{ name: string }[]>`
      select substr(a.application_name, length('order-engine ') + 1) as name
      from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted and l.objid = ${KEY} and l.database = (select oid from pg_database where datname = current_database())`;
    return row?.name || undefined;
  };

  const tryLock = async (client: postgres.Sql): Promise<boolean> =>
    (shared
      ? await client<{ ok: boolean }[]>`select pg_try_advisory_lock_shared(${KEY}) as ok`
      : await client<{ ok: boolean }[]>`select pg_try_advisory_lock(${KEY}) as ok`)[0]?.ok === true;

  const check = async () => {
    if (!sql) return;
    try {
      const [row] = await sql<{ held: boolean }[]>`select exists (select 1 from pg_locks where locktype = 'advisory' and objid = ${KEY} and pid = pg_backend_pid() and granted) as held`;
      if (row?.held || (await tryLock(sql))) return;
      lost(await holderName(sql));
    } catch {
      // The database is away; the next check looks again.
    }
  };

  return {
    async acquire(name) {
      holder = name;
      sql = open();
      if (await tryLock(sql)) {
        timer = setInterval(() => void check(), LOCK_CHECK_MS);
        timer.unref();
        return { ok: true };
      }
      const outcome: LockOutcome = { ok: false, holder: await holderName(sql) };
      await sql.end({ timeout: 1 });
      sql = undefined;
      return outcome;
    },
    // The session's application_name already names the holder.
    async recordHolder() {},
    onLost(listener) {
      lost = listener;
    },
    async release() {
      clearInterval(timer);
      // Ending the session frees a session-level lock.
      await sql?.end({ timeout: 1 });
      sql = undefined;
    },
  };
}
