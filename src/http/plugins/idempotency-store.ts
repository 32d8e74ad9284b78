// Where the idempotency plugin claims keys and keeps their answers: the interface it needs, so that src/http holds no SQL.

import type { Result } from '../../../actors/shared/result.js';

/** An HTTP answer as it was first sent. */
export interface StoredAnswer {
  readonly statusCode: number;
  readonly body: unknown;
  /** Headers that belong to the answer (Location), replayed with it. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** What a claim on a key found. */
export type Claim =
  /**
   * The key is this request's to run. `resourceId` is the id a create uses, fixed with the
   * claim; `takeover` says that an earlier run under the key was left unanswered (its process
   * stopped, or it answered "try again") and may have committed.
   */
  | { readonly state: 'claimed'; readonly token: string; readonly resourceId: string; readonly takeover: boolean }
  /** The key was answered: `fingerprint` is the request it answered. */
  | { readonly state: 'answered'; readonly fingerprint: string; readonly answer: StoredAnswer }
  /** Another request under the key is running, here or in another process, or was left unanswered and its claim has not lapsed yet. */
  | { readonly state: 'running'; readonly fingerprint: string };

/**
 * The durable side of Idempotency-Key, shared by every process on the database: a claim row is
 * written before the use case runs and its answer before the answer is sent. The retention
 * (24 h by default) is the store's: a key older than it is free again, and `purge` removes it.
 */
export interface IdempotencyStore {
  /** Claims `key` for a request with `fingerprint`, or says who has it; a rejection when the store cannot say. */
  claim(key: string, fingerprint: string): Promise<Result<Claim>>;
  /** Keeps the answer of the claim `token`; false when it could not (the claim lapses and the next repeat takes it over). */
  complete(key: string, token: string, answer: StoredAnswer): Promise<boolean>;
  /** Gives the claim up at once, for a request refused before it did anything: the next repeat takes it over. */
  release(key: string, token: string): Promise<void>;
  /** Forgets the keys past the retention. */
  purge(): Promise<void>;
}
