// UserActor state: absent until created, then a name, a points balance that never goes negative, and coupons held.

import type { CouponTerms } from '../coupon/protocol.js';

/** A coupon the user is claiming (asking the coupon actor), holds, or has used on an order. */
export type HeldCoupon =
  | {
      readonly status: 'CLAIMING';
      readonly attempt: number;
      /** A request to the coupon actor is out; in memory only, false after recovery or a stall. */
      readonly asking: boolean;
      readonly since: number;
    }
  | (CouponTerms & { readonly status: 'ISSUED'; readonly issuedAt: number })
  | (CouponTerms & { readonly status: 'USED'; readonly issuedAt: number; readonly orderId: string });

export type UserState =
  | { readonly status: 'NONE'; readonly id: string }
  | {
      readonly status: 'ACTIVE';
      readonly id: string;
      readonly name: string;
      readonly points: number;
      readonly createdAt: number;
      readonly updatedAt: number;
      /** By coupon id: a user holds at most one of each coupon. */
      readonly coupons: Readonly<Record<string, HeldCoupon>>;
    };

export const initialUser = (id: string): UserState => ({ status: 'NONE', id });
