// Failover: N cluster members under a steady load of creates and pays, one SIGKILLed; how long until its shards are served again, and what clients saw meanwhile.
//
//   npm run bench:failover -- --db postgres://postgres@127.0.0.1:5432/test [--runs 3] [--processes 3] [--shards 256] [--lease-ms 10000] [--concurrency 16]
//
// Each run has a fresh database, its own nats-server and its own members; the load goes to the
// members in turn and, once one is killed, to the survivors only (as a balancer that drops a dead
// backend would). Printed per run: when the survivors saw two members, when every shard was served
// again, the client's view (the longest stretch without a successful pay, the last 503), and what
// each survivor logged about the shards it took.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { clusterUnavailable, startEngineCluster, startNats, untilSettled, unsettled, type ClusterStatus } from './lib/cluster.js';
import { createSideDatabase } from './lib/database.js';
import { JsonClient } from './lib/http.js';
import { ROOT } from './lib/server.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    runs: { type: 'string', default: '3' },
    processes: { type: 'string', default: '3' },
    shards: { type: 'string', default: '256' },
    'lease-ms': { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '16' },
  },
});
const runs = Number(values.runs);
const processes = Number(values.processes);
const leaseMs = Number(values['lease-ms']);
const concurrency = Number(values.concurrency);
if (!String(values.db).startsWith('postgres')) {
  console.error('--db must be a PostgreSQL URL: a cluster shares one server database');
  process.exit(2);
}
if (processes < 2) {
  console.error('--processes must be at least 2: one is killed and another takes over');
  process.exit(2);
}
const missing = clusterUnavailable();
if (missing) {
  console.log(`skipped: ${missing}`);
  process.exit(0);
}
// The members read these through the harness's environment (bench/lib/cluster.ts).
process.env.CLUSTER_SHARDS = String(values.shards);
process.env.CLUSTER_LEASE_MS = String(leaseMs);

interface Answer {
  /** When the answer came (ms, this process's clock). */
  readonly at: number;
  readonly status: number;
  readonly pay: boolean;
}

interface RunResult {
  /** When NATS no longer listed any lease of the killed member (its leases expired). */
  readonly expiredMs: number;
  readonly membersMs: number;
  readonly servedMs: number;
  readonly longestGapMs: number;
  readonly last503Ms: number | null;
  readonly answers: Record<string, number>;
  readonly paidPerSecondBefore: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function statusOf(url: string, token: string): Promise<ClusterStatus | string> {
  try {
    const response = await fetch(`${url}/admin/cluster`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(2000) });
    return response.ok ? ((await response.json()) as ClusterStatus) : `${url} answered ${response.status}`;
  } catch (error) {
    return `${url}: ${(error as Error).message}`;
  }
}

async function oneRun(run: number): Promise<RunResult> {
  const database = await createSideDatabase('postgres', String(values.db), 'engine');
  const nats = await startNats();
  const logDir = join(ROOT, 'bench/out');
  mkdirSync(logDir, { recursive: true });
  const cluster = await startEngineCluster(processes, database.url, nats.url, (i) => join(logDir, `failover-${run}-${i}.log`));
  try {
    const urls = cluster.processes.map((p) => p.url);
    await untilSettled(urls, cluster.adminToken, join(logDir, 'failover-status.json'));
    const clients = urls.map((url) => new JsonClient(url, concurrency));
    const seeder = clients[0]!;
    const products: string[] = [];
    for (let i = 0; i < 32; i++) products.push(((await seeder.send<{ id: string }>('POST', '/products', { name: `p${i}`, price: 1, stock: 10_000_000 })).body as { id: string }).id);
    const users: string[] = [];
    for (let i = 0; i < 256; i++) users.push(((await seeder.send<{ id: string }>('POST', '/users', { name: `u${i}`, points: 1_000_000_000 })).body as { id: string }).id);

    const answers: Answer[] = [];
    let alive = clients.slice();
    let stop = false;
    let turn = 0;
    const pick = () => alive[turn++ % alive.length]!;
    const worker = async () => {
      while (!stop) {
        const client = pick();
        const created = await client
          .send<{ id?: string }>('POST', '/orders', { userId: users[Math.floor(Math.random() * users.length)], items: [{ productId: products[Math.floor(Math.random() * products.length)], quantity: 1 }] })
          .catch(() => ({ status: 0, body: {} as { id?: string } }));
        answers.push({ at: performance.now(), status: created.status, pay: false });
        if (created.status !== 201 || !created.body.id) {
          await sleep(20);
          continue;
        }
        for (let attempt = 0; !stop; attempt++) {
          const paid = await pick()
            .send('POST', `/orders/${created.body.id}/pay`)
            .catch(() => ({ status: 0, body: undefined }));
          answers.push({ at: performance.now(), status: paid.status, pay: true });
          if (paid.status === 200 || paid.status === 409) break;
          await sleep(20);
        }
      }
    };
    const load = Promise.all(Array.from({ length: concurrency }, worker));
    await sleep(3000);

    const nc = await connect({ servers: nats.url });
    const leases = await new Kvm(nc).open(`${cluster.name}_shards`);
    const victimLeases = async () => {
      let held = 0;
      for await (const k of await leases.keys()) {
        const entry = await leases.get(k);
        if (entry?.operation === 'PUT' && entry.json<{ node: string }>().node === 'bench-1') held++;
      }
      return held;
    };
    const victim = cluster.processes[0]!;
    process.kill(victim.pid, 'SIGKILL');
    const killedAt = performance.now();
    alive = clients.slice(1);
    const survivors = urls.slice(1);
    let membersMs = -1;
    let servedMs = -1;
    let expiredMs = -1;
    while (servedMs < 0 && performance.now() - killedAt < 10 * leaseMs + 60_000) {
      const [statuses, held] = await Promise.all([Promise.all(survivors.map((url) => statusOf(url, cluster.adminToken))), expiredMs < 0 ? victimLeases() : 0]);
      const now = performance.now() - killedAt;
      if (expiredMs < 0 && held === 0) expiredMs = now;
      if (membersMs < 0 && statuses.every((s) => typeof s !== 'string' && s.members.length === survivors.length)) membersMs = now;
      if (unsettled(statuses) === undefined) servedMs = now;
      else await sleep(50);
    }
    await nc.close();
    await sleep(3000);
    const stoppedAt = performance.now();
    stop = true;
    await load;

    const after = answers.filter((a) => a.at >= killedAt && a.at <= stoppedAt).sort((a, b) => a.at - b.at);
    const paidAt = after.filter((a) => a.pay && a.status === 200).map((a) => a.at);
    let longestGapMs = 0;
    let previous = killedAt;
    for (const at of [...paidAt, stoppedAt]) {
      longestGapMs = Math.max(longestGapMs, at - previous);
      previous = at;
    }
    const paidPerSecondBefore = answers.filter((a) => a.pay && a.status === 200 && a.at >= killedAt - 2000 && a.at < killedAt).length / 2;
    const last503 = after.filter((a) => a.status === 503).at(-1);
    const counts: Record<string, number> = {};
    for (const a of after) counts[String(a.status)] = (counts[String(a.status)] ?? 0) + 1;
    return { expiredMs, membersMs, servedMs, longestGapMs, last503Ms: last503 ? last503.at - killedAt : null, answers: counts, paidPerSecondBefore };
  } finally {
    await cluster.stop().catch(() => undefined);
    await nats.stop().catch(() => undefined);
    await database.drop().catch(() => undefined);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const seconds = (ms: number | null) => (ms === null || ms < 0 ? '–' : (ms / 1000).toFixed(2));

console.log(`failover: ${processes} members, ${values.shards} shards, lease ${leaseMs} ms, ${concurrency} clients creating and paying; one member SIGKILLed 3 s into the load`);
console.log('| run | paid/s before the kill | the killed member’s leases expired (s) | survivors see the members (s) | every shard served again (s) | longest stretch without a paid answer (s) | last 503 (s) | answers after the kill |');
console.log('|---|---|---|---|---|---|---|---|');
const results: RunResult[] = [];
for (let run = 1; run <= runs; run++) {
  const r = await oneRun(run);
  results.push(r);
  const answers = Object.entries(r.answers)
    .map(([status, n]) => `${status}: ${n}`)
    .join(', ');
  console.log(`| ${run} | ${r.paidPerSecondBefore} | ${seconds(r.expiredMs)} | ${seconds(r.membersMs)} | ${seconds(r.servedMs)} | ${seconds(r.longestGapMs)} | ${seconds(r.last503Ms)} | ${answers} |`);
}
console.log(
  `median: shards served again ${seconds(median(results.map((r) => r.servedMs)))} s after the kill, longest stretch without a paid answer ${seconds(median(results.map((r) => r.longestGapMs)))} s (lease ${seconds(leaseMs)} s)`,
);
