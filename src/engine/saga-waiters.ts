// Askers waiting for a saga to end, by saga: answered with the saga's final answer, or all at once when the actor's state is lost.

import type { ReplyTo } from './envelope.js';

export class SagaWaiters {
  /** By saga; '' when the actor runs one saga at a time. */
  private readonly bySaga = new Map<string, ReplyTo[]>();

  get size(): number {
    return this.bySaga.size;
  }

  add(saga: string, replyTo: ReplyTo): void {
    const list = this.bySaga.get(saga);
    if (list) list.push(replyTo);
    else this.bySaga.set(saga, [replyTo]);
  }

  /** The askers of one saga, which ends now. */
  take(saga: string): ReplyTo[] {
    const waiting = this.bySaga.get(saga) ?? [];
    this.bySaga.delete(saga);
    return waiting;
  }

  /** Every asker of every saga. */
  takeAll(): ReplyTo[] {
    const waiting = [...this.bySaga.values()].flat();
    this.bySaga.clear();
    return waiting;
  }
}
