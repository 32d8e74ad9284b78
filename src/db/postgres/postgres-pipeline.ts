// Transactions sent to PostgreSQL as one pipelined write each: BEGIN, the statements and COMMIT in one round trip.

import type { CompiledQuery } from 'kysely';
import type postgres from 'postgres';
import type { TransactionInOrder } from '../opened-dialect.js';
import { connectionLost } from '../unavailable.js';

/** `Database.transact` and `Database.transactInOrder` on PostgreSQL. */
export interface PostgresPipeline {
  run(queries: readonly CompiledQuery[]): Promise<void>;
  runInOrder: TransactionInOrder;
}

/** How far a transaction sent in order has come: each resolves true when reached, false when it failed first. */
interface Link {
  readonly ran: Promise<boolean>;
  readonly committed: Promise<boolean>;
}

/**
 * BEGIN, the statements and COMMIT sent together on one reserved connection: one network
 * round trip per batch. The connection runs them in order; after a failed statement PostgreSQL
 * refuses the rest and turns COMMIT into a rollback, so the batch is all or nothing. A
 * connection is reserved per batch (postgres.js's `begin` on the shared pool can race
 * pipelined reads, porsager/postgres#823), so none sits reserved and idle while the server
 * goes away under it.
 *
 * ```ts
 * const pipeline = postgresPipeline(postgres(url));
 * await pipeline.run([db.insertInto('journal').values(rows).compile()]);
 * ```
 */
export function postgresPipeline(client: postgres.Sql): PostgresPipeline {
  // Prepared: the batch statements keep the same text, and a prepared statement needs no
  // describe round trip, which would otherwise stop postgres.js from pipelining.
  const runPrepared = (connection: postgres.ReservedSql, q: CompiledQuery) =>
    connection.unsafe(q.sql, q.parameters as postgres.ParameterOrJSON<never>[], { prepare: true });

  /** The last transaction sent in order, and its chain. */
  let chain: { readonly id: number; last: Link } | undefined;

  return {
    async run(queries) {
      const connection = await client.reserve();
      const sent = [connection.unsafe('begin'), ...queries.map((q) => runPrepared(connection, q)), connection.unsafe(COMMIT)];
      const failed = await awaitStatements(sent);
      if (failed !== undefined) await connection.unsafe('rollback').catch(() => undefined);
      connection.release();
      if (failed !== undefined) throw failed;
    },

    /**
     * Each transaction on a connection of its own, so PostgreSQL works on two batches at once:
     * the next one's new journal and outbox rows go in while this one changes the read model
     * and commits. The `rest` of a transaction goes only after the one before has run all of
     * its statements, so the one before never waits for a row this one holds (it could not
     * commit: this one's COMMIT waits for it); COMMIT goes only after the one before committed,
     * and a transaction whose predecessor failed rolls back. Each settles after the one before.
     */
    async runInOrder({ fresh, rest }, id) {
      const previous = chain !== undefined && chain.id === id ? chain.last : undefined;
      let ran!: (ok: boolean) => void;
      let committed!: (ok: boolean) => void;
      const link: Link = { ran: new Promise((resolve) => (ran = resolve)), committed: new Promise((resolve) => (committed = resolve)) };
      if (chain !== undefined && chain.id === id) chain.last = link;
      else chain = { id, last: link };
      let connection: postgres.ReservedSql | undefined;
      let ok = false;
      try {
        connection = await client.reserve();
        const c = connection;
        // Sent now, not when awaited (postgres.js runs a query once something awaits it).
        const first = [c.unsafe('begin').execute(), ...fresh.map((q) => runPrepared(c, q).execute())];
        const predecessorRan = previous === undefined || (await previous.ran);
        const sent = predecessorRan ? [...first, ...rest.map((q) => runPrepared(c, q))] : first;
        const failed = await awaitStatements(sent);
        if (failed !== undefined || !predecessorRan) {
          ran(false);
          await c.unsafe('rollback').catch(() => undefined);
          throw failed ?? predecessorFailed();
        }
        ran(true);
        if (previous !== undefined && !(await previous.committed)) {
          await c.unsafe('rollback').catch(() => undefined);
          throw predecessorFailed();
        }
        const commitFailed = await awaitStatements([c.unsafe(COMMIT)]);
        if (commitFailed !== undefined) throw commitFailed;
        committed(true);
        ok = true;
      } catch (error) {
        ran(false);
        committed(false);
        // Outcomes are told in the order sent: a caller hears of this failure only once it
        // knows whether the transactions before this one committed.
        if (previous !== undefined) await previous.committed;
        throw error;
      } finally {
        connection?.release();
        // A chain whose last transaction failed stays failed: one sent into it later rolls back
        // (the caller may not have heard of the failure yet when it sends).
        if (ok && chain?.last === link) chain = undefined;
      }
    },
  };
}

const predecessorFailed = () => new Error('a transaction sent before this one did not commit');

/**
 * COMMIT, padded to 1 KiB with a comment. postgres.js sends what it has buffered at once when
 * the buffer reaches 1 KiB, and otherwise on the next setImmediate: one whole turn of a busy
 * engine's event loop later, while PostgreSQL sits idle in the transaction, holding the hot
 * product's row, waiting for the COMMIT. Padded, the batch leaves in full right away.
 */
const COMMIT = `commit /*${' '.repeat(1024)}*/`;


/**
 * Waits for a pipelined transaction's statements; the first failure, or undefined. When the
 * connection is lost, statements postgres.js still held back for it (while a statement's
 * describe was under way) never answer: the transaction fails with the first loss.
 */
async function awaitStatements(sent: ReadonlyArray<Promise<unknown>>): Promise<unknown> {
  const lost = new Promise<unknown>((resolve) => {
    for (const query of sent) query.catch((error: unknown) => connectionLost(error) && resolve(error));
  });
  const outcome = await Promise.race([Promise.allSettled(sent), lost]);
  if (!Array.isArray(outcome)) return outcome ?? new Error('connection lost');
  return outcome.find((s): s is PromiseRejectedResult => s.status === 'rejected')?.reason;
}
