// UserActor decisions: pure, from state, command and context to events or a rejection.

import type { Decision, DecideContext } from '../shared/entity.js';
import { MAX_AMOUNT, assertNever, reject } from '../shared/result.js';
import type { UserCommand, UserEvent } from './protocol.js';
import type { UserState } from './state.js';

type UserDecision = Decision<UserEvent>;

const done = (events: UserEvent[]): UserDecision => ({ events, reply: 'view' });
const already: UserDecision = { events: [], reply: 'view' };

export function decideUser(state: UserState, command: UserCommand, ctx: DecideContext): UserDecision {
  if (command.type === 'CreateUser') {
    if (state.status !== 'NONE') return { events: [], reply: reject('ALREADY_EXISTS', `user ${state.id} already exists`) };
    return done([{ type: 'UserCreated', id: state.id, name: command.name, points: command.points, at: ctx.now }]);
  }
  if (state.status === 'NONE') return { events: [], reply: reject('NOT_FOUND', `user ${state.id} not found`) };

  switch (command.type) {
    case 'ChargePoints': {
      const seen = ctx.seen(command.ref);
      if (seen === undefined && command.keyed) return { recall: command.ref };
      if (seen?.includes('PointsCharged')) return already;
      if (state.points + command.amount > MAX_AMOUNT) {
        return { events: [], reply: reject('POINTS_LIMIT_EXCEEDED', `balance would exceed ${MAX_AMOUNT}`) };
      }
      return done([{ type: 'PointsCharged', ref: command.ref, amount: command.amount, at: ctx.now }]);
    }
    case 'DebitPoints': {
      const seen = ctx.seen(command.ref);
      if (seen === undefined && command.resumed) return { recall: command.ref };
      if (seen?.includes('PointsRefunded')) {
        return { events: [], reply: reject('ORDER_NOT_PAYABLE', `points of order ${command.ref} were already refunded`) };
      }
      if (seen?.includes('PointsDebited')) return already;
      if (state.points < command.amount) {
        return {
          events: [],
          reply: reject('INSUFFICIENT_POINTS', `user ${state.id} has ${state.points} points, the order needs ${command.amount}`),
        };
      }
      return done([{ type: 'PointsDebited', ref: command.ref, amount: command.amount, at: ctx.now }]);
    }
    case 'RefundPoints': {
      const seen = ctx.seen(command.ref);
      if (seen === undefined) return { recall: command.ref };
      if (seen.includes('PointsRefunded') || !seen.includes('PointsDebited')) return already;
      return done([{ type: 'PointsRefunded', ref: command.ref, amount: command.amount, at: ctx.now }]);
    }
    default:
      return assertNever(command);
  }
}
