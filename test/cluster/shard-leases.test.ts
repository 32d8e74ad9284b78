// Shard leases in JetStream KV on a private nats-server: one owner at a time, handoff by release, a lapsed owner gives up before anyone can take over.

import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import * as assert from 'uvu/assert';
import { idInShard, shardOf } from '../../src/cluster/shard-of.js';
import { ShardLeases } from '../../src/cluster/shard-leases.js';
import { privateNats, type PrivateNats } from '../helpers/nats.js';
import { suite } from '../helpers/suite.js';
import { until } from '../helpers/until.js';

const placement = suite('shardOf');

placement('is stable, in range and spreads ids over the shards', () => {
  const counts = new Array<number>(16).fill(0);
  for (let i = 0; i < 16_000; i++) {
    const shard = shardOf(`user-${i}`, 16);
    assert.ok(shard >= 0 && shard < 16);
    counts[shard]!++;
  }
  for (const n of counts) assert.ok(n > 800 && n < 1200, `a shard got ${n} of 16,000`);
  assert.is(shardOf('0190c5b2-7a1e-7c3d-9f00-1234567890ab', 256), shardOf('0190c5b2-7a1e-7c3d-9f00-1234567890ab', 256));
});

placement('an id made in a shard lands there: an order beside its user', () => {
  const user = '0190c5b2-7a1e-7c3d-9f00-1234567890ab';
  const order = idInShard(shardOf(user, 256), '0190c5b2-0000-7000-8000-000000000001');
  assert.is(shardOf(order, 256), shardOf(user, 256));
  assert.match(order, /^[A-Za-z0-9_-]{1,64}$/, 'still a valid id in the HTTP contract');
});

placement.run();

const it = suite<{ nats: PrivateNats; conns: NatsConnection[]; leases: ShardLeases[] }>('ShardLeases', { needs: ['nats-server'] });
it.before(async (ctx) => {
  ctx.nats = await privateNats();
});
it.before.each((ctx) => {
  ctx.conns = [];
  ctx.leases = [];
});
it.after.each(async (ctx) => {
  for (const l of ctx.leases) await l.close().catch(() => undefined);
  for (const c of ctx.conns) await c.close().catch(() => undefined);
});
it.after(async (ctx) => {
  await ctx.nats?.dispose();
});

let buckets = 0;
const member = async (ctx: { nats: PrivateNats; conns: NatsConnection[]; leases: ShardLeases[] }, node: string, bucket: string, leaseMs: number) => {
  const nc = await connect({ servers: ctx.nats.url });
  ctx.conns.push(nc);
  const leases = await ShardLeases.open(nc, { bucket, node, leaseMs });
  ctx.leases.push(leases);
  return { nc, leases };
};

it('one owner per shard; the holder is named; a release hands the shard over at once with a higher epoch', async (ctx) => {
  const bucket = `leases_${++buckets}`;
  const a = await member(ctx, 'a', bucket, 5000);
  const b = await member(ctx, 'b', bucket, 5000);
  const first = await a.leases.tryAcquire(3);
  assert.ok(first);
  assert.is(await b.leases.tryAcquire(3), undefined, 'b cannot take a held shard');
  assert.equal((await b.leases.holders()).get(3)?.node, 'a');
  await a.leases.release(3);
  assert.not.ok(a.leases.holds(3));
  const second = await b.leases.tryAcquire(3);
  assert.ok(second, 'released: b takes it without waiting for the TTL');
  assert.ok(second.epoch > first.epoch, `epoch ${second.epoch} > ${first.epoch}`);
});

it('renewals keep a lease past its TTL', async (ctx) => {
  const bucket = `leases_${++buckets}`;
  const a = await member(ctx, 'a', bucket, 600);
  const b = await member(ctx, 'b', bucket, 600);
  assert.ok(await a.leases.tryAcquire(1));
  const until2 = performance.now() + 2000;
  while (performance.now() < until2) {
    assert.is(await b.leases.tryAcquire(1), undefined, 'still held');
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(a.leases.holds(1));
});

it('an owner cut off from NATS stops serving before another process can take its shard', async (ctx) => {
  const bucket = `leases_${++buckets}`;
  const leaseMs = 1200;
  const a = await member(ctx, 'a', bucket, leaseMs);
  const b = await member(ctx, 'b', bucket, leaseMs);
  let lostAt: number | undefined;
  a.leases.onLost(() => (lostAt ??= performance.now()));
  assert.ok(await a.leases.tryAcquire(2));
  // a can no longer renew: its connection is gone (as if paused or partitioned).
  await a.nc.close();
  let takenAt: number | undefined;
  await until(async () => {
    a.leases.holds(2, performance.now());
    if (await b.leases.tryAcquire(2)) takenAt = performance.now();
    return takenAt !== undefined;
  }, 'b takes the lapsed shard', 30_000, 25);
  assert.ok(lostAt !== undefined, 'a gave the shard up');
  assert.ok(lostAt < takenAt!, `a gave up ${Math.round(takenAt! - lostAt)} ms before b took over`);
  assert.not.ok(a.leases.holds(2));
});

it('a lease nobody renewed that the server keeps past its TTL is free, and is taken over with a higher epoch', async (ctx) => {
  const bucket = `leases_${++buckets}`;
  // The bucket keeps entries for a minute: as a server that does not expire them when due.
  const x = await member(ctx, 'x', bucket, 60_000);
  const held = await x.leases.tryAcquire(5);
  assert.ok(held);
  await x.nc.close();
  const b = await member(ctx, 'b', bucket, 600);
  assert.is(await b.leases.tryAcquire(5), undefined, 'just written: still held');
  assert.equal((await b.leases.holders()).get(5)?.node, 'x');
  await new Promise((r) => setTimeout(r, 1000));
  assert.is((await b.leases.holders()).get(5), undefined, 'unrenewed for 1.5 of b\'s lease: free');
  const taken = await b.leases.tryAcquire(5);
  assert.ok(taken, 'b takes it over');
  assert.ok(taken.epoch > held.epoch, `epoch ${taken.epoch} > ${held.epoch}`);
  assert.equal((await b.leases.holders()).get(5)?.node, 'b');
  const c = await member(ctx, 'c', bucket, 600);
  assert.is(await c.leases.tryAcquire(5), undefined, 'renewed by b: held');
});

it('a renewal that finds another owner loses the lease at once', async (ctx) => {
  const bucket = `leases_${++buckets}`;
  const a = await member(ctx, 'a', bucket, 3000);
  let why = '';
  a.leases.onLost((_shard, reason) => (why = reason));
  const lease = await a.leases.tryAcquire(4);
  assert.ok(lease);
  // Another writer changes the key behind a's back, as a new owner's create would after an expiry.
  const kv = await new Kvm(a.nc).open(bucket);
  await kv.put('shard.4', JSON.stringify({ node: 'intruder' }));
  await until(() => !a.leases.owned.has(4), 'a drops the lease at its next renewal', 10_000);
  assert.match(why, /another process/);
});

it.run();
