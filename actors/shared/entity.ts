// The contract between a domain module (one actor kind) and the runtime that hosts it.

import type { Rejection } from './result.js';

/** Where a message goes: an actor kind and its id. Plain data, so it can cross a process. */
export interface Address {
  readonly kind: ActorKind;
  readonly id: string;
}

export type ActorKind = 'user' | 'product' | 'order' | 'coupon';

/** What decide may ask of the world: the clock and the actor's memory of applied command ids. */
export interface DecideContext {
  readonly now: number;
  /**
   * Event types this actor recorded for a command id (order id or idempotency key), or
   * `undefined` when the id is outside the in-memory window and only the journal can tell.
   */
  seen(ref: string): readonly string[] | undefined;
}

/** A command the actor sends to another actor; the answer comes back as a command carrying `step`. */
export interface Effect<Step> {
  readonly to: Address;
  readonly command: unknown;
  readonly step: Step;
}

/** What the asker gets once the events commit: the entity's view, a rejection, or wait for the saga. */
export type ReplyPlan = 'view' | 'defer' | Rejection;

export type Decision<E, Step = never> =
  | {
      readonly events: readonly E[];
      readonly reply: ReplyPlan;
      readonly effects?: readonly Effect<Step>[];
      /** The saga ended: answer every deferred asker with this once the events commit. */
      readonly settle?: 'view' | Rejection;
      /**
       * Which of the actor's sagas `defer` and `settle` refer to, when it runs several at once
       * (a user claiming two coupons); an actor with one saga at a time leaves it out.
       */
      readonly saga?: string;
    }
  | {
      /** The command id is outside the window: look it up in the journal, then decide again. */
      readonly recall: string;
    };

/** Everything the runtime needs to host one actor kind. */
export interface EntityModule<S, C, E extends { type: string }, V, Step = unknown> {
  readonly kind: ActorKind;
  readonly initial: (id: string) => S;
  readonly decide: (state: S, command: C, ctx: DecideContext) => Decision<E, Step>;
  readonly evolve: (state: S, event: E) => S;
  /** Events that only move in-memory saga progress are not journaled. */
  readonly isDurable: (event: E) => boolean;
  /** The command id an event records, for the idempotency window. */
  readonly refOf: (event: E) => string | undefined;
  readonly exists: (state: S) => boolean;
  readonly view: (state: S) => V;
  /** What a snapshot keeps: the state without in-memory saga progress. */
  readonly snapshot: (state: S) => S;
  /** A snapshot's state, which an older version may have written, in today's shape. */
  readonly restore?: (snapshot: S) => S;
  /** A command the actor sends itself after recovery, to resume an interrupted saga. */
  readonly onRecovered?: (state: S) => C | undefined;
  /** The command that carries a saga step's answer back to this actor. */
  readonly replied?: (step: Step, result: import('./result.js').Result<unknown>) => C;
}
