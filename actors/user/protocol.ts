// UserActor messages: commands in the imperative, events in the past tense.

import type { CouponTerms } from '../coupon/protocol.js';
import type { Result } from '../shared/result.js';

/** One request of a coupon claim to the coupon actor; its answer comes back carrying the same step. */
export interface ClaimStep {
  readonly couponId: string;
  /** Which run of the claim asked: a late answer to a stalled run must not count for the next. */
  readonly attempt: number;
}

export type UserCommand =
  | { readonly type: 'CreateUser'; readonly name: string; readonly points: number }
  | { readonly type: 'ChargePoints'; readonly ref: string; readonly amount: number; readonly keyed: boolean }
  /** Debits an order's points; with `couponId`, marks that coupon used by the order in the same event. */
  | { readonly type: 'DebitPoints'; readonly ref: string; readonly amount: number; readonly resumed: boolean; readonly couponId?: string }
  /** Refunds an order's points and gives back the coupon it used. */
  | { readonly type: 'RefundPoints'; readonly ref: string; readonly amount: number; readonly couponId?: string }
  /** Asks the coupon actor for one of its coupons; answers when the claim ends. */
  | { readonly type: 'ClaimCoupon'; readonly couponId: string }
  /** Asks again for every claim a crash or a failed step interrupted. */
  | { readonly type: 'ResumeClaims' }
  | { readonly type: 'ClaimReplied'; readonly step: ClaimStep; readonly result: Result<unknown> };

export type UserEvent =
  | { readonly type: 'UserCreated'; readonly id: string; readonly name: string; readonly points: number; readonly at: number }
  | { readonly type: 'PointsCharged'; readonly ref: string; readonly amount: number; readonly at: number }
  | { readonly type: 'PointsDebited'; readonly ref: string; readonly amount: number; readonly couponId?: string; readonly at: number }
  | { readonly type: 'PointsRefunded'; readonly ref: string; readonly amount: number; readonly couponId?: string; readonly at: number }
  | { readonly type: 'CouponClaimStarted'; readonly couponId: string; readonly at: number }
  | ({ readonly type: 'CouponGranted'; readonly couponId: string; readonly at: number } & CouponTerms)
  | { readonly type: 'CouponClaimFailed'; readonly couponId: string; readonly error: string; readonly at: number }
  // In-memory claim progress, never journaled: after a crash a claim asks the coupon again.
  | { readonly type: 'ClaimAsked'; readonly couponId: string; readonly attempt: number }
  | { readonly type: 'ClaimStalled'; readonly couponId: string };

export interface UserView {
  readonly id: string;
  readonly name: string;
  readonly points: number;
}
