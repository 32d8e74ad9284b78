// CouponActor state transitions: pure, one event at a time.

import { assertNever } from '../shared/result.js';
import type { CouponEvent } from './protocol.js';
import type { CouponState } from './state.js';

export function evolveCoupon(state: CouponState, event: CouponEvent): CouponState {
  switch (event.type) {
    case 'CouponCreated':
      return {
        status: 'ACTIVE',
        id: event.id,
        name: event.name,
        discountType: event.discountType,
        discountValue: event.discountValue,
        validFrom: event.validFrom,
        validUntil: event.validUntil,
        quantity: event.quantity,
        issued: 0,
        createdAt: event.at,
        updatedAt: event.at,
      };
    case 'CouponIssued':
      return state.status === 'ACTIVE' ? { ...state, issued: state.issued + 1, updatedAt: event.at } : state;
    default:
      return assertNever(event);
  }
}
