// Rules every holder of a coupon is bound by: whether it is valid now, and what it takes off an order.

import { reject, type Rejection } from '../shared/result.js';
import type { CouponTerms, DiscountType } from './protocol.js';

/** Why a coupon cannot be issued or used at `now`, or undefined when it can. */
export function outsideWindow(couponId: string, terms: Pick<CouponTerms, 'validFrom' | 'validUntil'>, now: number): Rejection | undefined {
  if (terms.validFrom !== null && now < terms.validFrom) {
    return reject('COUPON_NOT_YET_VALID', `coupon ${couponId} is valid from ${new Date(terms.validFrom).toISOString()}`);
  }
  if (terms.validUntil !== null && now > terms.validUntil) {
    return reject('COUPON_EXPIRED', `coupon ${couponId} expired at ${new Date(terms.validUntil).toISOString()}`);
  }
  return undefined;
}

/** The discount on an order of `subtotal`: never more than the order, rounded down to a whole unit. */
export function discountOn(subtotal: number, discount: { readonly discountType: DiscountType; readonly discountValue: number }): number {
  // subtotal × percent can pass 2^53; split the subtotal into hundreds and the rest so every step stays exact.
  const percentOff = () => Math.floor(subtotal / 100) * discount.discountValue + Math.floor(((subtotal % 100) * discount.discountValue) / 100);
  const off = discount.discountType === 'FIXED' ? discount.discountValue : percentOff();
  return Math.min(subtotal, off);
}

/** The furthest instant a JavaScript Date can show, either side of 1970. */
const MAX_DATE_MS = 8.64e15;

/** Why terms are not acceptable for a new coupon, or undefined. */
export function invalidTerms(terms: CouponTerms & { readonly quantity: number }): Rejection | undefined {
  if (!Number.isSafeInteger(terms.quantity) || terms.quantity <= 0) return reject('INVALID_COUPON', 'quantity must be a positive integer');
  if (!Number.isSafeInteger(terms.discountValue) || terms.discountValue <= 0) return reject('INVALID_COUPON', 'discountValue must be a positive integer');
  if (terms.discountType === 'PERCENT' && terms.discountValue > 100) return reject('INVALID_COUPON', 'a PERCENT discount is at most 100');
  for (const [name, at] of [['validFrom', terms.validFrom], ['validUntil', terms.validUntil]] as const) {
    if (at !== null && (!Number.isSafeInteger(at) || Math.abs(at) > MAX_DATE_MS)) return reject('INVALID_COUPON', `${name} is not a usable date`);
  }
  if (terms.validFrom !== null && terms.validUntil !== null && terms.validUntil < terms.validFrom) {
    return reject('INVALID_COUPON', 'validUntil is before validFrom');
  }
  return undefined;
}
