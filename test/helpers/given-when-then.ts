// Given/when/then over one actor kind's pure functions: events folded into a state, a command decided on it, the events folded in.

import * as assert from 'uvu/assert';
import type { DecideContext, Decision, EntityModule } from '../../actors/shared/entity.js';

/** What the actor remembers: command id → event types; an id not listed is outside the window. */
export type Seen = Readonly<Record<string, readonly string[]>>;

/** The context of one decision; unset, nothing is remembered and the clock reads the scenario's `now`. */
export interface At {
  readonly seen?: Seen;
  readonly now?: number;
}

/** A decision that is not a recall. */
export type Decided<E, Step> = Exclude<Decision<E, Step>, { recall: string }>;

export interface GivenWhenThen<S, C, E, Step> {
  /** The actor after these events, folded from its initial state. */
  given(...events: E[]): S;
  /** The decision as it comes, a recall included. */
  decide(state: S, command: C, at?: At): Decision<E, Step>;
  /** Decides and folds the events in: the decision and the state after it. A recall fails the test. */
  when(state: S, command: C, at?: At): Decided<E, Step> & { readonly state: S };
}

/**
 * ```ts
 * const { given, when } = givenWhenThen(productModule, 'p1', NOW);
 * const decision = when(given(created(10)), { type: 'ReserveStock', ref: 'o1', quantity: 4, resumed: false });
 * assert.is(productModule.view(decision.state).stock, 6);
 * ```
 */
export function givenWhenThen<S, C, E extends { type: string }, V, Step>(module: EntityModule<S, C, E, V, Step>, id: string, now: number): GivenWhenThen<S, C, E, Step> {
  const context = ({ seen = {}, now: at = now }: At = {}): DecideContext => ({ now: at, seen: (ref) => seen[ref] });
  const decide = (state: S, command: C, at?: At) => module.decide(state, command, context(at));
  return {
    given: (...events) => events.reduce(module.evolve, module.initial(id)),
    decide,
    when(state, command, at) {
      const decision = decided(decide(state, command, at));
      return { ...decision, state: decision.events.reduce(module.evolve, state) };
    },
  };
}

/** The decision, or a failed assertion when it asks for a recall. */
export function decided<E, Step>(decision: Decision<E, Step>): Decided<E, Step> {
  if ('recall' in decision) throw new assert.Assertion({ message: `expected a decision, got a recall of ${decision.recall}`, operator: 'decided', expects: 'events', actual: decision });
  return decision;
}
