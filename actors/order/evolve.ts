// OrderActor state transitions: pure, one event at a time, saga progress included.

import { assertNever } from '../shared/result.js';
import type { OrderEvent } from './protocol.js';
import { stepKey, type OrderState, type SagaProgress } from './state.js';

export function evolveOrder(state: OrderState, event: OrderEvent): OrderState {
  if (event.type === 'OrderCreated') {
    const { id, userId, items, total, expiresAt, at } = event;
    return { status: 'CREATED', id, userId, items, total, expiresAt, createdAt: at, updatedAt: at };
  }
  if (state.status === 'NONE') return state;
  switch (event.type) {
    case 'PaymentStarted':
      return { ...state, status: 'PAYING', saga: null, attempt: 0, updatedAt: event.at };
    case 'OrderPaid':
      return { ...base(state), status: 'PAID', updatedAt: event.at };
    case 'OrderFailed':
      return { ...base(state), status: 'FAILED', failure: event.failure, updatedAt: event.at };
    case 'CancelStarted':
      return { ...base(state), status: 'CANCELLING', saga: null, attempt: 0, updatedAt: event.at };
    case 'OrderCancelled':
      return { ...base(state), status: 'CANCELLED', updatedAt: event.at };
    case 'OrderExpired':
      return { ...base(state), status: 'EXPIRED', updatedAt: event.at };
    case 'SagaStarted':
    case 'StepSucceeded':
    case 'StepFailed':
    case 'SagaStalled':
      if (state.status !== 'PAYING' && state.status !== 'CANCELLING') return state;
      return { ...state, saga: progress(state.saga, event), attempt: event.type === 'SagaStarted' ? event.attempt : state.attempt };
    default:
      return assertNever(event);
  }
}

function base(state: Exclude<OrderState, { status: 'NONE' }>) {
  const { id, userId, items, total, createdAt, updatedAt, expiresAt } = state;
  return { id, userId, items, total, createdAt, updatedAt, expiresAt };
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
