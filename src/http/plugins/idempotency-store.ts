// Where the idempotency plugin keeps first answers for their retention: the interface it needs, so that src/http holds no SQL.

import type { Result } from '../../../actors/shared/result.js';

/** An HTTP answer as it was first sent. */
export interface StoredAnswer {
  readonly statusCode: number;
  readonly body: unknown;
}

/**
 * The durable side of Idempotency-Key: a repeat after a restart still gets the first answer.
 * The retention (24 h by default) is the store's: `find` does not see, and `purge` removes,
 * answers older than it.
 */
export interface IdempotencyStore {
  /** The answer kept under `key`, if any; a rejection when the store cannot say. */
  find(key: string): Promise<Result<StoredAnswer | undefined>>;
  /** Keeps the first answer under `key`. Never throws: an answer not kept only means that a later repeat runs again. */
  keep(key: string, answer: StoredAnswer): Promise<void>;
  /** Forgets the answers past the retention. */
  purge(): Promise<void>;
}
