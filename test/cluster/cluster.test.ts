// Three engine processes as one engine on NATS JetStream and PostgreSQL: a flash sale through all three, the same answers through each, and a SIGTERM that hands shards off.

import * as assert from 'uvu/assert';
import { http, startEngineProcess, type EngineProcess } from '../helpers/child.js';
import { availableDatabaseKinds, type TestDatabase } from '../helpers/databases.js';
import { checkInvariants } from '../helpers/invariants.js';
import { privateNats, type PrivateNats } from '../helpers/nats.js';
import { suite } from '../helpers/suite.js';
import { until } from '../helpers/until.js';

const SHARDS = 16;
const STOCK = 30;
const ADMIN = { authorization: 'Bearer cluster-test' };

interface Ctx {
  nats: PrivateNats;
  db: TestDatabase;
  engines: EngineProcess[];
}

async function admin(url: string, path: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url + path, { headers: ADMIN });
  return { status: response.status, body: await response.json() };
}

/** Every process sees `members` members holding all the shards between them. */
async function untilBalanced(engines: readonly EngineProcess[]): Promise<void> {
  await until(
    async () => {
      for (const engine of engines) {
        const status = (await admin(engine.url, '/admin/cluster')).body;
        if (status.members?.length !== engines.length) return false;
        if (Object.keys(status.owners ?? {}).length !== SHARDS) return false;
        if (status.members.some((m: { shardsOwned: number }) => m.shardsOwned === 0)) return false;
      }
      return true;
    },
    `${engines.length} processes share the ${SHARDS} shards`,
    60_000,
    200,
  );
}

const postgres = availableDatabaseKinds().find((k) => k.name === 'postgres');
const it = suite<Ctx>('cluster of three processes', { needs: ['postgres', 'nats-server'] });
it.before(async (ctx) => {
  ctx.nats = await privateNats();
  ctx.db = await postgres!.create();
  const env = (node: string) => ({
    CLUSTER_NATS_URL: ctx.nats.url,
    CLUSTER_NAME: 'sale',
    NODE_NAME: node,
    CLUSTER_SHARDS: String(SHARDS),
    CLUSTER_LEASE_MS: '2000',
    ADMIN_TOKEN: 'cluster-test',
    SWEEP_INTERVAL_MS: '200',
  });
  ctx.engines = await Promise.all(['n1', 'n2', 'n3'].map((n) => startEngineProcess(ctx.db.url, env(n))));
});
it.after(async (ctx) => {
  for (const e of ctx.engines ?? []) await e.kill().catch(() => undefined);
  await ctx.db?.drop();
  await ctx.nats?.dispose();
});

it('a flash sale through all three: exactly the stock sold, the same state through every process, invariants hold', async ({ engines, db }) => {
  await untilBalanced(engines);
  const at = (i: number) => engines[i % engines.length]!.url;
  const product = (await http(at(0), 'POST', '/products', { name: 'flash', price: 10, stock: STOCK })).body;
  const users = await Promise.all(Array.from({ length: 20 }, async (_, i) => (await http(at(i), 'POST', '/users', { name: `b${i}`, points: 1000 })).body.id as string));
  const orders: string[] = [];
  for (let i = 0; i < STOCK * 3; i++) {
    const created = await http(at(i + 1), 'POST', '/orders', { userId: users[i % users.length], items: [{ productId: product.id, quantity: 1 }] });
    assert.is(created.status, 201, JSON.stringify(created.body));
    orders.push(created.body.id);
  }
  const answers = await Promise.all(orders.map(async (id, i) => ({ id, ...(await http(at(i + 2), 'POST', `/orders/${id}/pay`)) })));
  const paid = answers.filter((a) => a.status === 200 && a.body.status === 'PAID').map((a) => a.id);
  for (const a of answers) assert.ok(a.status === 200 || a.status === 409, `pay answered ${a.status} ${JSON.stringify(a.body)}`);
  assert.is(paid.length, STOCK, 'exactly the stock sold');

  for (const engine of engines) {
    assert.is((await http(engine.url, 'GET', `/products/${product.id}`)).body.stock, 0, `stock through ${engine.url}`);
    for (const id of paid) assert.is((await http(engine.url, 'GET', `/orders/${id}`)).body.status, 'PAID', `order ${id} through ${engine.url}`);
  }
  const spent = new Map<string, number>();
  for (const a of answers) if (a.status === 200) spent.set(a.body.userId, (spent.get(a.body.userId) ?? 0) + a.body.total);
  for (const engine of engines) {
    for (const userId of users) assert.is((await http(engine.url, 'GET', `/users/${userId}`)).body.points, 1000 - (spent.get(userId) ?? 0), `points of ${userId} through ${engine.url}`);
  }
  assert.equal((await checkInvariants(db.url)).problems, []);

  // /admin/actors says which process it lists: the product lives in exactly one, its shard's owner.
  const holders: string[] = [];
  for (const engine of engines) {
    const page = (await admin(engine.url, '/admin/actors?kind=product&limit=100')).body;
    assert.ok(['n1', 'n2', 'n3'].includes(page.node), `node ${page.node}`);
    if (page.items.some((a: { id: string }) => a.id === product.id)) holders.push(page.node);
  }
  assert.is(holders.length, 1, `the product is live in one process: ${holders.join(', ')}`);
  const owners = (await admin(engines[0]!.url, '/admin/cluster')).body.owners as Record<string, string>;
  assert.ok(Object.values(owners).includes(holders[0]!));
});

it('SIGTERM of one process hands its shards to the others; what it served reads the same through them', async (ctx) => {
  const [leaving, ...staying] = ctx.engines as [EngineProcess, ...EngineProcess[]];
  const user = (await http(leaving.url, 'POST', '/users', { name: 'late', points: 50 })).body;
  assert.is(await leaving.stop(), 0, 'a clean exit');
  ctx.engines = staying;
  await untilBalanced(staying);
  for (const engine of staying) assert.is((await http(engine.url, 'GET', `/users/${user.id}`)).body.points, 50);
  const charged = await http(staying[0]!.url, 'POST', `/users/${user.id}/points/charge`, { amount: 7 });
  assert.is(charged.status, 200, JSON.stringify(charged.body));
  assert.is((await http(staying[1]!.url, 'GET', `/users/${user.id}`)).body.points, 57);
});

it.run();
