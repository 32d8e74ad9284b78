// Which errors mean "the database cannot be reached now" (answer 503, try again) rather than "this statement is wrong".

import { DatabaseTimeoutError } from './database-timeout-error.js';

/** Driver and socket codes of a connection that is gone: postgres.js, mysql2 and Node's own. */
const LOST = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  'CONNECT_TIMEOUT',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTCONN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

interface ErrorFields {
  readonly code?: unknown;
  readonly errno?: unknown;
  readonly severity?: unknown;
  readonly fatal?: unknown;
  readonly cause?: unknown;
}

/**
 * The connection that raised this error is closed or about to be: a socket error, a driver
 * "connection closed", or a server error that ends the session (PostgreSQL severity FATAL,
 * SQLSTATE class 08 or 57P0x; mysql2 `fatal`).
 */
export function connectionLost(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, severity, fatal } = error as ErrorFields;
  if (severity === 'FATAL' || severity === 'PANIC' || fatal === true) return true;
  return typeof code === 'string' && (LOST.has(code) || code.startsWith('08') || code.startsWith('57P'));
}

/**
 * The database cannot do the work now, and the same request may well succeed later: the
 * connection was lost, the call timed out, the server refuses connections (53300) or
 * cancelled the statement (57014). Follows `cause`, so wrapped errors count too.
 */
export function isUnavailable(error: unknown, depth = 0): boolean {
  if (error instanceof DatabaseTimeoutError || connectionLost(error)) return true;
  if (typeof error !== 'object' || error === null || depth > 4) return false;
  const { code, cause } = error as ErrorFields;
  if (code === '53300' || code === '57014' || code === 'ER_CON_COUNT_ERROR') return true;
  return cause !== undefined && isUnavailable(cause, depth + 1);
}
