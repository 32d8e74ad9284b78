// Transactions sent to PostgreSQL as one pipelined write each: BEGIN, the statements and COMMIT in one round trip.

import type { CompiledQuery } from 'kysely';
import type postgres from 'postgres';
import { connectionLost } from '../unavailable.js';

/** `Database.transact` and `Database.transactInOrder` on PostgreSQL. */
export interface PostgresPipeline {
  run(queries: readonly CompiledQuery[]): Promise<void>;
  runInOrder(queries: readonly CompiledQuery[], chain: number): Promise<void>;
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

  /** Where transactions sent in order go while any of them is on its way; none once all have finished. */
  let chain: { readonly id: number; readonly connection: Promise<postgres.ReservedSql>; onTheirWay: number; last: string } | undefined;
  let marks = 0;

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
     * Transactions sent while an earlier one is on its way go on its connection, right behind
     * it, so PostgreSQL runs them back to back and the engine never waits a round trip in
     * between. Each one's last statement records its mark in a session setting, which a failed
     * transaction takes back; the next one's first statement divides by zero unless the mark
     * is its predecessor's. So one failure fails everything sent behind it.
     */
    async runInOrder(queries, id) {
      const chained = chain !== undefined && chain.id === id;
      const link = chained && chain ? chain : (chain = { id, connection: client.reserve(), onTheirWay: 0, last: '' });
      const previous = link.last;
      const mark = String(++marks);
      link.last = mark;
      link.onTheirWay++;
      try {
        const connection = await link.connection;
        // Statements go out in the order they are made: BEGIN first, then the guard.
        const begin = connection.unsafe('begin');
        const guard = chained ? connection.unsafe(PREDECESSOR_COMMITTED, [previous], { prepare: true }) : undefined;
        const sent = [
          begin,
          ...(guard ? [guard] : []),
          ...queries.map((q) => runPrepared(connection, q)),
          connection.unsafe(RECORD_MARK, [mark], { prepare: true }),
          // After a failed statement PostgreSQL turns this COMMIT into a rollback. No explicit
          // ROLLBACK may follow: the next transaction may already be queued on this connection.
          connection.unsafe(COMMIT),
        ];
        const failed = await awaitStatements(sent);
        if (failed === undefined) return;
        // Every statement after a failed one fails as "transaction aborted": name the first cause.
        const guardFailed = guard !== undefined && (await guard.then(() => false, () => true));
        throw guardFailed ? new Error('a transaction sent before this one did not commit', { cause: failed }) : failed;
      } finally {
        if (--link.onTheirWay === 0) {
          if (chain === link) chain = undefined;
          void link.connection.then((c) => c.release(), () => undefined);
        }
      }
    },
  };
}

/**
 * COMMIT, padded to 1 KiB with a comment. postgres.js sends what it has buffered at once when
 * the buffer reaches 1 KiB, and otherwise on the next setImmediate: one whole turn of a busy
 * engine's event loop later, while PostgreSQL sits idle in the transaction, holding the hot
 * product's row, waiting for the COMMIT. Padded, the batch leaves in full right away.
 */
const COMMIT = `commit /*${' '.repeat(1024)}*/`;

/** The session setting that carries the mark of the last transaction committed in order. */
const PREDECESSOR_COMMITTED = `select 1 / coalesce((current_setting('orderengine.batch', true) = $1)::int, 0)`;
const RECORD_MARK = `select set_config('orderengine.batch', $1, false)`;

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
