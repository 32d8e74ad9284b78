// OrderActor messages: the order's life and the payment and cancel sagas it coordinates.

import type { DiscountType } from '../coupon/protocol.js';
import type { ErrorCode, Result } from '../shared/result.js';

/** The coupon an order is paid with, and its discount terms captured when the order was created. */
export interface OrderCoupon {
  readonly couponId: string;
  readonly discountType: DiscountType;
  readonly discountValue: number;
}

export interface OrderItem {
  readonly productId: string;
  readonly quantity: number;
  /** Price per unit, captured from the product when the order was created. */
  readonly unitPrice: number;
}

/** One request of a saga to another actor; its answer comes back carrying the same step. */
export interface SagaStep {
  readonly action: 'reserve' | 'release' | 'debit' | 'refund';
  readonly productId?: string;
  /** Which run of the saga asked: a late answer to a stalled run must not count for the next. */
  readonly attempt: number;
}

export interface Failure {
  readonly error: ErrorCode;
  readonly message: string;
  readonly productId?: string;
}

export type OrderCommand =
  | {
      readonly type: 'CreateOrder';
      readonly userId: string;
      readonly items: readonly OrderItem[];
      readonly ttlMs: number;
      readonly coupon?: OrderCoupon;
    }
  | { readonly type: 'PayOrder' }
  | { readonly type: 'CancelOrder' }
  | { readonly type: 'ExpireOrder' }
  | { readonly type: 'ResumeSaga' }
  | { readonly type: 'StepReplied'; readonly step: SagaStep; readonly result: Result<unknown> };

export type OrderEvent =
  | {
      readonly type: 'OrderCreated';
      readonly id: string;
      readonly userId: string;
      readonly items: readonly OrderItem[];
      /** What the user pays: the items less the coupon's discount. */
      readonly total: number;
      readonly expiresAt: number;
      readonly at: number;
      readonly couponId?: string;
      readonly discount?: number;
    }
  | { readonly type: 'PaymentStarted'; readonly at: number }
  | { readonly type: 'OrderPaid'; readonly at: number }
  | { readonly type: 'OrderFailed'; readonly failure: Failure; readonly at: number }
  | { readonly type: 'CancelStarted'; readonly at: number }
  | { readonly type: 'OrderCancelled'; readonly at: number }
  | { readonly type: 'OrderExpired'; readonly at: number }
  // In-memory saga progress, never journaled: after a crash the saga starts its steps again.
  | { readonly type: 'SagaStarted'; readonly phase: SagaPhase; readonly attempt: number; readonly awaiting: readonly string[]; readonly resumed: boolean }
  | { readonly type: 'StepSucceeded'; readonly step: SagaStep }
  | { readonly type: 'StepFailed'; readonly step: SagaStep; readonly failure: Failure }
  | { readonly type: 'SagaStalled' };

export type SagaPhase = 'RESERVING' | 'DEBITING' | 'RELEASING' | 'CANCELLING';

export type OrderStatus = 'CREATED' | 'PAYING' | 'PAID' | 'FAILED' | 'CANCELLED' | 'EXPIRED';

export interface OrderView {
  readonly id: string;
  readonly userId: string;
  readonly status: OrderStatus;
  readonly items: OrderItem[];
  readonly total: number;
  readonly couponId: string | null;
  readonly discount: number;
  readonly failureReason: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}
