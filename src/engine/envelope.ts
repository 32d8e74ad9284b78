// Messages between actors and the registry: plain data, so that a later version can route them to another process.

import type { Address } from '../../actors/shared/entity.js';
import type { Result } from '../../actors/shared/result.js';

/** Where an answer goes: a waiting caller (the engine's own correlation id) or a saga's actor. */
export type ReplyTo =
  | { readonly correlationId: number }
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
    }
  | { readonly type: 'read'; readonly replyTo: ReplyTo }
  | { readonly type: 'inspect'; readonly replyTo: ReplyTo }
  | { readonly type: 'snapshot'; readonly replyTo: ReplyTo };

export interface Postman {
  send(to: Address, envelope: Envelope): void;
  deliver(replyTo: ReplyTo | undefined, result: Result<unknown>): void;
}
