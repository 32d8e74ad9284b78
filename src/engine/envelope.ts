// Messages between actors and the registry: plain data, so that a later version can route them to another process.

import type { Address } from '../../actors/shared/entity.js';
import type { Result } from '../../actors/shared/result.js';
import type { Dependency } from '../journal/dependency.js';
import type { TraceParent } from '../tracing/spans.js';

/** Where an answer goes: a waiting caller (the engine's own correlation id, and its process in a cluster) or a saga's actor. */
export type ReplyTo =
  | { readonly correlationId: number; readonly node?: string }
  | { readonly actor: Address; readonly step: unknown; readonly incarnation: number };

export type Envelope =
  | {
      readonly type: 'command';
      readonly command: unknown;
      /** `commit`: answer once the events are durable; `decision`: answer at once (a saga step). */
      readonly mode: 'commit' | 'decision';
      readonly replyTo?: ReplyTo;
      /** Set on a saga step's answer: answers to an earlier incarnation of the actor are dropped. */
      readonly incarnation?: number;
      /** The sender's uncommitted appends the command was decided on: refused if they fail. */
      readonly after?: Dependency;
      /** The span that sent it (tracing on, within a sampled trace): the command's span at the actor is its child. */
      readonly trace?: TraceParent;
    }
  | {
      /** A saga step's answer, given before the answering actor's events committed. */
      readonly type: 'reply';
      readonly step: unknown;
      readonly result: Result<unknown>;
      readonly incarnation: number;
      /** If these appends fail, the step counts as not done (DATABASE_UNAVAILABLE). */
      readonly after?: Dependency;
      /** The span of the step that answers: the saga's next command at the actor is its child. */
      readonly trace?: TraceParent;
    }
  | { readonly type: 'read'; readonly replyTo: ReplyTo }
  | { readonly type: 'inspect'; readonly replyTo: ReplyTo }
  | { readonly type: 'snapshot'; readonly replyTo: ReplyTo };

export type CommandEnvelope = Extract<Envelope, { type: 'command' }>;
export type ReplyEnvelope = Extract<Envelope, { type: 'reply' }>;

/**
 * A command envelope, every field present (undefined where unused): one layout for every command
 * an actor takes, so that reading its fields does not search several (a handful of envelopes per
 * payment, each read several times).
 */
export const commandEnvelope = (
  command: unknown,
  mode: CommandEnvelope['mode'],
  replyTo: ReplyTo | undefined,
  after: Dependency | undefined,
  trace: TraceParent | undefined,
): CommandEnvelope => ({ type: 'command', command, mode, replyTo, incarnation: undefined, after, trace });

/** A saga step's answer, in the one layout of answers (see `commandEnvelope`). */
export const replyEnvelope = (step: unknown, result: Result<unknown>, incarnation: number, after: Dependency | undefined, trace: TraceParent | undefined): ReplyEnvelope => ({
  type: 'reply',
  step,
  result,
  incarnation,
  after,
  trace,
});

export interface Postman {
  /** Hands an envelope to the actor at `to`, wherever it lives. */
  post(to: Address, envelope: Envelope): void;
  /** `after`: the answering actor's uncommitted appends the answer rests on; `trace`: the answering command's span. */
  deliver(replyTo: ReplyTo | undefined, result: Result<unknown>, after?: Dependency, trace?: TraceParent): void;
  /** An actor took one envelope from its inbox (so the postman knows when every inbox is empty). */
  taken(): void;
}
