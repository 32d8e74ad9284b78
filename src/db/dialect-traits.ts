// What queries and migrations may know of the database under them, so that they stay neutral.

/** Decided by each dialect when it opens (`src/db/<dialect>/`), read by migrations and the statement builders. */
export interface DialectTraits {
  readonly dialect: 'pglite' | 'postgres' | 'mysql';
  /** A text column for JSON documents of any size. */
  readonly documentType: 'text' | 'mediumtext';
  /**
   * Whole columns can be bound as arrays (`unnest($1::text[])`), so batch statements keep one
   * text and stay prepared. True for PostgreSQL through postgres.js.
   */
  readonly arrayParameters: boolean;
  /** How an INSERT adds to a row that exists: `on conflict … do update` or `on duplicate key update`. */
  readonly upsert: 'on-conflict' | 'on-duplicate-key';
  /** A subquery's rows can be folded into one JSON array column (`json_agg`). PostgreSQL and PGlite. */
  readonly jsonAgg: boolean;
}
