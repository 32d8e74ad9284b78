// Every HTTP error code with its status, in one table; the one place results become replies.

import type { FastifyReply } from 'fastify';
import type { ErrorCode, Result } from '../../actors/shared/result.js';
import { PROBLEM_TYPE, problemOf } from './problem.js';

export type HttpErrorCode =
  | ErrorCode
  | 'BAD_REQUEST'
  | 'MALFORMED_JSON'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'ROUTE_NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'UNAUTHORIZED'
  | 'ADMIN_DISABLED'
  | 'ACTOR_BUSY'
  | 'IDEMPOTENCY_KEY_IN_PROGRESS'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'NOT_READY'
  | 'SHUTTING_DOWN'
  | 'SINK_NOT_CONFIGURED'
  | 'DELIVERY_FAILED'
  | 'INTERNAL';

export const statusOf: Record<HttpErrorCode, number> = {
  BAD_REQUEST: 400,
  MALFORMED_JSON: 400,
  BAD_CURSOR: 400,
  INVALID_ORDER: 400,
  INVALID_COUPON: 400,
  UNAUTHORIZED: 401,
  ADMIN_DISABLED: 403,
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  ALREADY_EXISTS: 409,
  ACTOR_BUSY: 409,
  INSUFFICIENT_STOCK: 409,
  INSUFFICIENT_POINTS: 409,
  STOCK_LIMIT_EXCEEDED: 409,
  POINTS_LIMIT_EXCEEDED: 409,
  ORDER_NOT_PAYABLE: 409,
  ORDER_NOT_CANCELLABLE: 409,
  RESERVATION_RELEASED: 409,
  COUPON_SOLD_OUT: 409,
  COUPON_ALREADY_ISSUED: 409,
  COUPON_CLAIM_IN_PROGRESS: 409,
  COUPON_NOT_HELD: 409,
  COUPON_ALREADY_USED: 409,
  COUPON_EXPIRED: 409,
  COUPON_NOT_YET_VALID: 409,
  SINK_NOT_CONFIGURED: 409,
  IDEMPOTENCY_KEY_IN_PROGRESS: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  // Overload: 429 when one actor has more waiting than its mailbox takes (others are served),
  // 503 when the engine as a whole is at capacity (requests in flight, journal backlog).
  MAILBOX_FULL: 429,
  OVERLOADED: 503,
  DATABASE_UNAVAILABLE: 503,
  TIMEOUT: 503,
  NOT_READY: 503,
  SHUTTING_DOWN: 503,
  INTERNAL: 500,
  DELIVERY_FAILED: 502,
};

export interface ErrorBody {
  readonly error: HttpErrorCode;
  readonly message: string;
  readonly productId?: string;
}

/** 429 and 503 say "try again shortly": they carry Retry-After. */
export const retryable = (status: number): boolean => status === 429 || status === 503;

/** Sends problem details itself, for answers made where no hook runs (the router's own errors). */
export function sendError(
  reply: FastifyReply,
  error: HttpErrorCode,
  message: string,
  extra: Record<string, unknown> = {},
  instance = reply.request.url.split('?')[0]!.slice(0, 200),
): FastifyReply {
  const status = statusOf[error];
  if (retryable(status)) reply.header('retry-after', '1');
  return reply
    .code(status)
    .type(PROBLEM_TYPE)
    .send(problemOf({ error, message, ...extra }, status, instance));
}

/** An error as an HTTP answer, for answers built before they are sent (and kept). */
export function errorAnswer(error: HttpErrorCode, message: string): { statusCode: number; body: ErrorBody } {
  return { statusCode: statusOf[error], body: { error, message } };
}

/** An actor's answer as an HTTP answer: the value with `okStatus`, or the error's status. */
export function toAnswer<V>(result: Result<V>, okStatus: number): { statusCode: number; body: unknown } {
  if (result.ok) return { statusCode: okStatus, body: result.value };
  const body: ErrorBody = { error: result.error, message: result.message, ...(result.productId ? { productId: result.productId } : {}) };
  return { statusCode: statusOf[result.error], body };
}

export function sendResult<V>(reply: FastifyReply, result: Result<V>, okStatus = 200): FastifyReply {
  const answer = toAnswer(result, okStatus);
  if (retryable(answer.statusCode)) reply.header('retry-after', '1');
  return reply.code(answer.statusCode).send(answer.body);
}
