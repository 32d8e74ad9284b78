// A cluster member killed mid-sale, and one paused past its lease and woken again: its shards are served again, nothing acknowledged is lost or untrue.

import * as assert from 'uvu/assert';
import { appliedTwice } from '../helpers/applied-once.js';
import { http, startEngineProcess, type EngineProcess } from '../helpers/child.js';
import { availableDatabaseKinds, type TestDatabase } from '../helpers/databases.js';
import { memberEnv, untilShared } from '../helpers/cluster.js';
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

const untilServedBy = (engines: readonly EngineProcess[], names: readonly string[]) => untilShared(engines, names, SHARDS);

const postgres = availableDatabaseKinds().find((k) => k.name === 'postgres');
const env = (nats: PrivateNats, node: string) => memberEnv(nats, 'failover', node, { shards: SHARDS, leaseMs: LEASE_MS }, { REQUEST_TIMEOUT_MS: '8000' });

/** A create answered 201; 503 (a shard between owners) goes again. */
async function created(url: string, path: string, body: unknown): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const answer = await http(url, 'POST', path, body);
    if (answer.status === 201) return answer.body.id as string;
    assert.ok(answer.status === 503 && attempt < 100, `POST ${path} answered ${answer.status} ${JSON.stringify(answer.body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function sale(url: string, users: number, stock: number, orders: number) {
  const product = await created(url, '/products', { name: 'p', price: 5, stock });
  const buyers = await Promise.all(Array.from({ length: users }, (_, i) => created(url, '/users', { name: `b${i}`, points: 10_000 })));
  const ids: string[] = [];
  for (let i = 0; i < orders; i++) ids.push(await created(url, '/orders', { userId: buyers[i % users], items: [{ productId: product, quantity: 1 }] }));
  return { product, ids };
}

/** Pays each order through the processes in turn until it is answered 200 or 409; 503 and dropped connections go again. */
async function payAll(urls: () => string[], ids: readonly string[], acknowledged: Set<string>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < ids.length; i = next++) {
      for (let attempt = 0; ; attempt++) {
        const all = urls();
        const url = all[(i + attempt) % all.length]!;
        const answer = await http(url, 'POST', `/orders/${ids[i]}/pay`).catch(() => undefined);
        if (answer?.status === 200 && answer.body.status === 'PAID') acknowledged.add(ids[i]!);
        if (answer && (answer.status === 200 || answer.status === 409)) break;
        assert.ok(attempt < 200, `order ${ids[i]} never answered`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  await Promise.all(Array.from({ length: 12 }, worker));
}

const it = suite<Ctx>('cluster failover', { needs: ['postgres', 'nats-server'] });
it.before(async (ctx) => {
  ctx.nats = await privateNats();
  ctx.db = await postgres!.create();
  ctx.engines = await Promise.all(['f1', 'f2', 'f3'].map((n) => startEngineProcess(ctx.db.url, env(ctx.nats, n))));
  await untilServedBy(ctx.engines, ['f1', 'f2', 'f3']);
});
it.after(async (ctx) => {
  for (const e of ctx.engines ?? []) {
    e.child.kill('SIGCONT');
    await e.kill().catch(() => undefined);
  }
  await ctx.db?.drop();
  await ctx.nats?.dispose();
});

it('SIGKILL of a member mid-sale: its shards are served again after its lease, no acknowledged pay lost, none twice', async (ctx) => {
  const [victim, ...rest] = ctx.engines as [EngineProcess, ...EngineProcess[]];
  const { ids } = await sale(rest[0]!.url, 20, 60, 120);
  const acknowledged = new Set<string>();
  let alive = [victim, ...rest];
  const paying = payAll(() => alive.map((e) => e.url), ids, acknowledged);
  await until(() => acknowledged.size >= 20, '20 pays acknowledged before the kill');
  await victim.kill();
  const killedAt = performance.now();
  alive = rest;
  await untilServedBy(rest, ['f2', 'f3']);
  const failoverMs = performance.now() - killedAt;
  await paying;
  console.log(`  failover: the killed member's shards served again ${Math.round(failoverMs)} ms after SIGKILL (lease ${LEASE_MS} ms); ${acknowledged.size} paid`);
  assert.is(acknowledged.size, 60, 'the sale sells out exactly');
  await until(async () => (await http(rest[0]!.url, 'GET', '/orders?status=PAYING&days=1&limit=1')).body.items.length === 0, 'no order left PAYING');
  for (const id of acknowledged) assert.is((await http(rest[1]!.url, 'GET', `/orders/${id}`)).body.status, 'PAID', `acknowledged ${id}`);
  assert.equal(await appliedTwice(ctx.db.url), []);
  assert.equal((await checkInvariants(ctx.db.url)).problems, []);
  ctx.engines = rest;
});

it('a member paused past its lease (SIGSTOP) and woken (SIGCONT): what it answers afterwards is true, its stale batches are refused', async (ctx) => {
  const [zombie, other] = ctx.engines as [EngineProcess, EngineProcess];
  const { product, ids } = await sale(other.url, 10, 1000, 40);
  // Pays sent to the zombie just before it stops: they are in its hands while it sleeps.
  const inHand = ids.slice(0, 20).map((id) => http(zombie.url, 'POST', `/orders/${id}/pay`).then((a) => ({ id, ...a }), () => undefined));
  await new Promise((r) => setImmediate(r));
  zombie.child.kill('SIGSTOP');
  await untilServedBy([other], ['f3']);
  // The other member sells meanwhile, the zombie's shards included.
  const acknowledged = new Set<string>();
  await payAll(() => [other.url], ids.slice(20), acknowledged);
  zombie.child.kill('SIGCONT');
  const answers = (await Promise.all(inHand)).filter((a): a is NonNullable<typeof a> => a !== undefined);
  await untilServedBy([zombie, other], ['f2', 'f3']);
  for (const a of answers) {
    const now = (await http(other.url, 'GET', `/orders/${a.id}`)).body.status;
    if (a.status === 200) assert.is(now, 'PAID', `the zombie answered ${a.id} PAID, and it is`);
  }
  await payAll(() => [other.url, zombie.url], ids.slice(0, 20), acknowledged);
  await until(async () => (await http(other.url, 'GET', '/orders?status=PAYING&days=1&limit=1')).body.items.length === 0, 'no order left PAYING');
  let paid = 0;
  for (const id of ids) if ((await http(zombie.url, 'GET', `/orders/${id}`)).body.status === 'PAID') paid++;
  assert.is(paid, ids.length, 'every order ends paid, once');
  assert.is((await http(zombie.url, 'GET', `/products/${product}`)).body.stock, 1000 - paid);
  assert.equal(await appliedTwice(ctx.db.url), []);
  assert.equal((await checkInvariants(ctx.db.url)).problems, []);
});

it.run();
