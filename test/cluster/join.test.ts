// Members joining and leaving under load: a process that joins mid-sale takes its share, one stopped with SIGTERM hands its shards off, and no pay meanwhile answers anything but 2xx, 4xx or 503 with Retry-After.

import * as assert from 'uvu/assert';
import { appliedTwice } from '../helpers/applied-once.js';
import { http, startEngineProcess, type EngineProcess } from '../helpers/child.js';
import { clusterOf, memberEnv, untilShared } from '../helpers/cluster.js';
import { availableDatabaseKinds, type TestDatabase } from '../helpers/databases.js';
import { checkInvariants } from '../helpers/invariants.js';
import { privateNats, type PrivateNats } from '../helpers/nats.js';
import { suite } from '../helpers/suite.js';
import { until } from '../helpers/until.js';

const SHARDS = 32;

interface Ctx {
  nats: PrivateNats;
  db: TestDatabase;
  engines: EngineProcess[];
}

/** A call whose 503 must carry Retry-After: the answer with that header. */
async function call(url: string, method: string, path: string, body?: unknown) {
  const answer = await http(url, method, path, body);
  return { ...answer, retryAfter: answer.headers.get('retry-after') };
}

const balanced = (engines: readonly EngineProcess[], names: readonly string[]) => untilShared(engines, names, SHARDS);

const postgres = availableDatabaseKinds().find((k) => k.name === 'postgres');
const env = (nats: PrivateNats, node: string) => memberEnv(nats, 'join', node, { shards: SHARDS }, { REQUEST_TIMEOUT_MS: '5000' });

const it = suite<Ctx>('members joining and leaving under load', { needs: ['postgres', 'nats-server'] });
it.before(async (ctx) => {
  ctx.nats = await privateNats();
  ctx.db = await postgres!.create();
  ctx.engines = await Promise.all(['j1', 'j2', 'j3'].map((n) => startEngineProcess(ctx.db.url, env(ctx.nats, n))));
  await balanced(ctx.engines, ['j1', 'j2', 'j3']);
});
it.after(async (ctx) => {
  for (const e of ctx.engines ?? []) await e.kill().catch(() => undefined);
  await ctx.db?.drop();
  await ctx.nats?.dispose();
});

it('a fourth member joins mid-sale and takes shards; a SIGTERM hands shards off; every answer is 2xx, 4xx or 503 with Retry-After', async (ctx) => {
  const urls = () => ctx.engines.map((e) => e.url);
  const at = (i: number) => urls()[i % urls().length]!;
  const product = (await call(at(0), 'POST', '/products', { name: 'p', price: 1, stock: 120 })).body.id as string;
  const users = await Promise.all(Array.from({ length: 24 }, async (_, i) => (await call(at(i), 'POST', '/users', { name: `u${i}`, points: 1000 })).body.id as string));
  const ids: string[] = [];
  for (let i = 0; i < 300; i++) ids.push((await call(at(i), 'POST', '/orders', { userId: users[i % users.length], items: [{ productId: product, quantity: 1 }] })).body.id as string);

  const acknowledged = new Set<string>();
  const unexpected: string[] = [];
  let retried = 0;
  let answered = 0;
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < ids.length; i = next++) {
      for (let attempt = 0; attempt < 200; attempt++) {
        const answer = await call(at(i + attempt), 'POST', `/orders/${ids[i]}/pay`).catch(() => undefined);
        if (!answer) continue; // the member stopping closed the connection: a balancer retries elsewhere
        if (answer.status === 200 && answer.body.status === 'PAID') acknowledged.add(ids[i]!);
        if (answer.status < 500) {
          answered++;
          break;
        }
        if (answer.status !== 503 || answer.retryAfter === null) unexpected.push(`${answer.status} ${answer.retryAfter} ${JSON.stringify(answer.body)}`);
        retried++;
        await new Promise((r) => setTimeout(r, 50));
      }
      // Paced, so that the sale goes on through the join and the leave.
      await new Promise((r) => setTimeout(r, 150));
    }
  };
  const paying = Promise.all(Array.from({ length: 6 }, worker));
  await until(() => acknowledged.size >= 15, 'the sale is under way');
  const beforeJoin = answered;
  const joined = await startEngineProcess(ctx.db.url, env(ctx.nats, 'j4'));
  ctx.engines = [...ctx.engines, joined];
  await balanced(ctx.engines, ['j1', 'j2', 'j3', 'j4']);
  assert.ok(answered > beforeJoin, 'pays were answered while the member joined');
  assert.ok((await clusterOf(joined.url))!.members.find((m) => m.node === 'j4')!.shardsOwned > 0, 'the new member took shards');

  const [leaving, ...staying] = ctx.engines as [EngineProcess, ...EngineProcess[]];
  ctx.engines = staying;
  const beforeLeave = answered;
  assert.is(await leaving.stop(), 0, 'a clean exit');
  await balanced(staying, ['j2', 'j3', 'j4']);
  assert.ok(answered > beforeLeave, 'pays were answered while the member left');
  await paying;
  console.log(`  ${acknowledged.size} paid, ${retried} answers retried (503 with Retry-After, or a connection closed by the leaving member)`);
  assert.equal(unexpected, [], 'no answer but 2xx, 4xx and 503 with Retry-After');
  assert.is(acknowledged.size, 120, 'the sale sells out exactly');
  await until(async () => (await call(at(0), 'GET', '/orders?status=PAYING&days=1&limit=1')).body.items.length === 0, 'no order left PAYING');
  for (const id of acknowledged) assert.is((await call(at(1), 'GET', `/orders/${id}`)).body.status, 'PAID', `acknowledged ${id}`);
  assert.equal(await appliedTwice(ctx.db.url), []);
  assert.equal((await checkInvariants(ctx.db.url)).problems, []);
});

it.run();
