// The engine's own cost per payment, without HTTP or a load generator: pays one hot product
// through the facade with a fixed number in flight and prints pays/s, latency and CPU per pay.
//
//   npx tsx bench/engine-core.ts --db postgres://postgres@127.0.0.1:5432/test [--orders 60000] [--pays N] [--concurrency 256] [--writes none]
//
// `--writes none` keeps every batch out of the database (each commits a turn of the event loop
// later, with nothing written): what is left is the engine's own CPU, its actors and the journal's
// bookkeeping, without building or sending SQL.
//
// A fresh database is created on the server of --db (or a PGlite directory) and dropped after.
// ALLOCATIONS=file.heapprofile and CPU_PROFILE=file.cpuprofile record the pays alone;
// HEAP_SNAPSHOT_AFTER_MS=ms writes a heap snapshot that far into them.

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { build } from 'hdr-histogram-js';
import { loadConfig } from '../src/config.js';
import { startEngine } from '../src/engine/start-engine.js';
import type { JournalStore } from '../src/journal/journal-store.js';
import { SqlJournalStore } from '../src/journal/sql-journal-store.js';
import { Metrics } from '../src/metrics.js';
import { cpuSecondsOf, databaseProcesses } from './lib/cpu.js';
import { createSideDatabase } from './lib/database.js';
import { dbKindOf } from './lib/options.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'pglite' },
    orders: { type: 'string', default: '60000' },
    concurrency: { type: 'string', default: '256' },
    users: { type: 'string', default: '10000' },
    writes: { type: 'string', default: 'database' },
    pays: { type: 'string' },
  },
});
const orders = Number(values.orders);
// Fewer pays than orders: two runs that differ only in --pays differ only in the pays, whatever
// the setup cost (for instruction counts under valgrind, which cannot time the pays alone).
const pays = Math.min(orders, Number(values.pays ?? orders));
const concurrency = Number(values.concurrency);
const userCount = Number(values.users);

const database = await createSideDatabase(dbKindOf(values.db as string), values.db as string, 'engine');
const metrics = new Metrics();
const engine = await startEngine(
  loadConfig({ ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'silent' }),
  metrics,
  values.writes === 'none' ? { journalStore: (db) => withoutWrites(new SqlJournalStore(db)) } : {},
);
const batchStats = async () => {
  const [events, commit] = await Promise.all([metrics.batchEvents.get(), metrics.batchCommit.get()]);
  const pick = (m: typeof events, name: string) => m.values.find((v) => v.metricName?.endsWith(name))?.value ?? 0;
  return { batches: pick(events, '_count'), events: pick(events, '_sum'), commitSeconds: pick(commit, '_sum') };
};
try {
  const product = await engine.createProduct({ name: 'hot', price: 1, stock: orders * 2 });
  if (!product.ok) throw new Error(product.message);
  const users: string[] = [];
  for (let i = 0; i < userCount; i += 500) {
    const batch = await Promise.all(Array.from({ length: Math.min(500, userCount - i) }, (_, j) => engine.createUser({ name: `u${i + j}`, points: 1_000_000 })));
    for (const u of batch) if (u.ok) users.push(u.value.id);
  }
  const ids: string[] = [];
  for (let i = 0; i < orders; i += 1000) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(1000, orders - i) }, (_, j) =>
        engine.createOrder({ userId: users[(i + j) % users.length] as string, items: [{ productId: product.value.id, quantity: 1 }] }),
      ),
    );
    for (const o of batch) if (o.ok) ids.push(o.value.id);
  }

  const latency = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const lag = monitorEventLoopDelay({ resolution: 10 });
  let next = 0;
  let paid = 0;
  let failed = 0;
  const worker = async () => {
    while (next < Math.min(ids.length, pays)) {
      const id = ids[next++] as string;
      const started = performance.now();
      const result = await engine.payOrder(id);
      latency.recordValue(Math.round((performance.now() - started) * 1000));
      if (result.ok) paid++;
      else failed++;
    }
  };
  // ALLOCATIONS=file.heapprofile samples every allocation site during the pays, garbage included.
  const sampling = process.env.ALLOCATIONS ? await startAllocationSampling() : undefined;
  // CPU_PROFILE=file.cpuprofile profiles the pays alone (not the seeding), for Chrome DevTools or speedscope.
  const profiling = process.env.CPU_PROFILE ? await startCpuProfile() : undefined;
  // HEAP_SNAPSHOT_AFTER_MS=ms writes a heap snapshot that long into the pays: what is alive mid-load.
  const snapshotTimer = process.env.HEAP_SNAPSHOT_AFTER_MS ? setTimeout(() => console.log(`heap snapshot: ${writeHeapSnapshot()}`), Number(process.env.HEAP_SNAPSHOT_AFTER_MS)) : undefined;
  const before = await batchStats();
  const dbKind = dbKindOf(values.db as string);
  const dbPids = dbKind === 'pglite' ? [] : databaseProcesses(dbKind, new URL(database.url).pathname.slice(1));
  const dbCpu = cpuSecondsOf(dbPids);
  const cpu = process.cpuUsage();
  const started = performance.now();
  lag.enable();
  await Promise.all(Array.from({ length: concurrency }, worker));
  lag.disable();
  clearTimeout(snapshotTimer);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const dbUsed = cpuSecondsOf(dbPids) - dbCpu;
  const after = await batchStats();
  if (sampling) await sampling.stop(process.env.ALLOCATIONS as string);
  if (profiling) await profiling.stop(process.env.CPU_PROFILE as string);
  const batches = after.batches - before.batches;
  const ms = (us: number) => (us / 1000).toFixed(2);
  console.log(
    `pays ${paid} (failed ${failed}) in ${seconds.toFixed(2)} s: ${Math.round(paid / seconds)} paid/s at ${concurrency} in flight; ` +
      `latency p50 ${ms(latency.getValueAtPercentile(50))} ms p99 ${ms(latency.getValueAtPercentile(99))} ms; ` +
      `CPU ${Math.round((used.user + used.system) / paid)} µs per pay (user ${Math.round(used.user / paid)}), database ${dbPids.length > 0 ? Math.round((dbUsed * 1e6) / paid) : '-'} µs; ` +
      `event-loop lag p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms; ` +
      `${batches} batches, ${((after.events - before.events) / batches).toFixed(0)} events each, commit ${((1000 * (after.commitSeconds - before.commitSeconds)) / batches).toFixed(1)} ms mean, ` +
      `${((after.commitSeconds - before.commitSeconds) / seconds * 100).toFixed(0)}% of the time`,
  );
} finally {
  await engine.close();
  await database.drop();
}

async function startAllocationSampling(): Promise<{ stop(file: string): Promise<void> }> {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return {
    async stop(file) {
      const { profile } = await session.post('HeapProfiler.stopSampling');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

async function startCpuProfile(): Promise<{ stop(file: string): Promise<void> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

/** A store whose batches commit a turn of the event loop later without reaching the database; reads still do. */
function withoutWrites(store: JournalStore): JournalStore {
  return {
    commitsInOrder: false,
    writeBatch: () => new Promise((resolve) => setImmediate(resolve)),
    loadLatest: (key, limit) => store.loadLatest(key, limit),
    readEvents: (key, after, limit) => store.readEvents(key, after, limit),
    refTypes: (key, ref) => store.refTypes(key, ref),
  };
}
