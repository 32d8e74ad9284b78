// ProductActor state transitions: pure, one event at a time.

import { assertNever } from '../shared/result.js';
import type { ProductEvent } from './protocol.js';
import type { ProductState } from './state.js';

export function evolveProduct(state: ProductState, event: ProductEvent): ProductState {
  if (event.type === 'ProductCreated') {
    return {
      status: 'ACTIVE',
      id: event.id,
      name: event.name,
      price: event.price,
      stock: event.stock,
      createdAt: event.at,
      updatedAt: event.at,
    };
  }
  if (state.status !== 'ACTIVE') return state;
  switch (event.type) {
    case 'Restocked':
    case 'StockReleased':
      return { ...state, stock: state.stock + event.quantity, updatedAt: event.at };
    case 'StockReserved':
      return { ...state, stock: state.stock - event.quantity, updatedAt: event.at };
    default:
      return assertNever(event);
  }
}
