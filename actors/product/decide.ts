// ProductActor decisions: pure, from state, command and context to events or a rejection.

import type { Decision, DecideContext } from '../shared/entity.js';
import { MAX_AMOUNT, assertNever, reject } from '../shared/result.js';
import type { ProductCommand, ProductEvent } from './protocol.js';
import type { ProductState } from './state.js';

type ProductDecision = Decision<ProductEvent>;

const done = (events: ProductEvent[]): ProductDecision => ({ events, reply: 'view' });
const already: ProductDecision = { events: [], reply: 'view' };

export function decideProduct(state: ProductState, command: ProductCommand, ctx: DecideContext): ProductDecision {
  if (command.type === 'CreateProduct') {
    if (state.status !== 'NONE') return { events: [], reply: reject('ALREADY_EXISTS', `product ${state.id} already exists`) };
    return done([
      { type: 'ProductCreated', id: state.id, name: command.name, price: command.price, stock: command.stock, at: ctx.now },
    ]);
  }
  if (state.status === 'NONE') return { events: [], reply: reject('NOT_FOUND', `product ${state.id} not found`, state.id) };

  switch (command.type) {
    case 'Restock': {
      const seen = ctx.seen(command.ref);
      if (seen === undefined && command.keyed) return { recall: command.ref };
      if (seen?.includes('Restocked')) return already;
      if (state.stock + command.quantity > MAX_AMOUNT) {
        return { events: [], reply: reject('STOCK_LIMIT_EXCEEDED', `stock would exceed ${MAX_AMOUNT}`, state.id) };
      }
      return done([{ type: 'Restocked', ref: command.ref, quantity: command.quantity, at: ctx.now }]);
    }
    case 'ReserveStock': {
      const seen = ctx.seen(command.ref);
      if (seen === undefined && command.resumed) return { recall: command.ref };
      if (seen?.includes('StockReleased')) {
        return { events: [], reply: reject('RESERVATION_RELEASED', `stock for order ${command.ref} was already released`, state.id) };
      }
      if (seen?.includes('StockReserved')) return already;
      if (state.stock < command.quantity) {
        return {
          events: [],
          reply: reject('INSUFFICIENT_STOCK', `product ${state.id} has ${state.stock} in stock, the order needs ${command.quantity}`, state.id),
        };
      }
      return done([{ type: 'StockReserved', ref: command.ref, quantity: command.quantity, at: ctx.now }]);
    }
    case 'ReleaseStock': {
      const seen = ctx.seen(command.ref);
      if (seen === undefined) return { recall: command.ref };
      if (seen.includes('StockReleased') || !seen.includes('StockReserved')) return already;
      return done([{ type: 'StockReleased', ref: command.ref, quantity: command.quantity, at: ctx.now }]);
    }
    default:
      return assertNever(command);
  }
}
