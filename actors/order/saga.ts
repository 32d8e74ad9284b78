// The payment and cancel sagas as data: given an order, which events follow and which commands go out.

import type { ProductCommand } from '../product/protocol.js';
import type { Effect } from '../shared/entity.js';
import { isInfrastructure, reject, type Rejection } from '../shared/result.js';
import type { UserCommand } from '../user/protocol.js';
import type { Failure, OrderEvent, SagaStep } from './protocol.js';
import { stepKey, type SagaOrder, type SagaProgress } from './state.js';

export interface Moves {
  readonly events: OrderEvent[];
  readonly effects: Effect<SagaStep>[];
  readonly settle?: 'view' | Rejection;
}

const none: Moves = { events: [], effects: [] };

export { isInfrastructure };

export const failureRejection = (failure: Failure): Rejection => reject(failure.error, failure.message, failure.productId);

/**
 * The first moves of a saga: reserve every item for a payment, release every item and refund
 * the points for a cancel. `resumed` tells the other actors to check their journal for this
 * order when they no longer remember it.
 */
export function startSaga(order: SagaOrder, resumed: boolean): Moves {
  const attempt = order.attempt + 1;
  if (order.status === 'PAYING') {
    const effects = order.items.map((item): Effect<SagaStep> => {
      const command: ProductCommand = { type: 'ReserveStock', ref: order.id, quantity: item.quantity, resumed };
      return { to: { kind: 'product', id: item.productId }, command, step: { action: 'reserve', productId: item.productId, attempt } };
    });
    return { events: [{ type: 'SagaStarted', phase: 'RESERVING', attempt, awaiting: effects.map((e) => stepKey(e.step)), resumed }], effects };
  }
  const refund: UserCommand = { type: 'RefundPoints', ref: order.id, amount: order.total, ...withCoupon(order) };
  const effects = [
    ...releaseEffects(order, order.items.map((item) => item.productId), attempt),
    { to: { kind: 'user', id: order.userId }, command: refund, step: { action: 'refund', attempt } } as const,
  ];
  return { events: [{ type: 'SagaStarted', phase: 'CANCELLING', attempt, awaiting: effects.map((e) => stepKey(e.step)), resumed }], effects };
}

/** The moves once every step of the current phase has answered. */
export function nextMoves(order: SagaOrder, now: number): Moves {
  const saga = order.saga;
  if (saga === null || saga.awaiting.length > 0) return none;
  switch (saga.phase) {
    case 'RESERVING': {
      if (saga.failure) return releaseOrFail(order, saga, saga.failure, now);
      const debit: UserCommand = { type: 'DebitPoints', ref: order.id, amount: order.total, resumed: saga.resumed, ...withCoupon(order) };
      const step: SagaStep = { action: 'debit', attempt: saga.attempt };
      return {
        events: [{ type: 'SagaStarted', phase: 'DEBITING', attempt: saga.attempt, awaiting: [stepKey(step)], resumed: saga.resumed }],
        effects: [{ to: { kind: 'user', id: order.userId }, command: debit, step }],
      };
    }
    case 'DEBITING':
      if (saga.failure) return releaseOrFail(order, saga, saga.failure, now);
      return { events: [{ type: 'OrderPaid', at: now }], effects: [], settle: 'view' };
    case 'RELEASING': {
      const failure = saga.failure ?? { error: 'ORDER_NOT_PAYABLE', message: 'payment failed' };
      return { events: [{ type: 'OrderFailed', failure, at: now }], effects: [], settle: failureRejection(failure) };
    }
    case 'CANCELLING':
      return { events: [{ type: 'OrderCancelled', at: now }], effects: [], settle: 'view' };
  }
}

/** The coupon the user marks used with the debit, and gets back with the refund. */
const withCoupon = (order: SagaOrder): { couponId?: string } => (order.couponId ? { couponId: order.couponId } : {});

function releaseOrFail(order: SagaOrder, saga: SagaProgress, failure: Failure, now: number): Moves {
  if (saga.reserved.length === 0) {
    return { events: [{ type: 'OrderFailed', failure, at: now }], effects: [], settle: failureRejection(failure) };
  }
  const effects = releaseEffects(order, saga.reserved, saga.attempt);
  return {
    events: [{ type: 'SagaStarted', phase: 'RELEASING', attempt: saga.attempt, awaiting: effects.map((e) => stepKey(e.step)), resumed: saga.resumed }],
    effects,
  };
}

function releaseEffects(order: SagaOrder, productIds: readonly string[], attempt: number): Effect<SagaStep>[] {
  return productIds.map((productId) => {
    const quantity = order.items.find((item) => item.productId === productId)?.quantity ?? 0;
    const command: ProductCommand = { type: 'ReleaseStock', ref: order.id, quantity };
    return { to: { kind: 'product', id: productId }, command, step: { action: 'release', productId, attempt } };
  });
}
