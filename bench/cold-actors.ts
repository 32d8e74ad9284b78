// `npm run bench -- --scenario cold-actors`: a million users and a hundred thousand products behind a live-actor cap, read and charged at random, so most requests activate an actor from its snapshot.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { loadConfig } from '../src/config.js';
import { startEngine } from '../src/engine/start-engine.js';
import { createSideDatabase } from './lib/database.js';
import { scrape, type Scrape } from './lib/engine-metrics.js';
import { JsonClient } from './lib/http.js';
import { dbKindOf } from './lib/options.js';
import { ROOT, startServer } from './lib/server.js';

export const COLD_USAGE = `usage: npm run bench -- --scenario cold-actors [options]
  --db pglite|postgres://…|mysql://…   server to create the bench database on (PostgreSQL recommended)
  --users N          users to create (default 1000000)
  --products N       products to create (default 100000)
  --cap N            ACTORS_MAX_LIVE of the engine under load (default 50000)
  --duration S       seconds of load (default 60: long enough to fill the cap and then
                     passivate as fast as it activates)
  --connections N    concurrent connections (default 64)
  --heap MiB         the server's V8 old-space limit, --max-old-space-size (default 512; 0: V8's own)
  --json FILE        write the results as JSON`;

const POINTS = 1000;
const SEED_IN_FLIGHT = 2000;
/** The request mix: reads of users and products, and charges that append to a user's journal. */
const MIX = [
  { kind: 'read user', weight: 0.5 },
  { kind: 'read product', weight: 0.25 },
  { kind: 'charge user', weight: 0.25 },
] as const;

const say = (line: string) => console.log(`  · ${line}`);
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

/** Nanoseconds the process's main thread has run on a CPU, and waited runnable for one (/proc/PID/task/PID/schedstat). */
function mainThreadOf(pid: number): { running: number; waiting: number } | undefined {
  try {
    const [running, waiting] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ').map(Number);
    return running === undefined || waiting === undefined ? undefined : { running, waiting };
  } catch {
    return undefined;
  }
}

function rssOf(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** Creates the actors through the engine's own facade, in this process: real events, snapshots and read-model rows. */
async function seed(url: string, users: number, products: number, cap: number): Promise<{ userIds: string[]; productIds: string[]; seconds: number }> {
  // A snapshot with every event: each actor then comes back from its snapshot under load.
  const engine = await startEngine(loadConfig({ DATABASE_URL: url, SNAPSHOT_EVERY: '1', ACTORS_MAX_LIVE: String(cap), LOG_LEVEL: 'silent' }));
  const started = performance.now();
  const create = async (count: number, make: (i: number) => Promise<{ ok: true; value: { id: string } } | { ok: false }>): Promise<string[]> => {
    const ids = new Array<string>(count);
    let next = 0;
    let reported = 0;
    const worker = async () => {
      for (let i = next++; i < count; i = next++) {
        for (;;) {
          const result = await make(i);
          if (result.ok) {
            ids[i] = result.value.id;
            break;
          }
          // OVERLOADED (the journal is full): the seeding outruns the commits; wait a moment.
          await new Promise((r) => setTimeout(r, 10));
        }
        if (i - reported >= 100_000) {
          reported = i;
          say(`  ${i} of ${count} (${Math.round(i / ((performance.now() - started) / 1000))}/s)`);
        }
      }
    };
    await Promise.all(Array.from({ length: SEED_IN_FLIGHT }, worker));
    return ids;
  };
  const productIds = await create(products, (i) => engine.createProduct({ name: `cold-product-${i}`, price: 1 + (i % 500), stock: 1_000_000 }));
  const userIds = await create(users, (i) => engine.createUser({ name: `cold-user-${i}`, points: POINTS }));
  await engine.close();
  return { userIds, productIds, seconds: (performance.now() - started) / 1000 };
}

const sum = (s: Scrape | undefined, name: string) => s?.get(name) ?? 0;

export async function runColdActors(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      scenario: { type: 'string' },
      db: { type: 'string', default: 'pglite' },
      users: { type: 'string', default: '1000000' },
      products: { type: 'string', default: '100000' },
      cap: { type: 'string', default: '50000' },
      duration: { type: 'string', default: '60' },
      connections: { type: 'string', default: '64' },
      heap: { type: 'string', default: '512' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(COLD_USAGE);
    return 0;
  }
  const users = Number(values.users);
  const products = Number(values.products);
  const cap = Number(values.cap);
  const durationS = Number(values.duration);
  const connections = Number(values.connections);
  const database = await createSideDatabase(dbKindOf(values.db), values.db, 'engine');
  const cleanups: Array<() => Promise<void>> = [() => database.drop()];
  try {
    console.log(`\n▶ cold-actors: ${users} users, ${products} products, live-actor cap ${cap}, ${connections} connections, ${durationS} s`);
    const seeded = await seed(database.url, users, products, cap);
    say(`seeded ${users + products} actors in ${seeded.seconds.toFixed(0)} s (${Math.round((users + products) / seeded.seconds)}/s), each with a snapshot`);

    process.env.ACTORS_MAX_LIVE = String(cap);
    // Without a limit V8 grows its heap under allocation pressure long before it must collect
    // (seen: RSS 433 → 786 MiB with the cap full, while the heap in use after each collection
    // stayed level); with one, RSS stays within it, as it should in production.
    if (Number(values.heap) > 0) process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${Number(values.heap)}`.trim();
    const server = await startServer('engine', database.url, join(ROOT, 'bench/out/cold-actors-engine.log'));
    cleanups.push(() => server.stop());
    const client = new JsonClient(server.url);
    const rssIdle = rssOf(server.pid) ?? 0;
    const before = await scrape(client);
    const threadBefore = mainThreadOf(server.pid);
    const loadStarted = process.hrtime.bigint();

    // Charges answered 200, and charges sent: autocannon cuts off the requests in flight when the
    // time is up, and the server may well have done those.
    const charged = new Map<string, number>();
    const sent = new Map<string, number>();
    const statuses: Record<string, number> = {};
    let rssPeak = rssIdle;
    let livePeak = 0;
    /** RSS once the cap is full: from then on activations passivate as many, so it should stay level. */
    const rssAtCap: number[] = [];
    const rssTimer = setInterval(() => {
      const rss = rssOf(server.pid) ?? 0;
      rssPeak = Math.max(rssPeak, rss);
      if (livePeak >= cap) rssAtCap.push(rss);
    }, 250);
    /** Heap in use, sampled with the cap full: its low points are what survives a collection. */
    const heapAtCap: number[] = [];
    const liveTimer = setInterval(() => {
      void scrape(client).then((s) => {
        livePeak = Math.max(livePeak, sum(s, 'orderengine_live_actors'));
        if (livePeak >= cap) heapAtCap.push(sum(s, 'nodejs_heap_size_used_bytes'));
      });
    }, 1000);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
    const kindOf = () => {
      let r = Math.random();
      for (const m of MIX) if ((r -= m.weight) < 0) return m.kind;
      return MIX[0].kind;
    };
    const result = await autocannon({
      url: server.url,
      connections,
      duration: durationS,
      timeout: 30,
      requests: [
        {
          setupRequest: (req, context) => {
            const kind = kindOf();
            const ctx = context as { charge?: string };
            ctx.charge = undefined;
            if (kind === 'read user') return { ...req, method: 'GET', path: `/users/${pick(seeded.userIds)}` };
            if (kind === 'read product') return { ...req, method: 'GET', path: `/products/${pick(seeded.productIds)}` };
            ctx.charge = pick(seeded.userIds);
            sent.set(ctx.charge, (sent.get(ctx.charge) ?? 0) + 1);
            return { ...req, method: 'POST', path: `/users/${ctx.charge}/points/charge`, headers: { 'content-type': 'application/json' }, body: '{"amount":1}' };
          },
          onResponse: (status, _body, context) => {
            statuses[status] = (statuses[status] ?? 0) + 1;
            const id = (context as { charge?: string }).charge;
            if (id && status === 200) charged.set(id, (charged.get(id) ?? 0) + 1);
          },
        },
      ],
    });
    const loadNs = Number(process.hrtime.bigint() - loadStarted);
    const threadAfter = mainThreadOf(server.pid);
    clearInterval(rssTimer);
    clearInterval(liveTimer);
    const after = await scrape(client);
    const rssEnd = rssOf(server.pid) ?? 0;
    const activations = sum(after, 'orderengine_actor_activations_total') - sum(before, 'orderengine_actor_activations_total');
    const passivations = sum(after, 'orderengine_actor_passivations_total') - sum(before, 'orderengine_actor_passivations_total');
    const liveEnd = sum(after, 'orderengine_live_actors');
    livePeak = Math.max(livePeak, liveEnd);
    const seconds = durationS;
    // The engine's main thread over the load: on a CPU, runnable but waiting for one (a busy
    // machine), or idle (the event loop waiting on the database or on requests).
    const share = (ns: number) => Math.round((1000 * ns) / loadNs) / 10;
    const mainThread =
      threadBefore && threadAfter
        ? {
            runningPercent: share(threadAfter.running - threadBefore.running),
            waitingPercent: share(threadAfter.waiting - threadBefore.waiting),
            idlePercent: share(loadNs - (threadAfter.running - threadBefore.running) - (threadAfter.waiting - threadBefore.waiting)),
          }
        : null;

    // Passivated actors come back as they were: a sample of charged users and of random ones.
    const sample = [...[...sent.keys()].slice(0, 500), ...Array.from({ length: 500 }, () => pick(seeded.userIds))];
    let wrong = 0;
    for (const id of sample) {
      const points = (await client.send<{ points: number }>('GET', `/users/${id}`)).body.points;
      if (points < POINTS + (charged.get(id) ?? 0) || points > POINTS + (sent.get(id) ?? 0)) {
        wrong++;
        say(`user ${id}: ${points} points, expected ${POINTS} + ${charged.get(id) ?? 0} answered (${sent.get(id) ?? 0} sent)`);
      }
    }
    client.close();

    const summary = {
      scenario: 'cold-actors',
      db: values.db.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@'),
      users,
      products,
      cap,
      connections,
      durationS,
      seedSeconds: Math.round(seeded.seconds),
      requestsPerSec: Math.round(result.requests.average),
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      maxMs: result.latency.max,
      statuses,
      activationsPerSec: Math.round(activations / seconds),
      passivationsPerSec: Math.round(passivations / seconds),
      liveActorsPeak: livePeak,
      liveActorsEnd: liveEnd,
      rssIdleMiB: mib(rssIdle),
      rssPeakMiB: mib(rssPeak),
      rssEndMiB: mib(rssEnd),
      /** RSS over the part of the load with the cap full: first and last sample. */
      rssAtCapMiB: rssAtCap.length > 0 ? [mib(rssAtCap[0] as number), mib(rssAtCap[rssAtCap.length - 1] as number)] : null,
      /** Heap in use with the cap full: lowest and highest sample. */
      heapAtCapMiB: heapAtCap.length > 0 ? [mib(Math.min(...heapAtCap)), mib(Math.max(...heapAtCap))] : null,
      heapLimitMiB: Number(values.heap) > 0 ? Number(values.heap) : null,
      mainThread,
      stateChecked: sample.length,
      stateWrong: wrong,
    };
    console.log(`
| req/s | p50 ms | p99 ms | max ms | activations/s | passivations/s | live actors (peak / cap) | RSS idle → peak MiB | RSS with the cap full MiB | heap in use with the cap full MiB | non-2xx |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| ${summary.requestsPerSec} | ${summary.p50Ms} | ${summary.p99Ms} | ${summary.maxMs} | ${summary.activationsPerSec} | ${summary.passivationsPerSec} | ${summary.liveActorsPeak} / ${cap} | ${summary.rssIdleMiB} → ${summary.rssPeakMiB} | ${summary.rssAtCapMiB ? summary.rssAtCapMiB.join(' → ') : '-'} | ${summary.heapAtCapMiB ? summary.heapAtCapMiB.join('–') : '-'} | ${Object.entries(statuses)
      .filter(([s]) => !s.startsWith('2'))
      .reduce((n, [, c]) => n + c, 0)} |
`);
    if (mainThread) say(`main thread over the load: ${mainThread.runningPercent}% on a CPU, ${mainThread.waitingPercent}% waiting for one, ${mainThread.idlePercent}% idle`);
    say(`${summary.stateChecked} users read back after the load: ${wrong === 0 ? 'all as expected' : `${wrong} WRONG`}`);
    if (values.json) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(values.json, `${JSON.stringify(summary, null, 2)}\n`);
      say(`JSON: ${values.json}`);
    }
    return wrong === 0 && livePeak <= cap ? 0 : 1;
  } finally {
    while (cleanups.length > 0) await (cleanups.pop() as () => Promise<void>)().catch((e: Error) => console.error(`cleanup: ${e.message}`));
  }
}
