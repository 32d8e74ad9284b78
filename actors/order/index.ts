// OrderActor: an order's life, and the payment and cancel sagas it runs over products and the user.

import type { EntityModule } from '../shared/entity.js';
import { decideOrder } from './decide.js';
import { evolveOrder } from './evolve.js';
import type { OrderCommand, OrderEvent, OrderStatus, OrderView, SagaStep } from './protocol.js';
import { attemptOf, initialOrder, orderIn, type OrderState } from './state.js';

export type { OrderCommand, OrderCoupon, OrderEvent, OrderItem, OrderStatus, OrderView, SagaStep } from './protocol.js';
export type { OrderState } from './state.js';

const volatile = new Set<OrderEvent['type']>(['SagaStarted', 'StepSucceeded', 'StepFailed', 'SagaStalled']);

/** The status the outside world sees: a cancel in progress is still a paid order. */
export function publicStatus(state: Exclude<OrderState, { status: 'NONE' }>): OrderStatus {
  return state.status === 'CANCELLING' ? 'PAID' : state.status;
}

export const orderModule: EntityModule<OrderState, OrderCommand, OrderEvent, OrderView, SagaStep> = {
  kind: 'order',
  initial: initialOrder,
  decide: decideOrder,
  evolve: evolveOrder,
  isDurable: (event) => !volatile.has(event.type),
  refOf: () => undefined,
  exists: (state) => state.status !== 'NONE',
  view: (state) =>
    state.status === 'NONE'
      ? { id: state.id, userId: '', status: 'CREATED', items: [], total: 0, couponId: null, discount: 0, failureReason: null, createdAt: 0, updatedAt: 0 }
      : {
          id: state.id,
          userId: state.userId,
          status: publicStatus(state),
          items: [...state.items],
          total: state.total,
          couponId: state.couponId,
          discount: state.discount,
          failureReason: state.status === 'FAILED' ? state.failure.error : null,
          createdAt: state.createdAt,
          updatedAt: state.updatedAt,
        },
  snapshot: (state) => (state.status === 'PAYING' || state.status === 'CANCELLING' ? { ...state, saga: null } : state),
  // In the one layout of every order (see `orderIn`); orders snapshotted before coupons existed have none and no discount.
  restore: (state) => {
    if (state.status === 'NONE') return state;
    const base = { ...state, couponId: state.couponId ?? null, discount: state.discount ?? 0 };
    return orderIn(state.status, base, state.updatedAt, null, attemptOf(state), state.status === 'FAILED' ? state.failure : null);
  },
  onRecovered: (state) => (state.status === 'PAYING' || state.status === 'CANCELLING' ? { type: 'ResumeSaga' } : undefined),
  replied: (step, result) => ({ type: 'StepReplied', step, result }),
};
