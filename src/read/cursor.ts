// Keyset cursors: base64url JSON of the last row's key; clients treat them as opaque.

/** A cursor that does not decode: the HTTP layer answers 400. */
export class BadCursorError extends Error {
  override readonly name = 'BadCursorError';
}

/** Where a list ordered by creation time, newest first, stopped. */
export type TimeKey = readonly [createdAt: number, id: string];

export const encodeCursor = (key: string | TimeKey): string => Buffer.from(JSON.stringify(key)).toString('base64url');

function decodeCursor<K>(cursor: string | undefined, check: (v: unknown) => v is K): K | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new BadCursorError('cursor is not valid');
  }
  if (!check(value)) throw new BadCursorError('cursor is not valid');
  return value;
}

const isId = (v: unknown): v is string => typeof v === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(v);
const isTimeKey = (v: unknown): v is TimeKey => Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && isId(v[1]);

/** The id a list ordered by id stopped at, or undefined for the first page. */
export const idCursor = (cursor: string | undefined): string | undefined => decodeCursor(cursor, isId);
/** The (created_at, id) a newest-first list stopped at, or undefined for the first page. */
export const timeCursor = (cursor: string | undefined): TimeKey | undefined => decodeCursor(cursor, isTimeKey);
