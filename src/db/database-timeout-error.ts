// The error of a database call given up on after its time: the database counts as unavailable.

/** A database call that did not finish in time; what it did on the server is unknown. */
export class DatabaseTimeoutError extends Error {
  override readonly name = 'DatabaseTimeoutError';
}
