// NATS stopped under load and started again: the members stop serving before their leases could pass to anyone, say so in readiness, answer 503, and come back; nothing acknowledged is lost.

import * as assert from 'uvu/assert';
import { appliedTwice } from '../helpers/applied-once.js';
import { http, startEngineProcess, type EngineProcess } from '../helpers/child.js';
import { availableDatabaseKinds, type TestDatabase } from '../helpers/databases.js';
import { clusterOf, memberEnv, untilShared } from '../helpers/cluster.js';
import { checkInvariants } from '../helpers/invariants.js';
import { privateNats, type PrivateNats } from '../helpers/nats.js';
import { suite } from '../helpers/suite.js';
import { until } from '../helpers/until.js';

const SHARDS = 16;
const LEASE_MS = 2000;

interface Ctx {
  nats: PrivateNats;
  db: TestDatabase;
  engines: EngineProcess[];
}

const postgres = availableDatabaseKinds().find((k) => k.name === 'postgres');
const it = suite<Ctx>('cluster through a NATS outage', { needs: ['postgres', 'nats-server'] });
it.before(async (ctx) => {
  ctx.nats = await privateNats();
  ctx.db = await postgres!.create();
  const env = (node: string) => memberEnv(ctx.nats, 'outage', node, { shards: SHARDS, leaseMs: LEASE_MS }, { REQUEST_TIMEOUT_MS: '3000' });
  ctx.engines = await Promise.all(['a1', 'a2'].map((n) => startEngineProcess(ctx.db.url, env(n))));
  await untilShared(ctx.engines, ['a1', 'a2'], SHARDS);
});
it.after(async (ctx) => {
  for (const e of ctx.engines ?? []) await e.kill().catch(() => undefined);
  await ctx.db?.drop();
  await ctx.nats?.dispose();
});

it('NATS away for a few seconds under load: readiness says so, pays answer 503 or wait, and afterwards every acknowledged pay is PAID and the sale sells out once', async (ctx) => {
  const [a, b] = ctx.engines as [EngineProcess, EngineProcess];
  const product = (await http(a.url, 'POST', '/products', { name: 'p', price: 2, stock: 50 })).body.id as string;
  const users = await Promise.all(Array.from({ length: 10 }, async (_, i) => (await http(b.url, 'POST', '/users', { name: `u${i}`, points: 1000 })).body.id as string));
  const ids: string[] = [];
  for (let i = 0; i < 80; i++) ids.push((await http(i % 2 ? a.url : b.url, 'POST', '/orders', { userId: users[i % 10], items: [{ productId: product, quantity: 1 }] })).body.id as string);

  const acknowledged = new Set<string>();
  const seen = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < ids.length; i = next++) {
      for (let attempt = 0; ; attempt++) {
        const answer = await http(attempt % 2 ? a.url : b.url, 'POST', `/orders/${ids[i]}/pay`);
        seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
        if (answer.status === 200 && answer.body.status === 'PAID') acknowledged.add(ids[i]!);
        if (answer.status === 200 || answer.status === 409) break;
        assert.is(answer.status, 503, `a pay answered ${answer.status} ${JSON.stringify(answer.body)}`);
        assert.ok(attempt < 300, `order ${ids[i]} never answered`);
        await new Promise((r) => setTimeout(r, 100));
      }
      // Paced, so that the sale is still going while NATS is away.
      await new Promise((r) => setTimeout(r, 150));
    }
  };
  const paying = Promise.all(Array.from({ length: 4 }, worker));
  await until(() => acknowledged.size >= 10, '10 pays acknowledged before the outage');

  await ctx.nats.stop();
  // Readiness turns 503 while NATS is away (the member can neither keep its shards nor route).
  await until(async () => (await http(a.url, 'GET', '/health/ready')).status === 503, 'a member reports itself not ready');
  // Past the lease, no member serves anything (it cannot know it still owns a shard).
  await until(async () => (await clusterOf(a.url))?.served.length === 0, 'the member has let its shards go');
  await new Promise((r) => setTimeout(r, 2 * LEASE_MS));
  await ctx.nats.start();

  await until(async () => (await http(a.url, 'GET', '/health/ready')).status === 200 && (await http(b.url, 'GET', '/health/ready')).status === 200, 'both members ready again');
  await untilShared(ctx.engines, ['a1', 'a2'], SHARDS);
  await paying;
  console.log(`  answers through the outage: ${[...seen].map(([s, n]) => `${n}× ${s}`).join(', ')}`);
  assert.ok((seen.get(503) ?? 0) > 0, 'some pays met the outage');
  assert.is(acknowledged.size, 50, 'the sale sells out exactly');
  await until(async () => (await http(a.url, 'GET', '/orders?status=PAYING&days=1&limit=1')).body.items.length === 0, 'no order left PAYING');
  for (const id of acknowledged) assert.is((await http(b.url, 'GET', `/orders/${id}`)).body.status, 'PAID', `acknowledged ${id}`);
  assert.is((await http(a.url, 'GET', `/products/${product}`)).body.stock, 0);
  assert.equal(await appliedTwice(ctx.db.url), []);
  assert.equal((await checkInvariants(ctx.db.url)).problems, []);
});

it.run();
