// What a dialect folder hands connect.ts when it opens: the Kysely dialect and what sets the database apart.

import type { CompiledQuery, Dialect } from 'kysely';
import type { DialectTraits } from './dialect-traits.js';
import type { SoleWriterLock } from './sole-writer-lock.js';

export interface OpenedDialect {
  readonly dialect: Dialect;
  readonly traits: DialectTraits;
  /** A faster way to run a batch in one transaction than Kysely's; absent, Kysely's is used. */
  readonly transact?: (queries: readonly CompiledQuery[]) => Promise<void>;
  /** See `Database.transactInOrder`. */
  readonly transactInOrder?: (queries: readonly CompiledQuery[], chain: number) => Promise<void>;
  /** Closes the driver's connections, cutting off queries that do not finish in time. */
  readonly end?: () => Promise<void>;
  /** The dialect of `Database.reads`, when reads have a pool of their own. */
  readonly readDialect?: Dialect;
  /** See `Database.soleWriterLock`. */
  readonly soleWriterLock?: (shared: boolean) => SoleWriterLock;
}
