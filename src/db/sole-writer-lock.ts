// The database's one-writer lock: without a cluster, one engine process serves a database, and a second one refuses to start; a cluster's members share it.

export type LockOutcome = { readonly ok: true } | { readonly ok: false; readonly holder: string | undefined };

/**
 * Held on a connection of its own for the life of the process: a PostgreSQL session-level
 * advisory lock, or named locks (`GET_LOCK`) on MySQL; shared by a cluster's members, exclusive
 * for a process alone. The database drops it with the connection, so a process that dies frees
 * it at once; the holder checks it every few seconds and takes it again after a reconnect.
 *
 * ```ts
 * const outcome = await lock.acquire('web-1 pid 4242');
 * if (!outcome.ok) console.error(`held by ${outcome.holder}`);
 * ```
 */
export interface SoleWriterLock {
  /** Takes the lock and records `holder` beside it; answers who holds it when another process does. */
  acquire(holder: string): Promise<LockOutcome>;
  /** Records the holder where other processes can read it, once the migrations have made room for it. */
  recordHolder(): Promise<void>;
  /** Called when the lock was lost (a reconnect) and another process has taken it meanwhile. */
  onLost(listener: (holder: string | undefined) => void): void;
  release(): Promise<void>;
}

/** How often the holder checks that its connection still holds the lock. */
export const LOCK_CHECK_MS = 5000;
