// CouponActor state: absent until created, then its terms and how many were issued (never above quantity).

import type { CouponTerms } from './protocol.js';

export type CouponState =
  | { readonly status: 'NONE'; readonly id: string }
  | (CouponTerms & {
      readonly status: 'ACTIVE';
      readonly id: string;
      readonly quantity: number;
      readonly issued: number;
      readonly createdAt: number;
      readonly updatedAt: number;
    });

export const initialCoupon = (id: string): CouponState => ({ status: 'NONE', id });
