// CouponActor messages: a coupon template and its first-come-first-served issuing.

export type DiscountType = 'FIXED' | 'PERCENT';

/** What a holder of the coupon gets, and when it may be issued and used (epoch ms; null: no bound). */
export interface CouponTerms {
  readonly name: string;
  readonly discountType: DiscountType;
  /** Minor units off the order for FIXED, percent of the order for PERCENT. */
  readonly discountValue: number;
  readonly validFrom: number | null;
  readonly validUntil: number | null;
}

export type CouponCommand =
  | ({ readonly type: 'CreateCoupon'; readonly quantity: number } & CouponTerms)
  /** Issues one coupon to a user; `resumed`: the user may have been issued one before a crash. */
  | { readonly type: 'IssueCoupon'; readonly userId: string; readonly resumed: boolean };

export type CouponEvent =
  | ({ readonly type: 'CouponCreated'; readonly id: string; readonly quantity: number; readonly at: number } & CouponTerms)
  /** `ref` is the user's id: a user is issued a coupon at most once. */
  | { readonly type: 'CouponIssued'; readonly ref: string; readonly at: number };

export interface CouponView extends CouponTerms {
  readonly id: string;
  readonly quantity: number;
  readonly issued: number;
}
