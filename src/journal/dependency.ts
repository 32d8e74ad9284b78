// A range of journal positions that uncommitted state rests on, and how two such ranges join.

/**
 * A range of journal positions (append order) that some state was built on before they
 * committed. An answer given ahead of its commit carries it, and an append that depends on it
 * is refused once any of it has failed: batches commit in order, but an append made after a
 * failure lands in a later batch that may well commit.
 */
export interface Dependency {
  readonly from: number;
  readonly to: number;
}

/** The smallest range covering both. */
export const spanning = (a: Dependency | undefined, b: Dependency | undefined): Dependency | undefined =>
  a === undefined ? b : b === undefined ? a : { from: Math.min(a.from, b.from), to: Math.max(a.to, b.to) };
