// First answers to requests carrying an Idempotency-Key: a repeat gets the stored answer and changes nothing.

import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import type { Schema } from '../db/schema.js';

export interface StoredAnswer {
  readonly statusCode: number;
  readonly body: unknown;
}

export class IdempotencyStore {
  private readonly cache = new LRUCache<string, StoredAnswer>({ max: 20_000 });
  private readonly running = new Map<string, Promise<StoredAnswer>>();

  constructor(
    private readonly db: Kysely<Schema>,
    private readonly retentionMs: number,
  ) {}

  /**
   * Runs `work` once per key within the retention; concurrent and later repeats get its answer.
   * Answers that say "try again" (5xx, 429) are not kept, so a retry after an outage or overload runs again.
   */
  async once(key: string, work: () => Promise<StoredAnswer>): Promise<StoredAnswer> {
    const cached = this.cache.get(key);
    if (cached) return cached;
    const running = this.running.get(key);
    if (running) return running;
    const task = this.lookupOrRun(key, work).finally(() => this.running.delete(key));
    this.running.set(key, task);
    return task;
  }

  async purge(now = Date.now()): Promise<number> {
    const result = await this.db.deleteFrom('idempotency_keys').where('created_at', '<', now - this.retentionMs).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  private async lookupOrRun(key: string, work: () => Promise<StoredAnswer>): Promise<StoredAnswer> {
    const row = await this.db
      .selectFrom('idempotency_keys')
      .select(['status_code', 'body', 'created_at'])
      .where('idem_key', '=', key)
      .executeTakeFirst();
    if (row && Number(row.created_at) >= Date.now() - this.retentionMs) {
      const stored = { statusCode: Number(row.status_code), body: JSON.parse(row.body) as unknown };
      this.cache.set(key, stored);
      return stored;
    }
    const answer = await work();
    if (answer.statusCode < 500 && answer.statusCode !== 429) {
      this.cache.set(key, answer);
      if (row) await this.db.deleteFrom('idempotency_keys').where('idem_key', '=', key).execute();
      await this.db
        .insertInto('idempotency_keys')
        .values({ idem_key: key, status_code: answer.statusCode, body: JSON.stringify(answer.body), created_at: Date.now() })
        .execute()
        .catch(() => undefined);
    }
    return answer;
  }
}
