// A read that failed, as an answer: the caller's bad cursor or an unreachable database is a rejection, anything else a bug that is thrown on.

import { reject, type Rejection } from '../../actors/shared/result.js';
import { isUnavailable } from '../db/unavailable.js';
import { BadCursorError } from '../read/cursor.js';

/**
 * ```ts
 * const page = await reads.listUsers(opts).then(accept, readFailure);
 * ```
 */
export function readFailure(error: unknown): Rejection {
  if (error instanceof BadCursorError) return reject('BAD_CURSOR', error.message);
  if (isUnavailable(error)) return reject('DATABASE_UNAVAILABLE', 'the database does not answer; try again');
  throw error;
}
