// OrderActor decisions: pure; a payment or cancel answers when its saga ends (`defer`).

import { discountOn } from '../coupon/terms.js';
import type { Decision, DecideContext } from '../shared/entity.js';
import { MAX_AMOUNT, assertNever, reject, type Rejection, type Result } from '../shared/result.js';
import { evolveOrder } from './evolve.js';
import type { OrderCommand, OrderEvent, OrderItem, SagaStep } from './protocol.js';
import { isInfrastructure, nextMoves, startSaga, type Moves } from './saga.js';
import { stepKey, type ExistingOrder, type OrderState, type SagaOrder } from './state.js';

type OrderDecision = Decision<OrderEvent, SagaStep>;

const view: OrderDecision = { events: [], reply: 'view' };
const refuse = (rejection: Rejection): OrderDecision => ({ events: [], reply: rejection });

export function decideOrder(state: OrderState, command: OrderCommand, ctx: DecideContext): OrderDecision {
  if (command.type === 'CreateOrder') {
    if (state.status !== 'NONE') return refuse(reject('ALREADY_EXISTS', `order ${state.id} already exists`));
    const invalid = validateItems(command.items);
    if (invalid) return refuse(invalid);
    const subtotal = command.items.reduce((sum, item) => sum + item.quantity * item.unitPrice, 0);
    if (subtotal > MAX_AMOUNT) return refuse(reject('INVALID_ORDER', `order total ${subtotal} exceeds ${MAX_AMOUNT}`));
    const discount = command.coupon ? discountOn(subtotal, command.coupon) : 0;
    const event: OrderEvent = {
      type: 'OrderCreated',
      id: state.id,
      userId: command.userId,
      items: command.items,
      total: subtotal - discount,
      expiresAt: ctx.now + command.ttlMs,
      at: ctx.now,
      ...(command.coupon ? { couponId: command.coupon.couponId, discount } : {}),
    };
    return { events: [event], reply: 'view' };
  }
  if (state.status === 'NONE') return refuse(reject('NOT_FOUND', `order ${state.id} not found`));

  switch (command.type) {
    case 'PayOrder':
      return pay(state, ctx.now);
    case 'CancelOrder':
      return cancel(state, ctx.now);
    case 'ExpireOrder':
      return state.status === 'CREATED' && ctx.now >= state.expiresAt ? { events: [{ type: 'OrderExpired', at: ctx.now }], reply: 'view' } : view;
    case 'ResumeSaga':
      return (state.status === 'PAYING' || state.status === 'CANCELLING') && state.saga === null
        ? withMoves([], startSaga(state, true), 'view')
        : view;
    case 'StepReplied':
      return stepReplied(state, command.step, command.result, ctx.now);
    default:
      return assertNever(command);
  }
}

function validateItems(items: readonly OrderItem[]): Rejection | undefined {
  if (items.length === 0) return reject('INVALID_ORDER', 'an order needs at least one item');
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.productId)) return reject('INVALID_ORDER', `product ${item.productId} appears twice`, item.productId);
    seen.add(item.productId);
    if (!Number.isSafeInteger(item.quantity) || item.quantity <= 0) {
      return reject('INVALID_ORDER', `quantity of ${item.productId} must be a positive integer`, item.productId);
    }
  }
  return undefined;
}

function pay(order: ExistingOrder, now: number): OrderDecision {
  switch (order.status) {
    case 'CREATED': {
      if (now >= order.expiresAt) {
        return { events: [{ type: 'OrderExpired', at: now }], reply: reject('ORDER_NOT_PAYABLE', `order ${order.id} has expired`) };
      }
      const started: OrderEvent = { type: 'PaymentStarted', at: now };
      return withMoves([started], startSaga(evolveOrder(order, started) as SagaOrder, false), 'defer');
    }
    case 'PAYING':
      return order.saga === null ? withMoves([], startSaga(order, true), 'defer') : { events: [], reply: 'defer' };
    case 'PAID':
      return view;
    case 'FAILED':
      return refuse(reject('ORDER_NOT_PAYABLE', `order ${order.id} failed: ${order.failure.error}: ${order.failure.message}`));
    case 'CANCELLING':
    case 'CANCELLED':
    case 'EXPIRED':
      return refuse(reject('ORDER_NOT_PAYABLE', `order ${order.id} is ${order.status.toLowerCase()}`));
    default:
      return assertNever(order);
  }
}

function cancel(order: ExistingOrder, now: number): OrderDecision {
  switch (order.status) {
    case 'CREATED':
      return { events: [{ type: 'OrderCancelled', at: now }], reply: 'view' };
    case 'PAID': {
      const started: OrderEvent = { type: 'CancelStarted', at: now };
      return withMoves([started], startSaga(evolveOrder(order, started) as SagaOrder, false), 'defer');
    }
    case 'CANCELLING':
      return order.saga === null ? withMoves([], startSaga(order, true), 'defer') : { events: [], reply: 'defer' };
    case 'CANCELLED':
      return view;
    case 'PAYING':
      return refuse(reject('ORDER_NOT_CANCELLABLE', `order ${order.id} is being paid`));
    case 'FAILED':
    case 'EXPIRED':
      return refuse(reject('ORDER_NOT_CANCELLABLE', `order ${order.id} is ${order.status.toLowerCase()}`));
    default:
      return assertNever(order);
  }
}

function stepReplied(order: ExistingOrder, step: SagaStep, result: Result<unknown>, now: number): OrderDecision {
  if ((order.status !== 'PAYING' && order.status !== 'CANCELLING') || order.saga === null) return view;
  if (!order.saga.awaiting.includes(stepKey(step))) return view;
  if (!result.ok && isInfrastructure(result.error)) {
    // The step may or may not have happened: stop here and let a resumed saga ask again.
    return { events: [{ type: 'SagaStalled' }], reply: 'view', settle: result };
  }
  const event: OrderEvent = result.ok
    ? { type: 'StepSucceeded', step }
    : { type: 'StepFailed', step, failure: { error: result.error, message: result.message, ...(result.productId ? { productId: result.productId } : {}) } };
  return withMoves([event], nextMoves(evolveOrder(order, event) as SagaOrder, now), 'view');
}

function withMoves(events: OrderEvent[], moves: Moves, reply: 'view' | 'defer'): OrderDecision {
  return {
    events: [...events, ...moves.events],
    reply,
    effects: moves.effects,
    ...(moves.settle ? { settle: moves.settle } : {}),
  };
}
