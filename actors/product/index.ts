// ProductActor: stock, reserved and released per order, restocked by operators.

import type { EntityModule } from '../shared/entity.js';
import { decideProduct } from './decide.js';
import { evolveProduct } from './evolve.js';
import type { ProductCommand, ProductEvent, ProductView } from './protocol.js';
import { initialProduct, type ProductState } from './state.js';

export type { ProductCommand, ProductEvent, ProductView } from './protocol.js';
export type { ProductState } from './state.js';

export const productModule: EntityModule<ProductState, ProductCommand, ProductEvent, ProductView> = {
  kind: 'product',
  initial: initialProduct,
  decide: decideProduct,
  evolve: evolveProduct,
  isDurable: () => true,
  refOf: (event) => ('ref' in event ? event.ref : undefined),
  exists: (state) => state.status === 'ACTIVE',
  view: (state) =>
    state.status === 'ACTIVE'
      ? { id: state.id, name: state.name, price: state.price, stock: state.stock }
      : { id: state.id, name: '', price: 0, stock: 0 },
  snapshot: (state) => state,
};
