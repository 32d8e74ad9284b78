// Schemas shared by every resource: ids, money, pages and the error body.

import { Type } from 'typebox';

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

export const ErrorBody = Type.Object(
  { error: Type.String(), message: Type.String(), productId: Type.Optional(Type.String()) },
  { description: 'every error: a stable code and a human message' },
);

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$' })),
});

export const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, ErrorBody]));

export const pageOf = <T extends Type.TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });
