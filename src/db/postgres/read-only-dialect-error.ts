// The error of a transaction or stream tried through the read-only dialect.

/** Thrown when something tries a transaction through the read dialect. */
export class ReadOnlyDialectError extends Error {
  override readonly name = 'ReadOnlyDialectError';
}
