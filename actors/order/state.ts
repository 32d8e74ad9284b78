// OrderActor state: a union on status, so saga progress exists only while a saga runs.

import type { Failure, OrderItem, SagaPhase, SagaStep } from './protocol.js';

export interface OrderBase {
  readonly id: string;
  readonly userId: string;
  readonly items: readonly OrderItem[];
  readonly total: number;
  readonly couponId: string | null;
  readonly discount: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly expiresAt: number;
}

/** In-memory progress of a running saga; `null` after recovery or a stall, until it resumes. */
export interface SagaProgress {
  readonly phase: SagaPhase;
  /** Step keys still waiting for an answer. */
  readonly awaiting: readonly string[];
  /** Products whose stock this attempt reserved. */
  readonly reserved: readonly string[];
  readonly failure: Failure | null;
  readonly attempt: number;
  /** Started again after a crash or stall: the other actors may need their journal to answer. */
  readonly resumed: boolean;
}

export type OrderState =
  | { readonly status: 'NONE'; readonly id: string }
  | (OrderBase & { readonly status: 'CREATED' })
  | (OrderBase & { readonly status: 'PAYING'; readonly saga: SagaProgress | null; readonly attempt: number })
  | (OrderBase & { readonly status: 'PAID' })
  | (OrderBase & { readonly status: 'CANCELLING'; readonly saga: SagaProgress | null; readonly attempt: number })
  | (OrderBase & { readonly status: 'FAILED'; readonly failure: Failure })
  | (OrderBase & { readonly status: 'CANCELLED' })
  | (OrderBase & { readonly status: 'EXPIRED' });

export type ExistingOrder = Exclude<OrderState, { status: 'NONE' }>;
export type SagaOrder = Extract<OrderState, { status: 'PAYING' | 'CANCELLING' }>;

export const initialOrder = (id: string): OrderState => ({ status: 'NONE', id });

export const stepKey = (step: SagaStep): string => `${step.attempt}:${step.action}:${step.productId ?? ''}`;
