// UserActor state transitions: pure, one event at a time.

import { assertNever } from '../shared/result.js';
import type { UserEvent } from './protocol.js';
import type { HeldCoupon, UserState } from './state.js';

type ActiveUser = Extract<UserState, { status: 'ACTIVE' }>;

export function evolveUser(state: UserState, event: UserEvent): UserState {
  if (event.type === 'UserCreated') {
    return { status: 'ACTIVE', id: event.id, name: event.name, points: event.points, createdAt: event.at, updatedAt: event.at, coupons: {} };
  }
  if (state.status !== 'ACTIVE') return state;
  switch (event.type) {
    case 'PointsCharged':
      return { ...state, points: state.points + event.amount, updatedAt: event.at };
    case 'PointsDebited': {
      const used = event.couponId === undefined ? state : useCoupon(state, event.couponId, event.ref);
      return { ...used, points: state.points - event.amount, updatedAt: event.at };
    }
    case 'PointsRefunded': {
      const returned = event.couponId === undefined ? state : returnCoupon(state, event.couponId, event.ref);
      return { ...returned, points: state.points + event.amount, updatedAt: event.at };
    }
    case 'CouponClaimStarted':
      return withCoupon(state, event.couponId, { status: 'CLAIMING', attempt: 0, asking: false, since: event.at }, event.at);
    case 'ClaimAsked': {
      const held = state.coupons[event.couponId];
      if (held?.status !== 'CLAIMING') return state;
      return withCoupon(state, event.couponId, { ...held, attempt: event.attempt, asking: true }, state.updatedAt);
    }
    case 'ClaimStalled': {
      const held = state.coupons[event.couponId];
      if (held?.status !== 'CLAIMING') return state;
      return withCoupon(state, event.couponId, { ...held, asking: false }, state.updatedAt);
    }
    case 'CouponGranted': {
      const { couponId, at, type: _type, ...terms } = event;
      return withCoupon(state, couponId, { ...terms, status: 'ISSUED', issuedAt: at }, at);
    }
    case 'CouponClaimFailed':
      return withCoupon(state, event.couponId, undefined, event.at);
    default:
      return assertNever(event);
  }
}

function withCoupon(state: ActiveUser, couponId: string, held: HeldCoupon | undefined, updatedAt: number): ActiveUser {
  const coupons = { ...state.coupons };
  if (held === undefined) delete coupons[couponId];
  else coupons[couponId] = held;
  return { ...state, coupons, updatedAt };
}

function useCoupon(state: ActiveUser, couponId: string, orderId: string): ActiveUser {
  const held = state.coupons[couponId];
  if (held?.status !== 'ISSUED') return state;
  return withCoupon(state, couponId, { ...held, status: 'USED', orderId }, state.updatedAt);
}

function returnCoupon(state: ActiveUser, couponId: string, orderId: string): ActiveUser {
  const held = state.coupons[couponId];
  if (held?.status !== 'USED' || held.orderId !== orderId) return state;
  const { orderId: _orderId, ...rest } = held;
  return withCoupon(state, couponId, { ...rest, status: 'ISSUED' }, state.updatedAt);
}
