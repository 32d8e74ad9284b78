// The payment and cancel sagas as data: given an order, which events follow and which commands go out.

import type { ProductCommand } from '../product/protocol.js';
import type { Effect } from '../shared/entity.js';
import { reject, type ErrorCode, type Rejection } from '../shared/result.js';
import type { UserCommand } from '../user/protocol.js';
import type { Failure, OrderEvent, SagaStep } from './protocol.js';
import { stepKey, type SagaOrder } from './state.js';

export interface Moves {
  readonly events: OrderEvent[];
  readonly effects: Effect<SagaStep>[];
  readonly settle?: 'view' | Rejection;
}

const none: Moves = { events: [], effects: [] };

/** Errors that say nothing about the business, only that a step could not be done now. */
export const isInfrastructure = (error: ErrorCode): boolean =>
  error === 'DATABASE_UNAVAILABLE' || error === 'OVERLOADED' || error === 'TIMEOUT';

export const failureRejection = (failure: Failure): Rejection => reject(failure.error, failure.message, failure.productId);

/**
 * The first moves of a saga: reserve every item for a payment, release every item and refund
 * the points for a cancel. `resumed` tells the other actors to check their journal for this
 * order when they no longer remember it.
 */
export function startSaga(order: SagaOrder, resumed: boolean): Moves {
  if (order.status === 'PAYING') {
    const steps = order.items.map((item) => ({ action: 'reserve', productId: item.productId }) as const);
    return {
      events: [{ type: 'SagaStarted', phase: 'RESERVING', awaiting: steps.map(stepKey), resumed }],
      effects: order.items.map((item) => {
        const command: ProductCommand = { type: 'ReserveStock', ref: order.id, quantity: item.quantity, resumed };
        return { to: { kind: 'product', id: item.productId }, command, step: { action: 'reserve', productId: item.productId } };
      }),
    };
  }
  const refund: UserCommand = { type: 'RefundPoints', ref: order.id, amount: order.total };
  const releases = releaseEffects(order, order.items.map((item) => item.productId));
  return {
    events: [
      { type: 'SagaStarted', phase: 'CANCELLING', awaiting: [...releases.map((e) => stepKey(e.step)), stepKey({ action: 'refund' })], resumed },
    ],
    effects: [...releases, { to: { kind: 'user', id: order.userId }, command: refund, step: { action: 'refund' } }],
  };
}

/** The moves once every step of the current phase has answered. */
export function nextMoves(order: SagaOrder, now: number): Moves {
  const saga = order.saga;
  if (saga === null || saga.awaiting.length > 0) return none;
  switch (saga.phase) {
    case 'RESERVING': {
      if (saga.failure) return releaseOrFail(order, saga.reserved, saga.failure, now);
      const debit: UserCommand = { type: 'DebitPoints', ref: order.id, amount: order.total, resumed: saga.resumed };
      return {
        events: [{ type: 'SagaStarted', phase: 'DEBITING', awaiting: [stepKey({ action: 'debit' })], resumed: saga.resumed }],
        effects: [{ to: { kind: 'user', id: order.userId }, command: debit, step: { action: 'debit' } }],
      };
    }
    case 'DEBITING':
      if (saga.failure) return releaseOrFail(order, saga.reserved, saga.failure, now);
      return { events: [{ type: 'OrderPaid', at: now }], effects: [], settle: 'view' };
    case 'RELEASING': {
      const failure = saga.failure ?? { error: 'ORDER_NOT_PAYABLE', message: 'payment failed' };
      return { events: [{ type: 'OrderFailed', failure, at: now }], effects: [], settle: failureRejection(failure) };
    }
    case 'CANCELLING':
      return { events: [{ type: 'OrderCancelled', at: now }], effects: [], settle: 'view' };
  }
}

function releaseOrFail(order: SagaOrder, reserved: readonly string[], failure: Failure, now: number): Moves {
  if (reserved.length === 0) {
    return { events: [{ type: 'OrderFailed', failure, at: now }], effects: [], settle: failureRejection(failure) };
  }
  const effects = releaseEffects(order, reserved);
  return {
    events: [{ type: 'SagaStarted', phase: 'RELEASING', awaiting: effects.map((e) => stepKey(e.step)), resumed: order.saga?.resumed ?? true }],
    effects,
  };
}

function releaseEffects(order: SagaOrder, productIds: readonly string[]): Effect<SagaStep>[] {
  return productIds.map((productId) => {
    const quantity = order.items.find((item) => item.productId === productId)?.quantity ?? 0;
    const command: ProductCommand = { type: 'ReleaseStock', ref: order.id, quantity };
    return { to: { kind: 'product', id: productId }, command, step: { action: 'release', productId } };
  });
}
