// Order request and response schemas.

import { Type } from 'typebox';
import { Id, Instant, PageQuery } from './common.js';

const Status = Type.Union([
  Type.Literal('CREATED'),
  Type.Literal('PAYING'),
  Type.Literal('PAID'),
  Type.Literal('FAILED'),
  Type.Literal('CANCELLED'),
  Type.Literal('EXPIRED'),
]);

export const OrderItem = Type.Object({ productId: Type.String(), quantity: Type.Integer(), unitPrice: Type.Integer() }, { title: 'OrderItem' });
export const Order = Type.Object({
  id: Type.String(),
  userId: Type.String(),
  status: Status,
  items: Type.Array(OrderItem),
  total: Type.Integer({ description: 'what the user pays: the items less the discount' }),
  couponId: Type.Union([Type.String(), Type.Null()]),
  discount: Type.Integer(),
  failureReason: Type.Union([Type.String(), Type.Null()]),
  createdAt: Instant(),
  updatedAt: Instant(),
}, { title: 'Order', description: 'an order, its items, total and status' });
export const CreateOrderBody = Type.Object(
  {
    userId: Id,
    items: Type.Array(
      Type.Object({ productId: Id, quantity: Type.Integer({ minimum: 1, maximum: 1_000_000 }) }, { additionalProperties: false }),
      { minItems: 1, maxItems: 100 },
    ),
    couponId: Type.Optional(Id),
  },
  { additionalProperties: false, title: 'NewOrder' },
);
export const OrderListQuery = Type.Object(
  {
    ...PageQuery,
    ids: Type.Optional(Type.String({ maxLength: 100 * 65, description: 'comma-separated order ids, at most 100' })),
    status: Type.Optional(Status),
    days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
);
export const PageOnlyQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
