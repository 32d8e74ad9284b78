// QueryShapes: a shape is built once, and every later call binds its own values, on every database.

import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { connect, type Database } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import type { Schema } from '../../src/db/schema.js';
import { QueryShapes } from '../../src/read/query-shapes.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';

for (const kind of databaseKinds()) {
  const it = suite<{ db: TestDatabase; database: Database }>(`query shapes on ${kind.name}`, { needs: kind.needs });

  it.before(async (ctx) => {
    ctx.db = await kind.create();
    ctx.database = await connect({ url: ctx.db.url, dataDir: '', poolSize: 2, readPoolSize: 1 });
    await migrateToLatest(ctx.database);
    await ctx.database.db
      .insertInto('users')
      .values(['a', 'b', 'c', 'd'].map((id, i) => ({ id, name: i % 2 ? 'odd' : 'even', points: i, created_at: 1, updated_at: 1 })))
      .execute();
  });
  it.after(async (ctx) => {
    await ctx.database?.close();
    await ctx.db?.drop();
  });

  it('binds each call’s values into the shape compiled the first time, one shape per distinct SQL', async ({ database }) => {
    const shapes = new QueryShapes<Schema>(database.reads);
    let builds = 0;
    const byName = (v: { name: string | undefined; after: string | undefined; limit: number }) => {
      builds++;
      return database.reads
        .selectFrom('users')
        .select(['id', 'points'])
        .$if(v.name !== undefined, (q) => q.where('name', '=', v.name as string))
        .$if(v.after !== undefined, (q) => q.where('id', '>', v.after as string))
        .orderBy('id')
        .limit(v.limit);
    };
    const run = (v: { name: string | undefined; after: string | undefined; limit: number }) =>
      shapes.execute(`users name=${v.name !== undefined} after=${v.after !== undefined}`, v, byName);
    assert.equal(await run({ name: 'even', after: undefined, limit: 10 }), [{ id: 'a', points: 0 }, { id: 'c', points: 2 }]);
    assert.equal(await run({ name: 'odd', after: undefined, limit: 1 }), [{ id: 'b', points: 1 }]);
    assert.equal(await run({ name: 'none', after: undefined, limit: 5 }), []);
    assert.is(builds, 1);
    assert.equal(await run({ name: 'odd', after: 'b', limit: 5 }), [{ id: 'd', points: 3 }]);
    assert.equal(await run({ name: undefined, after: 'b', limit: 5 }), [{ id: 'c', points: 2 }, { id: 'd', points: 3 }]);
    assert.equal(await run({ name: 'even', after: 'a', limit: 5 }), [{ id: 'c', points: 2 }]);
    assert.is(builds, 3);
  });

  it('binds the elements of a list, one shape per length', async ({ database }) => {
    const shapes = new QueryShapes<Schema>(database.reads);
    const byIds = (ids: readonly string[]) =>
      shapes.execute(`users by ${ids.length} ids`, { ids }, (v) => database.reads.selectFrom('users').select('id').where('id', 'in', v.ids).orderBy('id'));
    assert.equal(await byIds(['d', 'a']), [{ id: 'a' }, { id: 'd' }]);
    assert.equal(await byIds(['b', 'c']), [{ id: 'b' }, { id: 'c' }]);
    assert.equal(await byIds(['c']), [{ id: 'c' }]);
  });

  it.run();
}
