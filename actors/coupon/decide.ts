// CouponActor decisions: pure; issues while any are left, to each user once.

import type { Decision, DecideContext } from '../shared/entity.js';
import { assertNever, reject } from '../shared/result.js';
import type { CouponCommand, CouponEvent } from './protocol.js';
import type { CouponState } from './state.js';
import { invalidTerms, outsideWindow } from './terms.js';

type CouponDecision = Decision<CouponEvent>;

const refuse = (reply: ReturnType<typeof reject>): CouponDecision => ({ events: [], reply });

export function decideCoupon(state: CouponState, command: CouponCommand, ctx: DecideContext): CouponDecision {
  if (command.type === 'CreateCoupon') {
    if (state.status !== 'NONE') return refuse(reject('ALREADY_EXISTS', `coupon ${state.id} already exists`));
    const { type: _type, ...terms } = command;
    const invalid = invalidTerms(terms);
    if (invalid) return refuse(invalid);
    return { events: [{ type: 'CouponCreated', id: state.id, ...terms, at: ctx.now }], reply: 'view' };
  }
  if (state.status === 'NONE') return refuse(reject('NOT_FOUND', `coupon ${state.id} not found`));

  switch (command.type) {
    case 'IssueCoupon': {
      // The user actor asks once per claim; only a claim resumed after a crash may repeat one.
      const seen = ctx.seen(command.userId);
      if (seen === undefined && command.resumed) return { recall: command.userId };
      if (seen?.includes('CouponIssued')) return { events: [], reply: 'view' };
      const outside = outsideWindow(state.id, state, ctx.now);
      if (outside) return refuse(outside);
      if (state.issued >= state.quantity) return refuse(reject('COUPON_SOLD_OUT', `all ${state.quantity} of coupon ${state.id} are issued`));
      return { events: [{ type: 'CouponIssued', ref: command.userId, at: ctx.now }], reply: 'view' };
    }
    default:
      return assertNever(command);
  }
}
