// OrderActor state transitions: pure, one event at a time, saga progress included.

import { assertNever } from '../shared/result.js';
import type { OrderEvent } from './protocol.js';
import { orderIn, stepKey, type OrderState, type SagaProgress } from './state.js';

export function evolveOrder(state: OrderState, event: OrderEvent): OrderState {
  if (event.type === 'OrderCreated') {
    const { id, userId, items, total, expiresAt, at } = event;
    const base = { id, userId, items, total, couponId: event.couponId ?? null, discount: event.discount ?? 0, createdAt: at, updatedAt: at, expiresAt };
    return orderIn('CREATED', base, at, null, 0, null);
  }
  if (state.status === 'NONE') return state;
  switch (event.type) {
    case 'PaymentStarted':
      return orderIn('PAYING', state, event.at, null, 0, null);
    case 'OrderPaid':
      return orderIn('PAID', state, event.at, null, 0, null);
    case 'OrderFailed':
      return orderIn('FAILED', state, event.at, null, 0, event.failure);
    case 'CancelStarted':
      return orderIn('CANCELLING', state, event.at, null, 0, null);
    case 'OrderCancelled':
      return orderIn('CANCELLED', state, event.at, null, 0, null);
    case 'OrderExpired':
      return orderIn('EXPIRED', state, event.at, null, 0, null);
    case 'SagaStarted':
    case 'StepSucceeded':
    case 'StepFailed':
    case 'SagaStalled': {
      if (state.status !== 'PAYING' && state.status !== 'CANCELLING') return state;
      // Saga progress keeps `updatedAt`: it is in memory only and changes nothing a reader sees.
      const attempt = event.type === 'SagaStarted' ? event.attempt : state.attempt;
      return orderIn(state.status, state, state.updatedAt, progress(state.saga, event), attempt, null);
    }
    default:
      return assertNever(event);
  }
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
