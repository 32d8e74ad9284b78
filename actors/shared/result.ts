// Business outcomes as values: an actor answers with a Result, never by throwing.

/** Every error code an actor or the engine can answer with; the HTTP layer maps each to a status. */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'INVALID_ORDER'
  | 'ALREADY_EXISTS'
  | 'INSUFFICIENT_STOCK'
  | 'INSUFFICIENT_POINTS'
  | 'STOCK_LIMIT_EXCEEDED'
  | 'POINTS_LIMIT_EXCEEDED'
  | 'ORDER_NOT_PAYABLE'
  | 'ORDER_NOT_CANCELLABLE'
  | 'RESERVATION_RELEASED'
  | 'INVALID_COUPON'
  | 'COUPON_SOLD_OUT'
  | 'COUPON_ALREADY_ISSUED'
  | 'COUPON_CLAIM_IN_PROGRESS'
  | 'COUPON_NOT_HELD'
  | 'COUPON_ALREADY_USED'
  | 'COUPON_EXPIRED'
  | 'COUPON_NOT_YET_VALID'
  | 'BAD_CURSOR'
  | 'DATABASE_UNAVAILABLE'
  | 'OVERLOADED'
  | 'MAILBOX_FULL'
  | 'TIMEOUT';

export interface Rejection {
  readonly ok: false;
  readonly error: ErrorCode;
  readonly message: string;
  readonly productId?: string;
}

export interface Accepted<V> {
  readonly ok: true;
  readonly value: V;
}

export type Result<V> = Accepted<V> | Rejection;

export const accept = <V>(value: V): Accepted<V> => ({ ok: true, value });

export const reject = (error: ErrorCode, message: string, productId?: string): Rejection =>
  productId === undefined ? { ok: false, error, message } : { ok: false, error, message, productId };

/** Errors that say nothing about the business, only that a step could not be done now. */
export const isInfrastructure = (error: ErrorCode): boolean =>
  error === 'DATABASE_UNAVAILABLE' || error === 'OVERLOADED' || error === 'MAILBOX_FULL' || error === 'TIMEOUT';

/** The largest balance or stock the engine keeps, so sums stay exact in a JS number. */
export const MAX_AMOUNT = 2 ** 50;

export function assertNever(value: never): never {
  throw new Error(`unhandled variant: ${JSON.stringify(value)}`);
}
