// A member's name stays in the members bucket while a round of its own takes long (a handoff waiting for the journal).

import { Kvm } from '@nats-io/kv';
import { connect as connectNats, type NatsConnection } from '@nats-io/transport-node';
import * as assert from 'uvu/assert';
import { Cluster, type ShardHost } from '../../src/cluster/cluster.js';
import { connect, type Database } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { SqlJournalStore } from '../../src/journal/sql-journal-store.js';
import { privateNats, type PrivateNats } from '../helpers/nats.js';
import { suite } from '../helpers/suite.js';
import { until } from '../helpers/until.js';

const SHARDS = 8;
const LEASE_MS = 1000;

interface Ctx {
  nats: PrivateNats;
  database: Database;
  watcher: NatsConnection;
  members: Cluster[];
}

const host: ShardHost = { post: () => undefined, deliver: () => undefined, drop: () => 0, giveUp: () => undefined };

const it = suite<Ctx>('cluster membership', { needs: ['nats-server'] });
it.before(async (ctx) => {
  ctx.nats = await privateNats();
  ctx.database = await connect({ url: undefined, dataDir: '', poolSize: 1 });
  await migrateToLatest(ctx.database);
  ctx.watcher = await connectNats({ servers: ctx.nats.url });
  ctx.members = [];
});
it.after(async (ctx) => {
  for (const m of ctx.members ?? []) await m.leave().catch(() => undefined);
  await ctx.watcher?.close();
  await ctx.database?.close();
  await ctx.nats?.dispose();
});

it('a member handing shards off while its journal takes three leases to drain stays a member throughout', async (ctx) => {
  const config = (node: string) => ({ natsUrl: ctx.nats.url, name: 'membership', node, shards: SHARDS, leaseMs: LEASE_MS });
  const store = new SqlJournalStore(ctx.database);
  const a = await Cluster.join(config('a'), ctx.database, store, 1000);
  ctx.members.push(a);
  // The journal of `a` is slow to drain: a handoff waits here for three leases.
  let draining = false;
  a.start(host, async () => {
    draining = true;
    await new Promise((r) => setTimeout(r, 3 * LEASE_MS));
    draining = false;
  });
  await until(() => a.status().served.length === SHARDS, 'a serves every shard');

  const b = await Cluster.join(config('b'), ctx.database, store, 1000);
  ctx.members.push(b);
  b.start(host, async () => undefined);
  // `a` now owns more than its share and hands half off, its round held by the drain.
  await until(() => draining, 'a drains before its handoff');
  const names = await new Kvm(ctx.watcher).open('membership_members');
  let missing = 0;
  while (draining) {
    const entry = await names.get('a');
    if (!entry || entry.operation !== 'PUT') missing++;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.is(missing, 0, 'a was missing from the members bucket while its round waited');
  await until(() => a.status().served.length === SHARDS / 2 && b.status().served.length === SHARDS / 2, 'a and b serve half each');
});

it.run();
