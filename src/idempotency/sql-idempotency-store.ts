// The idempotency plugin's store in SQL: one row per Idempotency-Key in idempotency_requests, a claim while its request runs and its answer once it has one.

import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { accept, reject, type Result } from '../../actors/shared/result.js';
import type { Schema } from '../db/schema.js';
import { isUnavailable } from '../db/unavailable.js';
import type { Claim, IdempotencyStore, StoredAnswer } from '../http/plugins/idempotency-store.js';

/** The table behind this store; not in the engine's own schema because only this store uses it. */
export interface IdempotencyRequestsTable {
  idem_key: string;
  fingerprint: string;
  /** The id a create under this key uses, whichever run does it. */
  resource_id: string;
  /** The running claim; null once answered. */
  claim_token: string | null;
  /** Past this (ms since 1970) an unanswered claim can be taken over. */
  claimed_until: number;
  status_code: number | null;
  /** `{ body, headers }` as JSON, once answered. */
  answer: string | null;
  created_at: number;
}

type Tables = Schema & { idempotency_requests: IdempotencyRequestsTable };

const unavailable = () => reject('DATABASE_UNAVAILABLE', 'the database does not answer; try again');
/** A claim can lose a race to another process a few times in a row at most; past that something is wrong. */
const ATTEMPTS = 4;

/**
 * ```ts
 * const store = new SqlIdempotencyStore(engine.database.db, { retentionMs: config.idempotencyRetentionMs, claimMs: 3 * config.requestTimeoutMs });
 * const app = await buildApp({ ..., idempotencyStore: store });
 * ```
 */
export class SqlIdempotencyStore implements IdempotencyStore {
  private readonly db: Kysely<Tables>;
  private readonly retentionMs: number;
  private readonly claimMs: number;

  /** `claimMs`: how long a claim holds the key unanswered before a repeat may take it over; longer than any request runs. */
  constructor(db: Kysely<Schema>, options: { retentionMs: number; claimMs: number }) {
    this.db = db.withTables<{ idempotency_requests: IdempotencyRequestsTable }>();
    this.retentionMs = options.retentionMs;
    this.claimMs = options.claimMs;
  }

  async claim(key: string, fingerprint: string): Promise<Result<Claim>> {
    try {
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const claim = await this.tryClaim(key, fingerprint);
        if (claim) return accept(claim);
      }
    } catch (error) {
      if (isUnavailable(error)) return unavailable();
      throw error;
    }
    throw new Error(`idempotency key claim kept losing races: ${key}`);
  }

  async complete(key: string, token: string, answer: StoredAnswer): Promise<boolean> {
    try {
      const done = await this.db
        .updateTable('idempotency_requests')
        .set({ status_code: answer.statusCode, answer: JSON.stringify({ body: answer.body, headers: answer.headers ?? {} }), claim_token: null })
        .where('idem_key', '=', key)
        .where('claim_token', '=', token)
        .executeTakeFirst();
      return Number(done.numUpdatedRows) === 1;
    } catch (error) {
      if (isUnavailable(error)) return false;
      throw error;
    }
  }

  async release(key: string, token: string): Promise<void> {
    await this.db
      .updateTable('idempotency_requests')
      .set({ claimed_until: 0 })
      .where('idem_key', '=', key)
      .where('claim_token', '=', token)
      .execute()
      .catch(() => undefined);
  }

  async purge(): Promise<void> {
    await this.db.deleteFrom('idempotency_requests').where('created_at', '<', Date.now() - this.retentionMs).execute();
  }

  /** One round of the claim: undefined when another process changed the row in between, to look again. */
  private async tryClaim(key: string, fingerprint: string): Promise<Claim | undefined> {
    const now = Date.now();
    const token = randomUUID();
    const resourceId = uuidv7();
    const inserted = await this.db
      .insertInto('idempotency_requests')
      .values({ idem_key: key, fingerprint, resource_id: resourceId, claim_token: token, claimed_until: now + this.claimMs, status_code: null, answer: null, created_at: now })
      .execute()
      .then(
        () => true,
        (error: unknown) => {
          if (isUnavailable(error)) throw error;
          return false;
        },
      );
    if (inserted) return { state: 'claimed', token, resourceId, takeover: false };

    const row = await this.db.selectFrom('idempotency_requests').selectAll().where('idem_key', '=', key).executeTakeFirst();
    if (!row) return undefined;
    if (Number(row.created_at) < now - this.retentionMs) {
      // Past the retention the key is free again, before the purge gets to it.
      await this.db.deleteFrom('idempotency_requests').where('idem_key', '=', key).where('created_at', '=', row.created_at).execute();
      return undefined;
    }
    if (row.status_code !== null && row.answer !== null) {
      const { body, headers } = JSON.parse(row.answer) as { body: unknown; headers: Record<string, string> };
      return { state: 'answered', fingerprint: row.fingerprint, answer: { statusCode: Number(row.status_code), body, headers } };
    }
    if (row.fingerprint !== fingerprint || Number(row.claimed_until) > now) return { state: 'running', fingerprint: row.fingerprint };
    const taken = await this.db
      .updateTable('idempotency_requests')
      .set({ claim_token: token, claimed_until: now + this.claimMs })
      .where('idem_key', '=', key)
      .where('claim_token', '=', row.claim_token ?? '')
      .where('status_code', 'is', null)
      .executeTakeFirst();
    return Number(taken.numUpdatedRows) === 1 ? { state: 'claimed', token, resourceId: row.resource_id, takeover: true } : undefined;
  }
}
