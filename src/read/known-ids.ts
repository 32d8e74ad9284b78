// Which ids name an entity that exists, so that a request for an id never created is answered 404 without waking an actor.

import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import type { ActorKind } from '../../actors/shared/entity.js';
import type { Schema } from '../db/schema.js';

const TABLE = { user: 'users', product: 'products', order: 'orders', coupon: 'coupons' } as const satisfies Record<ActorKind, keyof Schema>;

/**
 * An entity's read-model row is written in the transaction that commits its creation, and
 * entities are never deleted: an id with a row exists, one without was never created (or its
 * create has not committed, and nobody has been told its id yet). Ids seen to exist are
 * remembered, the most recently used first, so a live actor's requests cost no query; the
 * check costs one indexed read for an actor that is not live, beside the journal reads its
 * activation costs anyway.
 *
 * ```ts
 * const known = new KnownIds(database.reads, config.actors.maxLive);
 * if (!known.has('user', id) && !(await known.exists('user', id))) return reject('NOT_FOUND', …);
 * ```
 */
export class KnownIds {
  private readonly seen: LRUCache<string, true>;

  constructor(
    private readonly db: Kysely<Schema>,
    capacity: number,
  ) {
    this.seen = new LRUCache({ max: Math.max(1, capacity) });
  }

  /** True when the id is known to exist, without a query. */
  has(kind: ActorKind, id: string): boolean {
    return this.seen.get(`${kind}-${id}`) === true;
  }

  /** Remembers an id that exists (it was just created, or answered). */
  note(kind: ActorKind, id: string): void {
    this.seen.set(`${kind}-${id}`, true);
  }

  /** Whether the entity exists, from memory or its read-model row; rejects when the database cannot say. */
  async exists(kind: ActorKind, id: string): Promise<boolean> {
    if (this.has(kind, id)) return true;
    const row = await this.db.selectFrom(TABLE[kind]).select('id').where('id', '=', id).executeTakeFirst();
    if (row) this.note(kind, id);
    return row !== undefined;
  }
}
