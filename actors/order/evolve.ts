// OrderActor state transitions: pure, one event at a time, saga progress included.

import { assertNever } from '../shared/result.js';
import type { OrderEvent } from './protocol.js';
import { stepKey, type ExistingOrder, type OrderState, type SagaProgress } from './state.js';

export function evolveOrder(state: OrderState, event: OrderEvent): OrderState {
  if (event.type === 'OrderCreated') {
    const { id, userId, items, total, expiresAt, at } = event;
    const couponId = event.couponId ?? null;
    const discount = event.discount ?? 0;
    return { status: 'CREATED', id, userId, items, total, couponId, discount, expiresAt, createdAt: at, updatedAt: at };
  }
  if (state.status === 'NONE') return state;
  switch (event.type) {
    case 'PaymentStarted':
      return { ...moved(state, 'PAYING', event.at), saga: null, attempt: 0 };
    case 'OrderPaid':
      return moved(state, 'PAID', event.at);
    case 'OrderFailed':
      return { ...moved(state, 'FAILED', event.at), failure: event.failure };
    case 'CancelStarted':
      return { ...moved(state, 'CANCELLING', event.at), saga: null, attempt: 0 };
    case 'OrderCancelled':
      return moved(state, 'CANCELLED', event.at);
    case 'OrderExpired':
      return moved(state, 'EXPIRED', event.at);
    case 'SagaStarted':
    case 'StepSucceeded':
    case 'StepFailed':
    case 'SagaStalled': {
      if (state.status !== 'PAYING' && state.status !== 'CANCELLING') return state;
      // Saga progress keeps `updatedAt`: it is in memory only and changes nothing a reader sees.
      // Runs several times per payment: one literal with every field, nothing spread.
      return {
        status: state.status,
        id: state.id,
        userId: state.userId,
        items: state.items,
        total: state.total,
        couponId: state.couponId,
        discount: state.discount,
        createdAt: state.createdAt,
        updatedAt: state.updatedAt,
        expiresAt: state.expiresAt,
        saga: progress(state.saga, event),
        attempt: event.type === 'SagaStarted' ? event.attempt : state.attempt,
      };
    }
    default:
      return assertNever(event);
  }
}

/**
 * The order in a new status, built field by field: spreading states of different shapes makes
 * V8 take its slow generic copy. The status-specific fields are added by the caller.
 */
function moved<S extends ExistingOrder['status']>(state: ExistingOrder, status: S, updatedAt: number) {
  return {
    status,
    id: state.id,
    userId: state.userId,
    items: state.items,
    total: state.total,
    couponId: state.couponId,
    discount: state.discount,
    createdAt: state.createdAt,
    updatedAt,
    expiresAt: state.expiresAt,
  };
}

type ProgressEvent = Extract<OrderEvent, { type: 'SagaStarted' | 'StepSucceeded' | 'StepFailed' | 'SagaStalled' }>;

function progress(saga: SagaProgress | null, event: ProgressEvent): SagaProgress | null {
  switch (event.type) {
    case 'SagaStarted':
      // A later phase keeps what the earlier ones learnt: which products are reserved, why it failed.
      return saga === null || saga.attempt !== event.attempt
        ? { phase: event.phase, attempt: event.attempt, awaiting: event.awaiting, reserved: [], failure: null, resumed: event.resumed }
        : { ...saga, phase: event.phase, awaiting: event.awaiting };
    case 'StepSucceeded': {
      if (saga === null) return saga;
      const key = stepKey(event.step);
      const reserved = event.step.action === 'reserve' && event.step.productId ? [...saga.reserved, event.step.productId] : saga.reserved;
      return { ...saga, awaiting: saga.awaiting.filter((k) => k !== key), reserved };
    }
    case 'StepFailed': {
      if (saga === null) return saga;
      const key = stepKey(event.step);
      return { ...saga, awaiting: saga.awaiting.filter((k) => k !== key), failure: saga.failure ?? event.failure };
    }
    case 'SagaStalled':
      return null;
    default:
      return assertNever(event);
  }
}
