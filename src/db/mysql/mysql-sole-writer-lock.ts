// The one-writer lock on MySQL and MariaDB: named locks (GET_LOCK) on a connection of its own, one for a process alone, one each for a cluster's members, the holders in rows beside them.

import { setTimeout as sleep } from 'node:timers/promises';
import { createConnection, type Connection } from 'mysql2/promise';
import { LOCK_CHECK_MS, type LockOutcome, type SoleWriterLock } from '../sole-writer-lock.js';
import { MEMBER_LOCKS, mysqlLockNames, type MysqlLockNames } from './mysql-lock-names.js';

/** How long a starting process waits for another to finish taking its name (a few statements, or the grace below). */
const GATE_WAIT_S = 10;
/** The server may not yet have noticed that a holder which just died is gone (GET_LOCK waits whole seconds). */
const GRACE_MS = 3000;
const GRACE_POLL_MS = 100;

/** `engine_holder`'s row naming a process alone; member lock i is named in row `FIRST_MEMBER_ROW + i`. */
const ALONE_ROW = 1;
const FIRST_MEMBER_ROW = 2;

interface Held {
  readonly name: string;
  readonly row: number;
}

/**
 * `shared`: a cluster member, which shares the database with other members and excludes a
 * process alone, as on PostgreSQL. GET_LOCK has no shared mode, so the lock is several names
 * (`mysqlLockNames`; one session may hold many since MySQL 5.7 and MariaDB 10.0): a process
 * alone holds `alone`, each member one of `MEMBER_LOCKS` member names. Each side takes its own
 * name before it looks at the other's (IS_USED_LOCK), so of two processes starting at once the
 * one that looks second sees the first, whatever the timing. The gate, held only while a
 * process takes and looks, makes them take turns, so that one of the two starts instead of both
 * refusing. A bounded set of member names rather than one per member listed in a table: the
 * lock is taken before the migrations, when the database may have no tables yet, and a process
 * alone checks the whole set in one statement. The holder of each name is written in
 * `engine_holder` so that a process refused can name it. `timing`: how long a holder seen is
 * given to turn out gone before the process is refused, and how often the holder checks that its
 * connection still holds its name.
 *
 * ```ts
 * const outcome = await mysqlSoleWriterLock('mysql://root@localhost/orders', true).acquire('cluster member m1, …');
 * ```
 */
export function mysqlSoleWriterLock(url: string, shared = false, timing: { graceMs?: number; checkMs?: number } = {}): SoleWriterLock {
  const { graceMs = GRACE_MS, checkMs = LOCK_CHECK_MS } = timing;
  let connection: Connection | undefined;
  let names: MysqlLockNames | undefined;
  let held: Held | undefined;
  let timer: NodeJS.Timeout | undefined;
  let checking: Promise<void> | undefined;
  let holder = '';
  let lost: (holder: string | undefined) => void = () => undefined;
  let recorded = false;

  const open = async (): Promise<Connection> => {
    const c = await createConnection({ uri: url.replace(/^mariadb:/, 'mysql:'), connectTimeout: 5000 });
    // A connection that breaks while idle is noticed by the next check, not by an unheard error event.
    c.on('error', () => undefined);
    if (!names) {
      const [rows] = await c.query({ sql: 'select database()', rowsAsArray: true });
      names = mysqlLockNames(String((rows as unknown[][])[0]?.[0] ?? ''));
    }
    return c;
  };

  const getLock = async (c: Connection, name: string, waitS: number): Promise<boolean> => {
    const [rows] = await c.query({ sql: 'select get_lock(?, ?)', rowsAsArray: true }, [name, waitS]);
    return Number((rows as unknown[][])[0]?.[0]) === 1;
  };

  const releaseLock = (c: Connection, name: string) => c.query('select release_lock(?)', [name]);

  const holds = async (c: Connection, name: string): Promise<boolean> => {
    const [rows] = await c.query({ sql: 'select is_used_lock(?) = connection_id()', rowsAsArray: true }, [name]);
    return Number((rows as unknown[][])[0]?.[0]) === 1;
  };

  /** The index of the first of `candidates` another session holds once the grace has passed, or undefined when none is held. */
  const firstHeld = async (c: Connection, candidates: readonly string[]): Promise<number | undefined> => {
    const deadline = Date.now() + graceMs;
    for (;;) {
      const [rows] = await c.query({ sql: `select ${candidates.map(() => 'is_used_lock(?)').join(', ')}`, rowsAsArray: true }, [...candidates]);
      const index = ((rows as unknown[][])[0] ?? []).findIndex((id) => id !== null);
      if (index < 0) return undefined;
      if (Date.now() >= deadline) return index;
      await sleep(GRACE_POLL_MS);
    }
  };

  const holderIn = async (c: Connection, row: number): Promise<string | undefined> => {
    const [rows] = await c.query('select holder from engine_holder where id = ?', [row]).catch(() => [[]]);
    return (rows as Array<{ holder: string }>)[0]?.holder;
  };

  // Best effort: on a database's first start the table comes with the migrations, after the lock.
  const record = async (c: Connection) => {
    if (!held) return;
    try {
      await c.query('replace into engine_holder (id, holder, since) values (?, ?, ?)', [held.row, holder, Date.now()]);
      recorded = true;
    } catch {
      recorded = false;
    }
  };

  const takeAlone = async (c: Connection, n: MysqlLockNames): Promise<LockOutcome> => {
    if (!(await getLock(c, n.alone, Math.ceil(graceMs / 1000)))) return { ok: false, holder: await holderIn(c, ALONE_ROW) };
    const member = await firstHeld(c, n.members);
    if (member === undefined) {
      held = { name: n.alone, row: ALONE_ROW };
      return { ok: true };
    }
    await releaseLock(c, n.alone);
    return { ok: false, holder: await holderIn(c, FIRST_MEMBER_ROW + member) };
  };

  const takeMember = async (c: Connection, n: MysqlLockNames): Promise<LockOutcome> => {
    // The name held before a reconnect first, so that its row goes on naming this process.
    const start = held ? held.row - FIRST_MEMBER_ROW : 0;
    let taken: number | undefined;
    for (let k = 0; k < MEMBER_LOCKS && taken === undefined; k++) {
      const i = (start + k) % MEMBER_LOCKS;
      if (await getLock(c, n.members[i]!, 0)) taken = i;
    }
    if (taken === undefined) throw new Error(`all ${MEMBER_LOCKS} member locks of this database are held: a cluster on MySQL has at most ${MEMBER_LOCKS} members`);
    if ((await firstHeld(c, [n.alone])) !== undefined) {
      await releaseLock(c, n.members[taken]!);
      return { ok: false, holder: await holderIn(c, ALONE_ROW) };
    }
    held = { name: n.members[taken]!, row: FIRST_MEMBER_ROW + taken };
    return { ok: true };
  };

  const take = async (c: Connection): Promise<LockOutcome> => {
    const n = names!;
    if (!(await getLock(c, n.gate, GATE_WAIT_S))) throw new Error(`${n.gate} has been held for over ${GATE_WAIT_S} s by another engine process`);
    try {
      const outcome = shared ? await takeMember(c, n) : await takeAlone(c, n);
      // Before the gate opens, so that a process refused next reads this holder.
      if (outcome.ok) await record(c);
      return outcome;
    } finally {
      await releaseLock(c, n.gate);
    }
  };

  const check = async () => {
    try {
      connection ??= await open();
      if (held && (await holds(connection, held.name))) return recorded ? undefined : record(connection);
      const outcome = await take(connection);
      if (!outcome.ok) lost(outcome.holder);
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
      const outcome = await take(c).catch((error: unknown) => {
        c.destroy();
        throw error;
      });
      if (!outcome.ok) {
        await c.end();
        return outcome;
      }
      connection = c;
      timer = setInterval(() => {
        // A take can outlast the interval (the gate, the grace): one check at a time on the connection.
        checking ??= check().finally(() => (checking = undefined));
      }, checkMs);
      timer.unref();
      return { ok: true };
    },
    async recordHolder() {
      if (connection && !recorded) await record(connection);
    },
    onLost(listener) {
      lost = listener;
    },
    async release() {
      clearInterval(timer);
      await checking;
      // Closing the connection frees every name it holds.
      await connection?.end().catch(() => undefined);
      connection = undefined;
    },
  };
}
