// Which committed events leave the engine through the outbox, per actor kind, and the message each becomes.

import { orderModule, type OrderEvent, type OrderState, type OrderView } from '../../actors/order/index.js';
import type { ProductEvent, ProductState } from '../../actors/product/index.js';
import type { UserEvent, UserState } from '../../actors/user/index.js';
import { isoString } from '../iso-string.js';
import type { OutboxMessage, StoredEvent } from '../journal/journal.js';

/** An actor kind's outbox messages for the durable events of one command, given the state after them. */
export type Publish<S, E> = (key: string, state: S, events: readonly E[], stored: readonly StoredEvent[]) => OutboxMessage[];

/**
 * The published body. `id` is the dedupe key (`Nats-Msg-Id`, `Idempotency-Key`); `sequenceNr`
 * orders the events of one aggregate, `orderId` ties every event to the order it concerns. Its
 * instants are ISO 8601 strings in UTC, as in every HTTP body.
 */
export interface PublishedEvent<D> {
  readonly id: string;
  readonly type: string;
  readonly orderId: string;
  readonly aggregate: { readonly kind: string; readonly id: string; readonly sequenceNr: number };
  readonly at: string;
  readonly data: D;
}

const message = <D>(key: string, kind: string, aggregateId: string, stored: StoredEvent, orderId: string, data: D): OutboxMessage => {
  const id = `${key}:${stored.sequenceNr}`;
  const body: PublishedEvent<D> = { id, type: stored.type, orderId, aggregate: { kind, id: aggregateId, sequenceNr: stored.sequenceNr }, at: isoString(stored.at), data };
  return { id, type: stored.type, orderId, payload: JSON.stringify(body), at: stored.at };
};

/**
 * One kind's publisher: each durable event `pick` accepts becomes a message about the order it
 * names, with the data `pick` gives; the others stay inside the engine.
 */
const publisher =
  <S extends { readonly id: string }, E>(kind: string, pick: (state: S, event: E) => { orderId: string; data: unknown } | undefined): Publish<S, E> =>
  (key, state, events, stored) => {
    const out: OutboxMessage[] = [];
    events.forEach((event, i) => {
      const s = stored[i];
      const picked = s && pick(state, event);
      if (s && picked) out.push(message(key, kind, state.id, s, picked.orderId, picked.data));
    });
    return out;
  };

/** The order as an HTTP body shows it: its instants in ISO 8601. */
const publishedOrder = (view: OrderView) => ({ ...view, createdAt: isoString(view.createdAt), updatedAt: isoString(view.updatedAt) });

/** The order's own outcome events carry the whole order, so a consumer needs nothing else. */
export const orderMessages = publisher<OrderState, OrderEvent>('order', (state, event) =>
  (event.type === 'OrderPaid' || event.type === 'OrderCancelled' || event.type === 'OrderFailed') && state.status !== 'NONE'
    ? { orderId: state.id, data: publishedOrder(orderModule.view(state)) }
    : undefined,
);

/** Stock reserved for, or released from, an order (the event's ref is the order id). */
export const productMessages = publisher<ProductState, ProductEvent>('product', (state, event) =>
  event.type === 'StockReserved' || event.type === 'StockReleased' ? { orderId: event.ref, data: { productId: state.id, quantity: event.quantity } } : undefined,
);

/** Points debited for, or refunded to, an order (the event's ref is the order id). */
export const userMessages = publisher<UserState, UserEvent>('user', (state, event) =>
  event.type === 'PointsDebited' || event.type === 'PointsRefunded' ? { orderId: event.ref, data: { userId: state.id, amount: event.amount } } : undefined,
);
