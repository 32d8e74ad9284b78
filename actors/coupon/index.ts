// CouponActor: a coupon template, issued first come first served up to its quantity, once per user.

import type { EntityModule } from '../shared/entity.js';
import { decideCoupon } from './decide.js';
import { evolveCoupon } from './evolve.js';
import type { CouponCommand, CouponEvent, CouponView } from './protocol.js';
import { initialCoupon, type CouponState } from './state.js';

export type { CouponCommand, CouponEvent, CouponTerms, CouponView, DiscountType } from './protocol.js';
export type { CouponState } from './state.js';
export { discountOn, outsideWindow } from './terms.js';

export const couponModule: EntityModule<CouponState, CouponCommand, CouponEvent, CouponView> = {
  kind: 'coupon',
  initial: initialCoupon,
  decide: decideCoupon,
  evolve: evolveCoupon,
  isDurable: () => true,
  refOf: (event) => (event.type === 'CouponIssued' ? event.ref : undefined),
  exists: (state) => state.status === 'ACTIVE',
  view: (state) =>
    state.status === 'ACTIVE'
      ? {
          id: state.id,
          name: state.name,
          discountType: state.discountType,
          discountValue: state.discountValue,
          validFrom: state.validFrom,
          validUntil: state.validUntil,
          quantity: state.quantity,
          issued: state.issued,
        }
      : { id: state.id, name: '', discountType: 'FIXED', discountValue: 0, validFrom: null, validUntil: null, quantity: 0, issued: 0 },
  snapshot: (state) => state,
};
