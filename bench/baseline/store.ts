// What a baseline store offers the baseline server, and the shapes it answers with (those of the engine's API).

export type Mode = 'locks' | 'sql';

export interface UserRow {
  readonly id: string;
  readonly name: string;
  readonly points: number;
}

export interface ProductRow {
  readonly id: string;
  readonly name: string;
  readonly price: number;
  readonly stock: number;
}

export interface OrderItemView {
  readonly productId: string;
  readonly quantity: number;
  readonly unitPrice: number;
}

export interface OrderView {
  readonly id: string;
  readonly userId: string;
  readonly status: 'CREATED' | 'PAID' | 'FAILED';
  readonly items: readonly OrderItemView[];
  readonly total: number;
  readonly failureReason: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export type ErrorCode = 'NOT_FOUND' | 'INVALID_ORDER' | 'INSUFFICIENT_STOCK' | 'INSUFFICIENT_POINTS' | 'ORDER_NOT_PAYABLE';

export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: ErrorCode; readonly message: string; readonly productId?: string };

export const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const fail = <T>(error: ErrorCode, message: string, productId?: string): Outcome<T> =>
  productId === undefined ? { ok: false, error, message } : { ok: false, error, message, productId };

export interface NewItem {
  readonly productId: string;
  readonly quantity: number;
}

export interface Store {
  createUser(id: string, name: string, points: number): Promise<UserRow>;
  getUser(id: string): Promise<UserRow | undefined>;
  createProduct(id: string, name: string, price: number, stock: number): Promise<ProductRow>;
  getProduct(id: string): Promise<ProductRow | undefined>;
  /** Captures each product's price; the user and every product must exist. */
  createOrder(id: string, userId: string, items: readonly NewItem[], now: number): Promise<Outcome<OrderView>>;
  getOrder(id: string): Promise<OrderView | undefined>;
  /** Reserves stock, debits points and marks the order paid, all or nothing, as the mode says. */
  payOrder(id: string, now: number): Promise<Outcome<OrderView>>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** A raw item row (either database) as the API's item. */
export const itemView = (row: { product_id: string; quantity: unknown; unit_price: unknown }): OrderItemView => ({
  productId: row.product_id,
  quantity: Number(row.quantity),
  unitPrice: Number(row.unit_price),
});

/** Raw order and item rows (either database) as the API's order. */
export function orderView(
  order: { id: string; user_id: string; status: string; total: unknown; failure_reason: string | null; created_at: unknown; updated_at: unknown },
  items: readonly OrderItemView[],
): OrderView {
  return {
    id: order.id,
    userId: order.user_id,
    status: order.status as OrderView['status'],
    items,
    total: Number(order.total),
    failureReason: order.failure_reason,
    createdAt: Number(order.created_at),
    updatedAt: Number(order.updated_at),
  };
}

/** Deadlocks and serialization failures are retried a few times, as a Spring @Retryable would. */
export async function retrying<T>(isRetryable: (error: unknown) => boolean, work: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error;
    }
  }
}

/**
 * The store with a count of calls in flight, so that shutdown can wait for them: the HTTP
 * server closes as soon as the load generator hangs up, while payments may still be running.
 */
export function tracked(store: Store): Store & { idle(): Promise<void> } {
  let inFlight = 0;
  const wrapped = Object.fromEntries(
    Object.entries(store).map(([name, method]) => [
      name,
      async (...args: unknown[]) => {
        inFlight++;
        try {
          return await (method as (...a: unknown[]) => Promise<unknown>)(...args);
        } finally {
          inFlight--;
        }
      },
    ]),
  ) as unknown as Store;
  return {
    ...wrapped,
    async idle() {
      const deadline = Date.now() + 10_000;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    },
  };
}
