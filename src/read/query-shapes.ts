// Read queries compiled once per shape: each call binds its values into the compiled text's placeholders.

import type { Compilable, CompiledQuery, Kysely } from 'kysely';

/** Stands for one value while a shape is compiled; found again among the compiled parameters. */
class Slot {
  constructor(readonly path: readonly [string, number?]) {}
}

/** Values a query is built from: scalars, or arrays of scalars (an `in` list, a cursor's key). */
type Values = Readonly<Record<string, unknown>>;

/**
 * Builds and compiles a query the first time a shape is asked for, then only binds values:
 * a list query costs Kysely's builder and compiler once, not on every request, and the same
 * text lets the driver reuse its prepared statement. The shape's name must tell apart every
 * build that yields different SQL (an optional filter present or not, a list's length); the
 * build must use the values only as query values, never compute with them or branch on them
 * beyond `!== undefined`.
 *
 * ```ts
 * const shapes = new QueryShapes(db);
 * const rows = await shapes.execute(`users name=${name !== undefined}`, { name, limit: 21 }, (v) =>
 *   db.selectFrom('users').selectAll().$if(v.name !== undefined, (q) => q.where('name', '=', v.name!)).limit(v.limit));
 * ```
 */
export class QueryShapes<DB> {
  private readonly compiled = new Map<string, CompiledQuery>();

  constructor(
    private readonly db: Kysely<DB>,
    private readonly maxShapes = 1000,
  ) {}

  async execute<V extends Values, R>(shape: string, values: V, build: (values: V) => Compilable<R>): Promise<R[]> {
    let query = this.compiled.get(shape);
    if (!query) {
      query = build(slots(values)).compile();
      if (this.compiled.size < this.maxShapes) this.compiled.set(shape, query);
    }
    const parameters = query.parameters.map((p) => (p instanceof Slot ? valueAt(values, p.path) : p));
    const result = await this.db.executeQuery<R>({ ...query, parameters });
    return result.rows;
  }
}

function slots<V extends Values>(values: V): V {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) out[key] = undefined;
    else if (Array.isArray(value)) out[key] = value.map((_, i) => new Slot([key, i]));
    else out[key] = new Slot([key]);
  }
  return out as V;
}

function valueAt(values: Values, [key, index]: readonly [string, number?]): unknown {
  const value = values[key];
  return index === undefined ? value : (value as readonly unknown[])[index];
}
