// OrderActor state transitions: pure, one event at a time, saga progress included.

import { assertNever } from '../shared/result.js';
import type { OrderEvent } from './protocol.js';
import { stepKey, type OrderState, type SagaProgress } from './state.js';

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
      return { status: 'PAYING', ...base(state, event.at), saga: null, attempt: 0 };
    case 'OrderPaid':
      return { status: 'PAID', ...base(state, event.at) };
    case 'OrderFailed':
      return { status: 'FAILED', ...base(state, event.at), failure: event.failure };
    case 'CancelStarted':
      return { status: 'CANCELLING', ...base(state, event.at), saga: null, attempt: 0 };
    case 'OrderCancelled':
      return { status: 'CANCELLED', ...base(state, event.at) };
    case 'OrderExpired':
      return { status: 'EXPIRED', ...base(state, event.at) };
    case 'SagaStarted':
    case 'StepSucceeded':
    case 'StepFailed':
    case 'SagaStalled': {
      if (state.status !== 'PAYING' && state.status !== 'CANCELLING') return state;
      const saga = progress(state.saga, event);
      const attempt = event.type === 'SagaStarted' ? event.attempt : state.attempt;
      // Saga progress keeps `updatedAt`: it is in memory only and changes nothing a reader sees.
      return { status: state.status, ...base(state, state.updatedAt), saga, attempt };
    }
    default:
      return assertNever(event);
  }
}

/**
 * The fields every existing order has, built field by field: spreading states of different
 * shapes makes V8 take its slow generic copy, and this runs several times per payment.
 */
function base(state: Exclude<OrderState, { status: 'NONE' }>, updatedAt: number) {
  return {
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
