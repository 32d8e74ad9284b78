// --processes N: a private nats-server, N engine processes as cluster members on one database, waiting until they serve every shard, and the share of actor messages that crossed processes.

import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Scrape } from './engine-metrics.js';
import { freePort, startServer, type ServerProcess } from './server.js';

/** Where nats-server is: NATS_SERVER_BIN, else Debian's /usr/sbin/nats-server. */
export const natsServerBinary = (): string => process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/** Why the cluster cannot run here, or undefined when it can. */
export function clusterUnavailable(): string | undefined {
  const binary = natsServerBinary();
  return existsSync(binary) ? undefined : `--processes needs nats-server, not found at ${binary} (install nats-server or set NATS_SERVER_BIN)`;
}

export interface PrivateNats {
  readonly url: string;
  readonly pid: number;
  /** SIGTERM, waits for the exit, removes the store. */
  stop(): Promise<void>;
}

/** A nats-server with JetStream of the run's own: a free port, a temporary store; resolves once JetStream answers. */
export async function startNats(): Promise<PrivateNats> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-nats-'));
  const url = `nats://127.0.0.1:${port}`;
  const child = spawn(natsServerBinary(), ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore' });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`nats-server exited during start-up (${child.exitCode ?? child.signalCode})`);
    }
    const nc = await connect({ servers: url, timeout: 500 }).catch(() => undefined);
    if (nc) {
      // JetStream answers once the server has read its store.
      const ok = await jetstreamManager(nc, { timeout: 1000 }).then(
        () => true,
        () => false,
      );
      await nc.close();
      if (ok) break;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error('nats-server did not start within 20 s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, pid: child.pid as number, stop };
}

export interface EngineCluster {
  readonly processes: readonly ServerProcess[];
  /** The bearer token of GET /admin/cluster. */
  readonly adminToken: string;
  readonly name: string;
  /** SIGTERM to every process at once (each hands its shards off), then waits for them all. */
  stop(): Promise<void>;
}

/**
 * N engine processes on `databaseUrl` and `natsUrl`, started together (as the cluster test
 * does), each with a cluster name of the run's own and names bench-1 … bench-N. CLUSTER_SHARDS
 * and CLUSTER_LEASE_MS come from the harness's environment, else the engine's defaults.
 */
export async function startEngineCluster(count: number, databaseUrl: string, natsUrl: string, logFile: (index: number) => string): Promise<EngineCluster> {
  const name = `bench_${randomBytes(4).toString('hex')}`;
  const adminToken = randomBytes(16).toString('hex');
  const started = await Promise.allSettled(
    Array.from({ length: count }, (_, i) =>
      startServer('engine', databaseUrl, logFile(i + 1), {
        CLUSTER_NATS_URL: natsUrl,
        CLUSTER_NAME: name,
        NODE_NAME: `bench-${i + 1}`,
        ADMIN_TOKEN: adminToken,
      }),
    ),
  );
  const processes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async () => {
    await Promise.all(processes.map((p) => p.stop()));
  };
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { processes, adminToken, name, stop };
}

/** What GET /admin/cluster answers (the fields the harness reads). */
export interface ClusterStatus {
  readonly node: string;
  readonly shards: number;
  readonly members: ReadonlyArray<{ readonly node: string; readonly shardsOwned: number }>;
  readonly owners: Readonly<Record<string, string>>;
  readonly served: readonly number[];
}

async function clusterStatus(url: string, token: string): Promise<ClusterStatus | string> {
  try {
    const response = await fetch(`${url}/admin/cluster`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
    if (!response.ok) return `${url}/admin/cluster answered ${response.status}: ${(await response.text()).slice(0, 200)}`;
    return (await response.json()) as ClusterStatus;
  } catch (error) {
    return `${url}/admin/cluster: ${(error as Error).message}`;
  }
}

/**
 * Why the cluster is not yet settled, or undefined once it is: every process sees all N members
 * and an owner for every shard, the shards served add up to all of them with none served twice,
 * and no process holds more than its fair share (so no handoff is still to come).
 */
export function unsettled(statuses: ReadonlyArray<ClusterStatus | string>): string | undefined {
  const count = statuses.length;
  const served = new Map<number, string>();
  for (const s of statuses) {
    if (typeof s === 'string') return s;
    if (s.members.length !== count) return `${s.node} sees ${s.members.length} of ${count} members`;
    const owned = Object.keys(s.owners).length;
    if (owned !== s.shards) return `${s.node} sees an owner for ${owned} of ${s.shards} shards`;
    const fair = Math.ceil(s.shards / count);
    if (s.served.length > fair) return `${s.node} serves ${s.served.length} shards, more than its share of ${fair}`;
    for (const shard of s.served) {
      const other = served.get(shard);
      if (other !== undefined) return `shard ${shard} served by both ${other} and ${s.node}`;
      served.set(shard, s.node);
    }
  }
  const shards = (statuses[0] as ClusterStatus).shards;
  return served.size === shards ? undefined : `${served.size} of ${shards} shards served`;
}

/** One line per process: the members it sees, the shards it sees owned, and those it serves. */
export function describeStatuses(statuses: ReadonlyArray<ClusterStatus | string>): string {
  return statuses
    .map((s) => {
      if (typeof s === 'string') return `  ${s}`;
      const unowned = Array.from({ length: s.shards }, (_, i) => i).filter((i) => s.owners[String(i)] === undefined);
      const members = s.members.map((m) => `${m.node} ${m.shardsOwned}`).join(', ');
      return `  ${s.node}: members ${members || 'none'}; owners for ${s.shards - unowned.length} of ${s.shards} shards${
        unowned.length ? ` (none for ${unowned.slice(0, 24).join(' ')}${unowned.length > 24 ? ' …' : ''})` : ''
      }; serves ${s.served.length}`;
    })
    .join('\n');
}

/**
 * Waits until every process reports all shards served (see `unsettled`); returns each process's
 * share. On a time-out it writes every process's last answer to `dumpFile` and says what each saw.
 */
export async function untilSettled(urls: readonly string[], token: string, dumpFile: string, timeoutMs = 120_000): Promise<ClusterStatus[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const statuses = await Promise.all(urls.map((url) => clusterStatus(url, token)));
    const why = unsettled(statuses);
    if (why === undefined) return statuses as ClusterStatus[];
    if (Date.now() > deadline) {
      mkdirSync(dirname(dumpFile), { recursive: true });
      writeFileSync(dumpFile, `${JSON.stringify({ at: new Date().toISOString(), urls, statuses }, null, 2)}\n`);
      throw new Error(`the ${urls.length} engine processes did not settle within ${timeoutMs / 1000} s: ${why}\n${describeStatuses(statuses)}\n(GET /admin/cluster of each: ${dumpFile})`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Actor messages delivered in the process (local) and sent to another one (remote). */
export interface MessageRoutes {
  readonly local: number;
  readonly remote: number;
}

/**
 * The counter `orderengine_cluster_messages_total{route="local"|"remote"}` in one scrape,
 * summed over any other labels; undefined when the engine exports no such series.
 */
export const CLUSTER_MESSAGES = /^orderengine_cluster_messages_total\{(.*)\}$/;

export function messageRoutes(scrape: Scrape | undefined): MessageRoutes | undefined {
  if (!scrape) return undefined;
  let found = false;
  let local = 0;
  let remote = 0;
  for (const [series, value] of scrape) {
    const labels = CLUSTER_MESSAGES.exec(series)?.[1];
    if (labels === undefined) continue;
    const route = /(?:^|,)route="([^"]*)"/.exec(labels)?.[1];
    found = true;
    if (route === 'local') local += value;
    else if (route === 'remote') remote += value;
  }
  return found ? { local, remote } : undefined;
}

/** Messages over the load, summed over the processes (each scraped before and after); undefined when no process has the counter. */
export function messagesDuring(before: ReadonlyArray<Scrape | undefined>, after: ReadonlyArray<Scrape | undefined>): MessageRoutes | undefined {
  let found = false;
  let local = 0;
  let remote = 0;
  after.forEach((scrape, i) => {
    const end = messageRoutes(scrape);
    if (!end) return;
    found = true;
    const start = messageRoutes(before[i]) ?? { local: 0, remote: 0 };
    local += end.local - start.local;
    remote += end.remote - start.remote;
  });
  return found ? { local, remote } : undefined;
}

/** remote ÷ (local + remote), 0–1; null when nothing was counted. */
export const crossedShare = (m: MessageRoutes | undefined): number | null =>
  m && m.local + m.remote > 0 ? Math.round((m.remote / (m.local + m.remote)) * 10_000) / 10_000 : null;

/** Requests to actors in another process over the load, and their mean time to the answer. */
export interface RemoteRequests {
  readonly count: number;
  readonly meanMs: number | null;
}

/** From `orderengine_cluster_remote_request_seconds` (sum and count), summed over the processes; undefined without it. */
export function remoteRequestsDuring(before: ReadonlyArray<Scrape | undefined>, after: ReadonlyArray<Scrape | undefined>): RemoteRequests | undefined {
  const names = ['orderengine_cluster_remote_request_seconds'];
  let found = false;
  let count = 0;
  let seconds = 0;
  after.forEach((scrape, i) => {
    const name = names.find((n) => scrape?.has(`${n}_count`));
    if (!scrape || !name) return;
    found = true;
    count += (scrape.get(`${name}_count`) ?? 0) - (before[i]?.get(`${name}_count`) ?? 0);
    seconds += (scrape.get(`${name}_sum`) ?? 0) - (before[i]?.get(`${name}_sum`) ?? 0);
  });
  if (!found) return undefined;
  return { count, meanMs: count > 0 ? Math.round((seconds / count) * 10_000) / 10 : null };
}

/** Shards taken, handed off and lost with their lease, and lease renewals NATS did not confirm, summed over the processes. */
export interface ShardMoves {
  readonly taken: number;
  readonly handedOff: number;
  readonly lost: number;
  readonly renewalFailures: number;
}

const SHARD_MOVES = /^orderengine_cluster_shard_moves_total\{(.*)\}$/;
const RENEWAL_FAILURES = ['orderengine_cluster_lease_renewal_failures_total'];

function shardMovesIn(scrape: Scrape | undefined): ShardMoves | undefined {
  if (!scrape) return undefined;
  const moves = { taken: 0, handedOff: 0, lost: 0, renewalFailures: 0 };
  let found = false;
  for (const [series, value] of scrape) {
    const labels = SHARD_MOVES.exec(series)?.[1];
    if (labels === undefined) continue;
    found = true;
    const move = /(?:^|,)move="([^"]*)"/.exec(labels)?.[1];
    if (move === 'taken') moves.taken += value;
    else if (move === 'handed_off') moves.handedOff += value;
    else if (move === 'lost') moves.lost += value;
  }
  for (const name of RENEWAL_FAILURES) {
    const v = scrape.get(name);
    if (v !== undefined) {
      found = true;
      moves.renewalFailures += v;
    }
  }
  return found ? moves : undefined;
}

/** Over the load (each process scraped before and after); undefined when no process has these metrics. */
export function shardMovesDuring(before: ReadonlyArray<Scrape | undefined>, after: ReadonlyArray<Scrape | undefined>): ShardMoves | undefined {
  let total: ShardMoves | undefined;
  after.forEach((scrape, i) => {
    const end = shardMovesIn(scrape);
    if (!end) return;
    const start = shardMovesIn(before[i]) ?? { taken: 0, handedOff: 0, lost: 0, renewalFailures: 0 };
    const t = total ?? { taken: 0, handedOff: 0, lost: 0, renewalFailures: 0 };
    total = {
      taken: t.taken + end.taken - start.taken,
      handedOff: t.handedOff + end.handedOff - start.handedOff,
      lost: t.lost + end.lost - start.lost,
      renewalFailures: t.renewalFailures + end.renewalFailures - start.renewalFailures,
    };
  });
  return total;
}
