// `npm run bench`: per side a fresh database and server, seeding, load from a child process, then tables, invariants, JSON and HTML.

import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import cliProgress from 'cli-progress';
import { CpuSampler, databaseProcesses, pidListeningOn, withDescendants } from './lib/cpu.js';
import { analyze, checkInvariants, createSideDatabase, openReader, type InvariantReport, type Seeded } from './lib/database.js';
import {
  clusterUnavailable,
  messageRoutes,
  messagesDuring,
  remoteRequestsDuring,
  shardMovesDuring,
  startEngineCluster,
  startNats,
  untilSettled,
  type ClusterStatus,
} from './lib/cluster.js';
import { cacheHitRate, combineStats, engineStats, scrape, sumScrapes, type Scrape } from './lib/engine-metrics.js';
import { htmlReport } from './lib/html.js';
import { JsonClient } from './lib/http.js';
import type { FromLoad, LoadPlan, LoadResult, ToLoad } from './lib/load-protocol.js';
import { benchStream, OutboxWatch } from './lib/outbox.js';
import { otlpReceiver, type OtlpReceiver } from './lib/otlp-receiver.js';
import { parseOptions, USAGE, type Options, type Side } from './lib/options.js';
import { benchJson, redact, sideTable, summaryTable, targetLabel, type ProcessRun, type SideRun } from './lib/report.js';
import { seed } from './lib/seed.js';
import { ROOT, startServer } from './lib/server.js';

/** How long the engine gets after the load to finish payments whose answers were cut off. */
const SETTLE_MS = 20_000;
/** The span of a pay at its order: one per payment whose trace reached the receiver. */
const PAY_SPAN = 'order PayOrder';

// cold-actors has a driver of its own: bulk seeding in-process, the engine side only.
if (process.argv[process.argv.indexOf('--scenario') + 1] === 'cold-actors') {
  const { runColdActors } = await import('./cold-actors.js');
  process.exit(await runColdActors(process.argv.slice(2)));
}

let options: Options;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  console.error(`${(error as Error).message}\n\n${USAGE}`);
  process.exit(2);
}

/** Undo steps (stop a server, drop a database), newest first; also run on Ctrl-C. */
const cleanups: Array<() => Promise<void>> = [];
async function cleanUp(): Promise<void> {
  while (cleanups.length > 0) await (cleanups.pop() as () => Promise<void>)().catch((e: Error) => console.error(`cleanup: ${e.message}`));
}
process.once('SIGINT', () => {
  console.error('\ninterrupted: stopping servers and dropping the bench databases');
  void cleanUp().then(() => process.exit(130));
});

const say = (line: string) => console.log(`  · ${line}`);

if (options.processes > 1 && options.sides.includes('engine')) {
  const missing = clusterUnavailable();
  if (missing) {
    console.error(`skipped: ${missing}`);
    process.exit(0);
  }
}

function runLoad(plan: LoadPlan, side: Side, onChild: (child: ChildProcess) => void): Promise<LoadResult> {
  const child = fork(join(ROOT, 'bench/lib/load.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  onChild(child);
  const flash = plan.scenario === 'flash-sale';
  const bar = new cliProgress.SingleBar(
    {
      format: `  ${side.padEnd(6)} [{bar}] {value}/{total} ${flash ? 'orders' : 's'} | {rps} answers/s | {paid} paid`,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(flash ? plan.orderIds.length : Math.round(options.durationS), 0, { rps: 0, paid: 0 });
  let previous = { at: 0, responses: 0 };
  return new Promise((resolve, reject) => {
    child.on('message', (message: FromLoad) => {
      if (message.type === 'tick') {
        const rps = Math.round(((message.responses - previous.responses) * 1000) / Math.max(1, message.elapsedMs - previous.at));
        previous = { at: message.elapsedMs, responses: message.responses };
        bar.update(flash ? message.responses : Math.min(Math.round(message.elapsedMs / 1000), Math.round(options.durationS)), { rps, paid: message.paid });
      } else {
        bar.stop();
        if (message.type === 'done') resolve(message.result);
        else reject(new Error(`load generator failed: ${message.message}`));
      }
    });
    child.once('exit', (code) => {
      bar.stop();
      reject(new Error(`load generator exited with ${code}`));
    });
    child.send({ type: 'start', plan } satisfies ToLoad);
  });
}

/** Waits until no order is PAYING any more (the engine's read model; the baselines pay atomically). */
async function settle(client: JsonClient): Promise<void> {
  const deadline = Date.now() + SETTLE_MS;
  while (Date.now() < deadline) {
    const answer = await client.send<{ items: unknown[] }>('GET', '/orders?status=PAYING&days=1&limit=1').catch(() => undefined);
    if (!answer || answer.status !== 200 || answer.body.items.length === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  say(`orders still PAYING ${SETTLE_MS / 1000} s after the load`);
}

async function readInvariants(url: string, seeded: Seeded): Promise<InvariantReport> {
  const reader = await openReader(url);
  try {
    return await checkInvariants(reader, seeded);
  } finally {
    await reader.close();
  }
}

/** GET /metrics of every process; undefined entries for a process without them. */
const scrapeAll = (clients: readonly JsonClient[]) => Promise.all(clients.map((c) => scrape(c)));

async function runSide(side: Side): Promise<SideRun> {
  const depth = cleanups.length;
  // --processes applies to the engine; the baselines are one process each.
  const processes = side === 'engine' ? options.processes : 1;
  let urls: string[];
  let serverPids: number[] = [];
  let natsPid: number | undefined;
  let cluster: { token: string; statuses: ClusterStatus[] } | undefined;
  let traces: OtlpReceiver | undefined;
  let stopServer = async () => {};
  let databaseUrl: string | undefined;
  if (options.url) {
    urls = [options.url];
    // With --url, --db names the running engine's own database, read back for the invariants.
    databaseUrl = options.dbKind === 'pglite' ? undefined : options.db;
    const target = new URL(options.url);
    const pid = ['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname) ? pidListeningOn(Number(target.port || 80)) : undefined;
    if (pid) serverPids = [pid];
    console.log(`\n▶ ${side}: ${options.url}${pid ? ` (pid ${pid})` : ''}`);
  } else {
    const database = await createSideDatabase(options.dbKind, options.db, side);
    cleanups.push(() => database.drop());
    databaseUrl = database.url;
    console.log(`\n▶ ${side}: fresh database ${redact(database.url)}`);
    if (processes > 1) {
      const nats = await startNats();
      cleanups.push(() => nats.stop());
      natsPid = nats.pid;
      say(`nats-server pid ${nats.pid} on ${nats.url}`);
      const engines = await startEngineCluster(processes, database.url, nats.url, (i) => join(ROOT, 'bench/out', `${options.scenario}-${side}-${i}.log`));
      cleanups.push(() => engines.stop());
      urls = engines.processes.map((p) => p.url);
      serverPids = engines.processes.map((p) => p.pid);
      stopServer = () => engines.stop();
      say(`${processes} engine processes (cluster ${engines.name}): ${engines.processes.map((p) => `pid ${p.pid} on ${p.url}`).join(', ')}`);
      const started = performance.now();
      const dump = join(ROOT, 'bench/out', `${options.scenario}-cluster-status.json`);
      const statuses = await untilSettled(urls, engines.adminToken, dump);
      cluster = { token: engines.adminToken, statuses };
      say(`all ${statuses[0]?.shards} shards served after ${((performance.now() - started) / 1000).toFixed(1)} s: ${statuses.map((st) => `${st.node} ${st.served.length}`).join(', ')}`);
    } else {
      let env: Record<string, string> = {};
      if (side === 'engine' && options.nats) {
        const stream = benchStream(options.nats);
        cleanups.push(() => stream.drop());
        env = stream.env;
        say(`outbox to NATS ${options.nats}, stream ${stream.env.NATS_STREAM}`);
      }
      if (side === 'engine' && options.tracing) {
        const receiver = await otlpReceiver([PAY_SPAN]);
        traces = receiver;
        cleanups.push(() => receiver.close());
        env = { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
        say(`tracing on: OTLP to ${receiver.url} (answers 200, counts the spans)`);
      }
      // The engine alone, even if the harness's own environment names a cluster; untraced unless --tracing.
      if (side === 'engine') env = { CLUSTER_NATS_URL: '', OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '', ...env };
      const server = await startServer(side, database.url, join(ROOT, 'bench/out', `${options.scenario}-${side}.log`), env);
      cleanups.push(() => server.stop());
      urls = [server.url];
      serverPids = [server.pid];
      stopServer = () => server.stop();
      say(`${side} server pid ${server.pid} on ${server.url}`);
    }
  }

  const clients = urls.map((url) => new JsonClient(url));
  // Seeding goes through the first process; in a cluster it routes to each actor's owner.
  const client = clients[0] as JsonClient;
  const seeded = await seed(client, options, say);
  if (!options.url && databaseUrl && options.dbKind !== 'pglite') {
    // The fresh tables' statistics still describe them empty: refresh them, as a running service's database would have.
    const started = performance.now();
    await analyze(databaseUrl);
    say(`analyzed the tables in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  if (cluster) {
    // Seeding must not have moved a shard; if it did, wait again, so the load meets a settled cluster.
    cluster.statuses = await untilSettled(urls, cluster.token, join(ROOT, 'bench/out', `${options.scenario}-cluster-status.json`));
  }

  let loadPid: number | undefined;
  let loadChild: ChildProcess | undefined;
  const dbKind = options.dbKind;
  const dbName = databaseUrl && dbKind !== 'pglite' ? new URL(databaseUrl).pathname.slice(1) : '';
  const processGroups = serverPids.length > 1 ? Object.fromEntries(serverPids.map((pid, i) => [`process${i}`, () => withDescendants(pid)])) : {};
  const sampler = new CpuSampler({
    // Every engine process and its descendants, summed.
    ...(serverPids.length > 0 ? { server: () => serverPids.flatMap((pid) => withDescendants(pid)) } : {}),
    ...processGroups,
    ...(natsPid ? { nats: () => [natsPid as number] } : {}),
    // PGlite runs inside the engine's process, so its share is the server's.
    ...(dbKind === 'pglite' ? {} : { database: () => databaseProcesses(dbKind, dbName) }),
    loadGenerator: () => (loadPid ? withDescendants(loadPid) : []),
    harness: () => [process.pid],
  });
  const plan: LoadPlan = {
    urls,
    scenario: options.scenario,
    stages: options.stages,
    orderIds: seeded.orderIds,
    userIds: seeded.userIds,
    productIds: seeded.productIds,
    reads: seeded.reads,
  };
  const metricsBefore: Array<Scrape | undefined> = side === 'engine' ? await scrapeAll(clients) : [];
  const outboxWatch = side === 'engine' && options.nats ? new OutboxWatch(client) : undefined;
  await outboxWatch?.start();
  sampler.start();
  let load: LoadResult;
  try {
    load = await runLoad(plan, side, (child) => {
      loadChild = child;
      loadPid = child.pid;
    });
  } finally {
    loadChild?.kill();
  }
  const sampled = sampler.stop();
  const spansAtLoadEnd = traces?.stats().spans;
  const metricsAfter: Array<Scrape | undefined> = side === 'engine' ? await scrapeAll(clients) : [];
  const perProcess = metricsAfter.map((after, i) => engineStats(metricsBefore[i], after, load.elapsedMs));
  const engine = combineStats(perProcess);
  const cache = cacheHitRate(sumScrapes(metricsBefore), sumScrapes(metricsAfter));
  const messages = side === 'engine' ? messagesDuring(metricsBefore, metricsAfter) : undefined;
  const remoteRequests = side === 'engine' ? remoteRequestsDuring(metricsBefore, metricsAfter) : undefined;
  const shardMoves = cluster ? shardMovesDuring(metricsBefore, metricsAfter) : undefined;
  if (outboxWatch) say('waiting for the outbox relay to catch up');
  const outbox = await outboxWatch?.finish();

  if (side === 'engine') await settle(client);
  for (const c of clients) c.close();
  await stopServer();
  const invariants = databaseUrl ? await readInvariants(databaseUrl, seeded.seeded) : undefined;
  // Read after the server stopped: it sends the spans it still held when it shuts down.
  const traced = traces?.stats();
  while (cleanups.length > depth) await (cleanups.pop() as () => Promise<void>)();

  const byProcess: ProcessRun[] | undefined = cluster?.statuses.map((status, i) => {
    const url = urls[i] as string;
    const before = messageRoutes(metricsBefore[i]) ?? { local: 0, remote: 0 };
    const after = messageRoutes(metricsAfter[i]);
    const stats = perProcess[i];
    const cpu = sampled[`process${i}`];
    return {
      url,
      node: status.node,
      shards: status.served.length,
      answers: load.byTarget[url] ?? 0,
      ...(cpu ? { cpu } : {}),
      ...(stats ? { engine: stats } : {}),
      ...(after ? { messages: { local: after.local - before.local, remote: after.remote - before.remote } } : {}),
    };
  });

  return {
    side,
    processes,
    load,
    cpu: {
      server: sampled.server,
      database: sampled.database,
      loadGenerator: sampled.loadGenerator,
      ...(sampled.nats ? { nats: sampled.nats } : {}),
      // What else kept the (shared) machine busy meanwhile: a large share makes the numbers suspect.
      otherPercent: Math.max(
        0,
        (sampled.machine?.avgPercent ?? 0) -
          ['server', 'nats', 'database', 'loadGenerator', 'harness'].reduce((sum, group) => sum + (sampled[group]?.avgPercent ?? 0), 0),
      ),
    },
    ...(messages ? { messages } : {}),
    ...(remoteRequests ? { remoteRequests } : {}),
    ...(shardMoves ? { shardMoves } : {}),
    ...(byProcess ? { byProcess } : {}),
    invariants,
    ...(engine ? { engine } : {}),
    ...(cache ? { cache } : {}),
    ...(outbox ? { outbox } : {}),
    ...(traced ? { traces: { ...traced, spansAfterLoad: traced.spans - (spansAtLoadEnd ?? 0), payAnswers: load.byKind.pay?.count ?? 0, cutOff: load.cutOff } } : {}),
    ordersSeeded: seeded.orderIds.length,
    ...(options.scenario === 'flash-sale' ? { sold: invariants?.unitsSold.get(seeded.hotProductId) ?? 0 } : {}),
  };
}

const runs: SideRun[] = [];
try {
  for (const side of options.sides) {
    const run = await runSide(side);
    runs.push(run);
    console.log(`\n${sideTable(run, options)}`);
  }
} catch (error) {
  console.error(`\nbench failed: ${(error as Error).stack ?? String(error)}`);
  await cleanUp();
  process.exit(1);
}

const json = benchJson(runs, options);
const violated = runs.some((r) => r.invariants && !r.invariants.ok);
console.log(`\n${targetLabel(options)} · ${options.connections} connections · ${options.durationS} s\n`);
console.log(summaryTable(runs, options));
for (const [baseline, r] of Object.entries(json.ratios)) console.log(`engine ÷ ${baseline}: throughput ×${r.throughput}, p99 ×${r.p99}`);
console.log(`invariants: ${json.invariantsOk ? 'ok' : violated ? 'VIOLATED' : 'not checked'}`);

if (options.json) {
  mkdirSync(dirname(options.json), { recursive: true });
  writeFileSync(options.json, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`JSON: ${options.json}`);
}
mkdirSync(dirname(options.html), { recursive: true });
writeFileSync(options.html, htmlReport(runs, options));
console.log(`HTML: ${options.html}`);
// A violated invariant fails the run; an unchecked one (no database to read) does not.
process.exit(violated ? 1 : 0);
