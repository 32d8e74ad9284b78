// What a dialect folder hands connect.ts when it opens: the Kysely dialect and what sets the database apart.

import type { CompiledQuery, Dialect } from 'kysely';
import type { DialectTraits } from './dialect-traits.js';
import type { SoleWriterLock } from './sole-writer-lock.js';

/**
 * One transaction of a sequence that commits in call order, each only if every one before it
 * that is still on its way commits. `fresh` statements write only rows no other transaction
 * of the sequence writes, or wait only for locks the ones before hold (a shard fence), so they
 * may run while the one before is still on its way; `rest` runs after the
 * one before has run all of its statements (so a transaction never waits for a lock its
 * successor holds), and COMMIT goes once the one before has committed. Once one has failed,
 * every one sent into its sequence fails, even after it settled; `chain` starts a new sequence
 * when it changes.
 */
export type TransactionInOrder = (batch: { readonly fresh: readonly CompiledQuery[]; readonly rest: readonly CompiledQuery[] }, chain: number) => Promise<void>;

export interface OpenedDialect {
  readonly dialect: Dialect;
  readonly traits: DialectTraits;
  /** A faster way to run a batch in one transaction than Kysely's; absent, Kysely's is used. */
  readonly transact?: (queries: readonly CompiledQuery[]) => Promise<void>;
  /** See `Database.transactInOrder`. */
  readonly transactInOrder?: TransactionInOrder;
  /** Closes the driver's connections, cutting off queries that do not finish in time. */
  readonly end?: () => Promise<void>;
  /** The dialect of `Database.reads`, when reads have a pool of their own. */
  readonly readDialect?: Dialect;
  /** See `Database.soleWriterLock`. */
  readonly soleWriterLock?: (shared: boolean) => SoleWriterLock;
}
