// The GET_LOCK names of one database's one-writer lock: a process alone's, a cluster member's, and the gate before them.

import { createHash } from 'node:crypto';

/** MySQL refuses a lock name longer than this (ER_USER_LOCK_WRONG_NAME); MariaDB takes longer ones. */
export const MAX_LOCK_NAME = 64;

/** How many members one database's cluster can have on MySQL: each holds a name of its own. */
export const MEMBER_LOCKS = 64;

export interface MysqlLockNames {
  /** Held for a moment while a process takes its name and looks at the others'. */
  readonly gate: string;
  /** A process alone's. */
  readonly alone: string;
  /** One per cluster member, `MEMBER_LOCKS` of them. */
  readonly members: readonly string[];
}

const PREFIX = 'order-engine:';
const LONGEST_SUFFIX = Math.max(':gate'.length, `:m${MEMBER_LOCKS - 1}`.length);

/**
 * GET_LOCK names are server-wide, so each carries the database's name; a name too long to fit
 * beside the longest suffix is replaced by its MD5 (`#` + 32 hex digits), which always fits.
 * A process alone's name is the bare `order-engine:<database>` that every earlier version held,
 * so an earlier process alone and this one still keep each other off a database.
 *
 * ```ts
 * mysqlLockNames('orders').members[3]; // 'order-engine:orders:m3'
 * ```
 */
export function mysqlLockNames(database: string): MysqlLockNames {
  const fits = PREFIX.length + [...database].length + LONGEST_SUFFIX <= MAX_LOCK_NAME;
  const alone = PREFIX + (fits ? database : `#${createHash('md5').update(database).digest('hex')}`);
  return {
    gate: `${alone}:gate`,
    alone,
    members: Array.from({ length: MEMBER_LOCKS }, (_, i) => `${alone}:m${i}`),
  };
}
