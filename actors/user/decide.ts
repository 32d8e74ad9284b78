// UserActor decisions: pure, from state, command and context to events or a rejection.

import type { CouponCommand, CouponView } from '../coupon/protocol.js';
import { outsideWindow } from '../coupon/terms.js';
import type { Decision, DecideContext, Effect } from '../shared/entity.js';
import { MAX_AMOUNT, assertNever, isInfrastructure, reject, type Rejection, type Result } from '../shared/result.js';
import type { ClaimStep, UserCommand, UserEvent } from './protocol.js';
import type { UserState } from './state.js';

type UserDecision = Decision<UserEvent, ClaimStep>;
type ActiveUser = Extract<UserState, { status: 'ACTIVE' }>;

const done = (events: UserEvent[]): UserDecision => ({ events, reply: 'view' });
const already: UserDecision = { events: [], reply: 'view' };
const refuse = (rejection: Rejection): UserDecision => ({ events: [], reply: rejection });

export function decideUser(state: UserState, command: UserCommand, ctx: DecideContext): UserDecision {
  if (command.type === 'CreateUser') {
    if (state.status !== 'NONE') return refuse(reject('ALREADY_EXISTS', `user ${state.id} already exists`));
    return done([{ type: 'UserCreated', id: state.id, name: command.name, points: command.points, at: ctx.now }]);
  }
  if (state.status === 'NONE') return refuse(reject('NOT_FOUND', `user ${state.id} not found`));

  switch (command.type) {
    case 'ChargePoints': {
      const seen = ctx.seen(command.ref);
      if (seen === undefined && command.keyed) return { recall: command.ref };
      if (seen?.includes('PointsCharged')) return already;
      if (state.points + command.amount > MAX_AMOUNT) return refuse(reject('POINTS_LIMIT_EXCEEDED', `balance would exceed ${MAX_AMOUNT}`));
      return done([{ type: 'PointsCharged', ref: command.ref, amount: command.amount, at: ctx.now }]);
    }
    case 'DebitPoints': {
      const seen = ctx.seen(command.ref);
      if (seen === undefined && command.resumed) return { recall: command.ref };
      if (seen?.includes('PointsRefunded')) return refuse(reject('ORDER_NOT_PAYABLE', `points of order ${command.ref} were already refunded`));
      if (seen?.includes('PointsDebited')) return already;
      if (command.couponId !== undefined) {
        const unusable = unusableCoupon(state, command.couponId, ctx.now);
        if (unusable) return refuse(unusable);
      }
      if (state.points < command.amount) {
        return refuse(reject('INSUFFICIENT_POINTS', `user ${state.id} has ${state.points} points, the order needs ${command.amount}`));
      }
      const couponId = command.couponId === undefined ? {} : { couponId: command.couponId };
      return done([{ type: 'PointsDebited', ref: command.ref, amount: command.amount, ...couponId, at: ctx.now }]);
    }
    case 'RefundPoints': {
      const seen = ctx.seen(command.ref);
      if (seen === undefined) return { recall: command.ref };
      if (seen.includes('PointsRefunded') || !seen.includes('PointsDebited')) return already;
      const couponId = command.couponId === undefined ? {} : { couponId: command.couponId };
      return done([{ type: 'PointsRefunded', ref: command.ref, amount: command.amount, ...couponId, at: ctx.now }]);
    }
    case 'ClaimCoupon':
      return claim(state, command.couponId, ctx.now);
    case 'ResumeClaims': {
      const events: UserEvent[] = [];
      const effects: Effect<ClaimStep>[] = [];
      for (const [couponId, held] of Object.entries(state.coupons)) {
        if (held.status !== 'CLAIMING' || held.asking) continue;
        const ask = askCoupon(state.id, couponId, held.attempt + 1, true);
        events.push(...ask.events);
        effects.push(...ask.effects);
      }
      return { events, reply: 'view', effects };
    }
    case 'ClaimReplied':
      return claimReplied(state, command.step, command.result, ctx.now);
    default:
      return assertNever(command);
  }
}

function unusableCoupon(state: ActiveUser, couponId: string, now: number): Rejection | undefined {
  const held = state.coupons[couponId];
  if (held === undefined || held.status === 'CLAIMING') return reject('COUPON_NOT_HELD', `user ${state.id} does not hold coupon ${couponId}`);
  if (held.status === 'USED') return reject('COUPON_ALREADY_USED', `coupon ${couponId} was used on order ${held.orderId}`);
  return outsideWindow(couponId, held, now);
}

function claim(state: ActiveUser, couponId: string, now: number): UserDecision {
  const held = state.coupons[couponId];
  if (held === undefined) {
    const ask = askCoupon(state.id, couponId, 1, false);
    return { events: [{ type: 'CouponClaimStarted', couponId, at: now }, ...ask.events], effects: ask.effects, reply: 'defer', saga: couponId };
  }
  if (held.status !== 'CLAIMING') return refuse(reject('COUPON_ALREADY_ISSUED', `user ${state.id} already holds coupon ${couponId}`));
  if (held.asking) return refuse(reject('COUPON_CLAIM_IN_PROGRESS', `user ${state.id} is already claiming coupon ${couponId}`));
  // A claim a crash or a failed step interrupted: this request carries it on and gets its outcome.
  const ask = askCoupon(state.id, couponId, held.attempt + 1, true);
  return { events: ask.events, effects: ask.effects, reply: 'defer', saga: couponId };
}

function askCoupon(userId: string, couponId: string, attempt: number, resumed: boolean): { events: UserEvent[]; effects: Effect<ClaimStep>[] } {
  const command: CouponCommand = { type: 'IssueCoupon', userId, resumed };
  return {
    events: [{ type: 'ClaimAsked', couponId, attempt }],
    effects: [{ to: { kind: 'coupon', id: couponId }, command, step: { couponId, attempt } }],
  };
}

function claimReplied(state: ActiveUser, step: ClaimStep, result: Result<unknown>, now: number): UserDecision {
  const held = state.coupons[step.couponId];
  if (held?.status !== 'CLAIMING' || !held.asking || held.attempt !== step.attempt) return already;
  const saga = step.couponId;
  if (result.ok) {
    const coupon = result.value as CouponView;
    const terms = { name: coupon.name, discountType: coupon.discountType, discountValue: coupon.discountValue, validFrom: coupon.validFrom, validUntil: coupon.validUntil };
    return { events: [{ type: 'CouponGranted', couponId: step.couponId, ...terms, at: now }], reply: 'view', settle: 'view', saga };
  }
  if (isInfrastructure(result.error)) {
    // The coupon may or may not have been issued: leave the claim open for a resumed run to ask again.
    return { events: [{ type: 'ClaimStalled', couponId: step.couponId }], reply: 'view', settle: result, saga };
  }
  return { events: [{ type: 'CouponClaimFailed', couponId: step.couponId, error: result.error, at: now }], reply: 'view', settle: result, saga };
}
