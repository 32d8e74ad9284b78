// Which committed events leave the engine through the outbox, per actor kind, and the message each becomes.

import { orderModule, type OrderEvent, type OrderState } from '../../actors/order/index.js';
import type { ProductEvent, ProductState } from '../../actors/product/index.js';
import type { UserEvent, UserState } from '../../actors/user/index.js';
import type { OutboxMessage, StoredEvent } from '../journal/journal.js';

/** An actor kind's outbox messages for the durable events of one command, given the state after them. */
export type Publish<S, E> = (key: string, state: S, events: readonly E[], stored: readonly StoredEvent[]) => OutboxMessage[];

/**
 * The published body. `id` is the dedupe key (`Nats-Msg-Id`, `Idempotency-Key`); `sequenceNr`
 * orders the events of one aggregate, `orderId` ties every event to the order it concerns.
 */
export interface PublishedEvent<D> {
  readonly id: string;
  readonly type: string;
  readonly orderId: string;
  readonly aggregate: { readonly kind: string; readonly id: string; readonly sequenceNr: number };
  readonly at: number;
  readonly data: D;
}

const message = <D>(key: string, kind: string, aggregateId: string, stored: StoredEvent, orderId: string, data: D): OutboxMessage => {
  const id = `${key}:${stored.sequenceNr}`;
  const body: PublishedEvent<D> = { id, type: stored.type, orderId, aggregate: { kind, id: aggregateId, sequenceNr: stored.sequenceNr }, at: stored.at, data };
  return { id, type: stored.type, orderId, payload: JSON.stringify(body), at: stored.at };
};

const ORDER_EVENTS: ReadonlySet<OrderEvent['type']> = new Set(['OrderPaid', 'OrderCancelled', 'OrderFailed']);

/** The order's own outcome events carry the whole order, so a consumer needs nothing else. */
export const orderMessages: Publish<OrderState, OrderEvent> = (key, state, events, stored) => {
  const out: OutboxMessage[] = [];
  events.forEach((event, i) => {
    const s = stored[i];
    if (s && ORDER_EVENTS.has(event.type) && state.status !== 'NONE') out.push(message(key, 'order', state.id, s, state.id, orderModule.view(state)));
  });
  return out;
};

/** Stock reserved for, or released from, an order (the event's ref is the order id). */
export const productMessages: Publish<ProductState, ProductEvent> = (key, state, events, stored) => {
  const out: OutboxMessage[] = [];
  events.forEach((event, i) => {
    const s = stored[i];
    if (s && (event.type === 'StockReserved' || event.type === 'StockReleased')) {
      out.push(message(key, 'product', state.id, s, event.ref, { productId: state.id, quantity: event.quantity }));
    }
  });
  return out;
};

/** Points debited for, or refunded to, an order (the event's ref is the order id). */
export const userMessages: Publish<UserState, UserEvent> = (key, state, events, stored) => {
  const out: OutboxMessage[] = [];
  events.forEach((event, i) => {
    const s = stored[i];
    if (s && (event.type === 'PointsDebited' || event.type === 'PointsRefunded')) {
      out.push(message(key, 'user', state.id, s, event.ref, { userId: state.id, amount: event.amount }));
    }
  });
  return out;
};
