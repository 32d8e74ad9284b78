// An actor's view as it stood right after one of its events, rebuilt from the journal: what a command answered when its answer was lost.

import type { Kysely } from 'kysely';
import type { ActorKind } from '../../actors/shared/entity.js';
import type { Schema } from '../db/schema.js';
import type { AnyModule } from './entity.js';
import { hostedKinds, type ViewOf } from './kinds.js';

/**
 * Used only when a request under an Idempotency-Key finds an earlier run of itself that committed
 * and stopped before its answer was stored (a crash): the answer is then the view the command
 * made, not the actor's view now. It replays the actor's events from the first, so it costs what
 * a recovery without snapshot costs; it runs once per such key.
 *
 * ```ts
 * const created = await pastViews.afterCreate('user', id);
 * const charged = await pastViews.afterRef('user', id, `charge:${key}`);
 * ```
 */
export class PastViews {
  constructor(private readonly db: Kysely<Schema>) {}

  /** The view the create made (its first event), or undefined when the actor was never created. */
  afterCreate<K extends ActorKind>(kind: K, id: string): Promise<ViewOf<K> | undefined> {
    return this.viewAt(kind, id, 1);
  }

  /** The view right after the first event recording command id `ref`, or undefined when none does. */
  async afterRef<K extends ActorKind>(kind: K, id: string, ref: string): Promise<ViewOf<K> | undefined> {
    const row = await this.db
      .selectFrom('journal')
      .select('sequence_nr')
      .where('persistence_key', '=', `${kind}-${id}`)
      .where('ref', '=', ref)
      .orderBy('sequence_nr')
      .limit(1)
      .executeTakeFirst();
    return row ? this.viewAt(kind, id, Number(row.sequence_nr)) : undefined;
  }

  private async viewAt<K extends ActorKind>(kind: K, id: string, sequenceNr: number): Promise<ViewOf<K> | undefined> {
    const module: AnyModule = hostedKinds[kind].module;
    const events = await this.db
      .selectFrom('journal')
      .select('payload')
      .where('persistence_key', '=', `${kind}-${id}`)
      .where('sequence_nr', '<=', sequenceNr)
      .orderBy('sequence_nr')
      .execute();
    if (events.length < sequenceNr) return undefined;
    const state = events.reduce((s: unknown, e) => module.evolve(s, JSON.parse(e.payload)), module.initial(id));
    return module.exists(state) ? (module.view(state) as ViewOf<K>) : undefined;
  }
}
