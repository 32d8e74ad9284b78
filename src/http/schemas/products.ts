// Product request and response schemas.

import { Type } from 'typebox';
import { Name, NonNegative, PageQuery, Quantity, QueryText } from './common.js';

export const Product = Type.Object(
  { id: Type.String(), name: Type.String(), price: Type.Integer({ description: 'minor units' }), stock: Type.Integer() },
  { title: 'Product', description: 'a product, its price and its stock' },
);
export const CreateProductBody = Type.Object(
  { name: Name, price: NonNegative(1_000_000_000_000), stock: NonNegative(1_000_000_000_000) },
  { additionalProperties: false, title: 'NewProduct' },
);
export const RestockBody = Type.Object({ quantity: Quantity }, { additionalProperties: false, title: 'Restock' });
export const StockAnswer = Type.Object({ id: Type.String(), stock: Type.Integer() }, { title: 'Stock', description: "the product's stock after the restock" });
export const ProductListQuery = Type.Object({ ...PageQuery, name: Type.Optional(QueryText) }, { additionalProperties: false });
export const PopularQuery = Type.Object(
  { days: Type.Integer({ minimum: 1, maximum: 366, default: 7 }), limit: Type.Integer({ minimum: 1, maximum: 100, default: 10 }) },
  { additionalProperties: false },
);
export const PopularProduct = Type.Object({ id: Type.String(), name: Type.String(), unitsSold: Type.Integer() }, { title: 'PopularProduct', description: 'a best seller and its units sold' });
