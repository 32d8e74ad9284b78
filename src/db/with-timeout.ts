// Bounds how long a caller waits for the database, so that a silent network costs a known time.

import { DatabaseTimeoutError } from './database-timeout-error.js';

/**
 * Resolves or rejects like `work`, or rejects with DatabaseTimeoutError after `ms`. The work goes
 * on in the background (a query cannot be taken back), and its late failure is swallowed.
 *
 * ```ts
 * await withTimeout(sql`select 1`.execute(db), 2000, 'ping');
 * ```
 */
export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseTimeoutError(`${what} did not finish within ${ms} ms`)), ms);
  });
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
