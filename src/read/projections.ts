// Each actor kind's rows in the read model (and the daily sales), derived from its state after a command.

import type { OrderState } from '../../actors/order/index.js';
import type { ProductState } from '../../actors/product/index.js';
import type { UserEvent, UserState } from '../../actors/user/index.js';
import type { CouponState } from '../../actors/coupon/index.js';
import type { UserCouponsTable } from '../db/schema.js';
import type { ReadModelRow, SalesDelta } from '../journal/journal.js';

export const userRow = (s: UserState, events: ReadonlyArray<{ type: string }>): ReadModelRow | undefined => {
  if (s.status === 'NONE') return undefined;
  const row = { id: s.id, name: s.name, points: s.points, created_at: s.createdAt, updated_at: s.updatedAt };
  const touched = new Set<string>();
  for (const event of events as readonly UserEvent[]) {
    if ('couponId' in event && event.couponId !== undefined) touched.add(event.couponId);
  }
  if (touched.size === 0) return { table: 'users', row };
  const held = s.coupons;
  const coupons = [...touched].map((couponId): UserCouponsTable => {
    const c = held[couponId];
    return {
      user_id: s.id,
      coupon_id: couponId,
      // A failed claim leaves the user without the coupon; its row says why it is not held.
      status: c?.status ?? 'FAILED',
      order_id: c?.status === 'USED' ? c.orderId : null,
      issued_at: c !== undefined && c.status !== 'CLAIMING' ? c.issuedAt : null,
      updated_at: s.updatedAt,
    };
  });
  return { table: 'users', row, coupons };
};

export const couponRow = (s: CouponState): ReadModelRow | undefined =>
  s.status === 'NONE'
    ? undefined
    : {
        table: 'coupons',
        row: {
          id: s.id,
          name: s.name,
          discount_type: s.discountType,
          discount_value: s.discountValue,
          quantity: s.quantity,
          issued: s.issued,
          valid_from: s.validFrom,
          valid_until: s.validUntil,
          created_at: s.createdAt,
          updated_at: s.updatedAt,
        },
      };

export const productRow = (s: ProductState): ReadModelRow | undefined =>
  s.status === 'NONE'
    ? undefined
    : {
        table: 'products',
        row: { id: s.id, name: s.name, price: s.price, stock: s.stock, created_at: s.createdAt, updated_at: s.updatedAt },
      };

export const orderRow = (s: OrderState): ReadModelRow | undefined =>
  s.status === 'NONE'
    ? undefined
    : {
        table: 'orders',
        row: {
          id: s.id,
          user_id: s.userId,
          // The read model keeps CANCELLING so that a sweep finds interrupted cancels; queries show it as PAID.
          status: s.status,
          total: s.total,
          coupon_id: s.couponId,
          discount: s.discount,
          failure_reason: s.status === 'FAILED' ? s.failure.error : null,
          created_at: s.createdAt,
          updated_at: s.updatedAt,
        },
        items: s.items.map((i) => ({ order_id: s.id, product_id: i.productId, quantity: i.quantity, unit_price: i.unitPrice })),
      };

const DAY_MS = 86_400_000;

/**
 * A payment adds the order's units to its products' sales, a cancel of a paid order takes
 * them back; both on the day the order was created, so the pair always cancels out.
 */
export const orderSales = (before: OrderState, events: ReadonlyArray<{ type: string }>): SalesDelta[] => {
  if (before.status === 'NONE') return [];
  const paid = events.some((e) => e.type === 'OrderPaid');
  const refunded = before.status === 'CANCELLING' && events.some((e) => e.type === 'OrderCancelled');
  const sign = paid ? 1 : refunded ? -1 : 0;
  if (sign === 0) return [];
  const day = Math.floor(before.createdAt / DAY_MS);
  return before.items.map((i) => ({ productId: i.productId, day, units: sign * i.quantity }));
};
