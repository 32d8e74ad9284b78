// The read queries of mix and read-heavy: one kind per query of the read side, each a GET path over the seeded data.

import type { ReadTargets } from './load-protocol.js';

export const READ_KINDS = [
  'user',
  'product',
  'order',
  'user-orders',
  'paid-orders',
  'orders-by-ids',
  'user-by-name',
  'product-by-name',
  'popular',
  'user-coupons',
] as const;

export type ReadKind = (typeof READ_KINDS)[number];

/** read-heavy: the share of requests that pay a pre-created order; the rest are reads spread evenly over READ_KINDS. */
export const READ_HEAVY_PAY_SHARE = 0.1;

/** mix: the read queries its fourth step sends in turn (a single order by id is its third). */
export const MIX_READ_KINDS: readonly ReadKind[] = READ_KINDS.filter((k) => k !== 'order');

/** Orders per `GET /orders?ids=` request. */
export const IDS_PER_READ = 10;

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

/** A GET path for one query of `kind`, its ids and names drawn uniformly from `targets`. */
export function readPath(kind: ReadKind, targets: ReadTargets, userIds: readonly string[], productIds: readonly string[]): string {
  switch (kind) {
    case 'user':
      return `/users/${pick(userIds)}`;
    case 'product':
      return `/products/${pick(productIds)}`;
    case 'order':
      return `/orders/${pick(targets.orderIds)}`;
    case 'user-orders':
      return `/users/${pick(targets.orderUserIds)}/orders?limit=10`;
    case 'paid-orders':
      return '/orders?status=PAID&days=7&limit=20';
    case 'orders-by-ids':
      return `/orders?ids=${Array.from({ length: IDS_PER_READ }, () => pick(targets.orderIds)).join(',')}`;
    case 'user-by-name':
      return `/users?name=${encodeURIComponent(pick(targets.userNames))}`;
    case 'product-by-name':
      return `/products?name=${encodeURIComponent(pick(targets.productNames))}`;
    case 'popular':
      return '/products/popular?days=7&limit=10';
    case 'user-coupons':
      return `/users/${pick(targets.couponHolderIds)}/coupons`;
  }
}
