// Schemas shared by every resource: ids, money, pages and the error body.

import { Type } from 'typebox';

/**
 * An instant: epoch milliseconds in the engine (what a handler returns), an ISO 8601 string on
 * the wire (e.g. 2026-12-03T14:15:37.123Z), rendered by the iso-timestamps plugin before the
 * body is serialized; the document and generated clients see the string.
 */
export const Instant = (description = 'ISO 8601, UTC') => Type.Unsafe<number>({ type: 'string', format: 'date-time', description });

export const Id = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'an entity id' });
export const IdParams = Type.Object({ id: Id });

/** Quantities and money are integers in minor units, bounded so that sums stay exact. */
export const Quantity = Type.Integer({ minimum: 1, maximum: 1_000_000_000 });
export const Amount = Type.Integer({ minimum: 1, maximum: 1_000_000_000_000 });
export const NonNegative = (maximum: number) => Type.Integer({ minimum: 0, maximum });

/**
 * No NUL: PostgreSQL text cannot hold it, and one such value in a journal batch would fail every
 * command committed with it.
 */
const NO_NUL = '^[^\\u0000]*$';
export const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$' });
/** Free text in a query string (an exact name to find). */
export const QueryText = Type.String({ maxLength: 200, pattern: NO_NUL });

export const PageQuery = {
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
};

export const InvalidField = Type.Object(
  {
    in: Type.Union([Type.Literal('body'), Type.Literal('query'), Type.Literal('path'), Type.Literal('header')]),
    pointer: Type.String({ description: 'a JSON pointer into that part of the request, e.g. #/items/0/quantity' }),
    detail: Type.String({ description: 'what is wrong with it, as a sentence' }),
  },
  { title: 'InvalidField' },
);

export const ErrorBody = Type.Object(
  {
    type: Type.String({ description: 'a URI naming the problem type, one per error code' }),
    title: Type.String({ description: 'a short summary of the problem type' }),
    status: Type.Integer({ description: 'the HTTP status' }),
    detail: Type.String({ description: 'what went wrong with this request' }),
    instance: Type.String({ description: 'the path the request was made to' }),
    error: Type.String({ description: 'the stable error code, e.g. INSUFFICIENT_STOCK' }),
    message: Type.String({ description: 'the same as detail (kept for existing clients)' }),
    productId: Type.Optional(Type.String({ description: 'the product a stock error is about' })),
    errors: Type.Optional(Type.Array(InvalidField, { description: 'each bad field of a 400' })),
  },
  { title: 'Problem', description: 'RFC 9457 problem details with a stable code and a human message' },
);

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$' })),
});

export const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, ErrorBody]));

/** A page of a list; named `<Item>Page` in the OpenAPI document when its item has a title. */
export const pageOf = <T extends Type.TSchema>(item: T) =>
  Type.Object(
    { items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'the cursor of the next page; null on the last' }) },
    { ...('title' in item && typeof item.title === 'string' ? { title: `${item.title}Page` } : {}), description: 'one page of a list' },
  );
