// The live-actor cap: with a working set eight times the cap, live actors stay within it, and passivated actors come back with their state.

import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { call, startApp, type TestApp } from '../helpers/engine.js';
import { prng } from '../helpers/prng.js';

const CAP = 50;
const USERS = 300;
const PRODUCTS = 100;
const IN_PARALLEL = 4;

const it = suite<{ db: TestDatabase; t: TestApp }>('live-actor cap');
it.before(async (ctx) => {
  ctx.db = await databaseKinds()[0]!.create();
  // Snapshots every third event, so actors come back from a snapshot plus the events after it.
  ctx.t = await startApp(ctx.db.url, { ACTORS_MAX_LIVE: String(CAP), SNAPSHOT_EVERY: '3' });
});
it.after(async (ctx) => {
  await ctx.t?.close();
  await ctx.db?.drop();
});

it(`${USERS + PRODUCTS} actors behind a cap of ${CAP}: live actors stay within it, and every one comes back as it was`, async ({ t }) => {
  const { app, engine } = t;
  const random = prng(42);
  let maxLive = 0;
  const sample = () => (maxLive = Math.max(maxLive, engine.liveActors().length));
  const inParallel = async <T>(items: readonly T[], work: (item: T) => Promise<void>) => {
    for (let i = 0; i < items.length; i += IN_PARALLEL) {
      await Promise.all(items.slice(i, i + IN_PARALLEL).map(work));
      sample();
    }
  };

  const points = new Map<string, number>();
  const stock = new Map<string, number>();
  await inParallel(
    Array.from({ length: USERS }, (_, i) => i),
    async (i) => {
      const u = (await call(app, 'POST', '/users', { name: `cap-user-${i}`, points: i })).body;
      points.set(u.id, i);
    },
  );
  await inParallel(
    Array.from({ length: PRODUCTS }, (_, i) => i),
    async (i) => {
      const p = (await call(app, 'POST', '/products', { name: `cap-product-${i}`, price: 1, stock: 1000 + i })).body;
      stock.set(p.id, 1000 + i);
    },
  );
  const users = [...points.keys()];
  const products = [...stock.keys()];
  const before = (await call(app, 'GET', '/metrics')).text;

  // Random writes all over the working set: each actor is passivated and activated many times.
  const steps = Array.from({ length: 1200 }, () => random());
  await inParallel(steps, async (r) => {
    if (r < 0.5) {
      const id = users[Math.floor((r / 0.5) * users.length)] as string;
      const amount = 1 + Math.floor(r * 100);
      assert.is((await call(app, 'POST', `/users/${id}/points/charge`, { amount })).status, 200);
      points.set(id, (points.get(id) ?? 0) + amount);
    } else {
      const id = products[Math.floor(((r - 0.5) / 0.5) * products.length)] as string;
      assert.is((await call(app, 'POST', `/products/${id}/restock`, { quantity: 2 })).status, 200);
      stock.set(id, (stock.get(id) ?? 0) + 2);
    }
  });
  // Every actor read back through its (re)activated self, in a shuffled order.
  const all = [...users.map((id) => ['user', id] as const), ...products.map((id) => ['product', id] as const)].sort(() => random() - 0.5);
  await inParallel(all, async ([kind, id]) => {
    const got = (await call(app, 'GET', `/${kind}s/${id}`)).body;
    if (kind === 'user') assert.is(got.points, points.get(id), `points of user ${id}`);
    else assert.is(got.stock, stock.get(id), `stock of product ${id}`);
  });

  const activations = (text: string) =>
    [...text.matchAll(/orderengine_actor_activations_total\{kind="(?:user|product)"\} (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  const reactivated = activations((await call(app, 'GET', '/metrics')).text) - activations(before);
  // Only the actors busy at an activation (at most one batch in parallel) may stand over the cap.
  assert.ok(maxLive <= CAP + IN_PARALLEL, `live actors peaked at ${maxLive}, cap ${CAP}`);
  assert.ok(reactivated > USERS + PRODUCTS, `actors were passivated and came back (${reactivated} activations)`);
  assert.ok(engine.liveActors().length <= CAP);
});

it.run();
