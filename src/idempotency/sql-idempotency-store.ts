// The idempotency plugin's store in SQL: first answers to Idempotency-Key requests in the idempotency_keys table.

import type { Kysely } from 'kysely';
import { accept, type Result } from '../../actors/shared/result.js';
import type { Schema } from '../db/schema.js';
import { isUnavailable } from '../db/unavailable.js';
import { readFailure } from '../engine/read-failure.js';
import type { IdempotencyStore, StoredAnswer } from '../http/plugins/idempotency-store.js';

/**
 * ```ts
 * const store = new SqlIdempotencyStore(engine.database.db, config.idempotencyRetentionMs);
 * const app = await buildApp({ ..., idempotencyStore: store });
 * ```
 */
export class SqlIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly retentionMs: number,
  ) {}

  find(key: string): Promise<Result<StoredAnswer | undefined>> {
    return this.db
      .selectFrom('idempotency_keys')
      .select(['status_code', 'body'])
      .where('idem_key', '=', key)
      .where('created_at', '>=', Date.now() - this.retentionMs)
      .executeTakeFirst()
      .then((row) => accept(row && { statusCode: Number(row.status_code), body: JSON.parse(row.body) as unknown }), readFailure);
  }

  async keep(key: string, answer: StoredAnswer): Promise<void> {
    const row = { idem_key: key, status_code: answer.statusCode, body: JSON.stringify(answer.body), created_at: Date.now() };
    try {
      await this.db.insertInto('idempotency_keys').values(row).execute();
    } catch (error) {
      if (isUnavailable(error)) return;
      // An expired answer holds the key until the purge removes it: this one takes its place. An
      // answer within the retention (another process kept it first) stays.
      await this.db
        .deleteFrom('idempotency_keys')
        .where('idem_key', '=', key)
        .where('created_at', '<', Date.now() - this.retentionMs)
        .execute()
        .then(() => this.db.insertInto('idempotency_keys').values(row).execute())
        .catch(() => undefined);
    }
  }

  async purge(): Promise<void> {
    await this.db.deleteFrom('idempotency_keys').where('created_at', '<', Date.now() - this.retentionMs).execute();
  }
}
