// The benchmark harness end to end in a tiny configuration: it runs, checks the invariants, and writes JSON of the documented shape.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { messagesDuring, unsettled, type ClusterStatus } from '../../bench/lib/cluster.js';
import { parseOptions, USAGE } from '../../bench/lib/options.js';

const root = resolve(import.meta.dirname, '../..');
const postgresUrl = process.env.TEST_POSTGRES_URL;

interface Bench {
  code: number | null;
  output: string;
  json: any;
}

/** Runs `npm run bench`'s entry point as a child process and reads the JSON it wrote. */
async function bench(args: string[], env: Record<string, string> = {}): Promise<Bench> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-test-'));
  const jsonFile = join(dir, 'out.json');
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args, '--json', jsonFile, '--html', join(dir, 'out.html')], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += String(d)));
    child.stderr.on('data', (d) => (output += String(d)));
    const timer = setTimeout(() => child.kill('SIGINT'), 90_000);
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    clearTimeout(timer);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(jsonFile, 'utf8'));
    } catch {
      json = undefined;
    }
    assert.ok(readFileSync(join(dir, 'out.html'), 'utf8').includes('<svg'), 'the HTML report has inline SVG charts');
    return { code, output, json };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertSide(side: any, name: string): void {
  for (const field of ['requestsPerSec', 'paidPerSec', 'p50Ms', 'p95Ms', 'p99Ms']) {
    assert.type(side?.[field], 'number', `${name}.${field}`);
  }
  assert.type(side.errors, 'object', `${name}.errors`);
  assert.is(side.oversold, 0, `${name}.oversold`);
  assert.ok(side.requestsPerSec > 0, `${name} answered requests`);
}

const db = postgresUrl ? ['--db', postgresUrl, '--sides', 'engine,sql'] : ['--db', 'pglite', '--sides', 'engine'];
const small = ['--connections', '8', '--users', '50', '--products', '5', '--read-orders', '40'];
const READ_KINDS = ['user', 'product', 'order', 'user-orders', 'paid-orders', 'orders-by-ids', 'user-by-name', 'product-by-name', 'popular', 'user-coupons'];

const test = suite('bench harness');

test(`flash-sale on ${postgresUrl ? 'PostgreSQL (engine and sql)' : 'PGlite (engine)'}: exactly the stock sold, the rest 409, invariants hold`, async () => {
  const run = await bench(['--scenario', 'flash-sale', ...db, ...small, '--duration', '20', '--stock', '60', '--orders', '150']);
  assert.is(run.code, 0, run.output);
  const { json } = run;
  assert.is(json.scenario, 'flash-sale');
  assert.is(json.connections, 8);
  assert.is(json.invariantsOk, true, run.output);
  for (const name of postgresUrl ? ['engine', 'sql'] : ['engine']) {
    const side = json.sides[name];
    assertSide(side, name);
    assert.is(side.sold, 60, `${name} sold exactly the stock`);
    assert.type(side.soldOutMs, 'number', `${name}.soldOutMs`);
    assert.is(side.errors['409 INSUFFICIENT_STOCK'], 90, `${name}: the other 90 orders were refused for stock`);
  }
  if (postgresUrl) {
    assert.type(json.ratios.sql.throughput, 'number');
    assert.type(json.ratios.sql.p99, 'number');
  }
});

test('mix on PGlite: create → pay → read → a read query chains, all paid, invariants hold', async () => {
  const run = await bench(['--scenario', 'mix', '--db', 'pglite', '--sides', 'engine', ...small, '--duration', '2']);
  assert.is(run.code, 0, run.output);
  const engine = run.json.sides.engine;
  assertSide(engine, 'engine');
  assert.ok(engine.paidPerSec > 0, 'orders were paid');
  assert.equal(engine.errors, {}, 'no errors');
  for (const kind of ['create', 'pay', 'read', ...READ_KINDS.filter((k) => k !== 'order')]) {
    assert.ok(engine.byKind[kind]?.count > 0, `mix sent ${kind}`);
  }
  assert.type(engine.cacheHitRate?.overall, 'number', 'the cache hit rate is reported');
  assert.is(run.json.invariantsOk, true, run.output);
  assert.equal(Object.keys(run.json.sides), ['engine']);
});

test(`read-heavy on ${postgresUrl ? 'PostgreSQL (engine and sql)' : 'PGlite (engine)'}: every read query answers, pays go through, the cache hit rate is reported`, async () => {
  const run = await bench(['--scenario', 'read-heavy', ...db, ...small, '--duration', '2', '--orders', '400']);
  assert.is(run.code, 0, run.output);
  assert.is(run.json.scenario, 'read-heavy');
  assert.is(run.json.invariantsOk, true, run.output);
  for (const name of postgresUrl ? ['engine', 'sql'] : ['engine']) {
    const side = run.json.sides[name];
    assertSide(side, name);
    assert.equal(side.errors, {}, `${name}: no errors`);
    assert.ok(side.paidPerSec > 0, `${name}: orders were paid`);
    for (const kind of ['pay', ...READ_KINDS]) assert.ok(side.byKind[kind]?.count > 0, `${name} answered ${kind}`);
  }
  const cache = run.json.sides.engine.cacheHitRate;
  assert.type(cache?.overall, 'number', 'overall cache hit rate');
  assert.ok(cache.overall >= 0 && cache.overall <= 1, 'a hit rate is a fraction');
  for (const name of ['user', 'product', 'order', 'popular']) assert.type(cache.byCache[name]?.hitRate, 'number', `${name} cache hit rate`);
  assert.match(run.output, /cache hit rate/);
  if (postgresUrl) assert.is(run.json.sides.sql.cacheHitRate, undefined, 'the baselines have no cache');
});

test('--processes: 1 by default, 2 or more only with a database server, not with --url or --nats; in --help', () => {
  const pg = ['--db', 'postgres://postgres@127.0.0.1:5432/test'];
  assert.is(parseOptions([]).processes, 1);
  assert.is(parseOptions([...pg, '--processes', '3']).processes, 3);
  assert.is(parseOptions(['--processes', '1']).processes, 1, 'one process on PGlite is the engine alone');
  for (const bad of ['0', '2.5', 'two', '17']) assert.throws(() => parseOptions([...pg, '--processes', bad]), /--processes must be/, bad);
  assert.throws(() => parseOptions(['--processes', '2']), /PGlite/);
  assert.throws(() => parseOptions(['--url', 'http://127.0.0.1:3000', '--processes', '2']), /--url/);
  assert.throws(() => parseOptions([...pg, '--nats', 'nats://127.0.0.1:4222', '--processes', '2']), /outbox/);
  assert.match(USAGE, /--processes N/);
});

test('--tracing: off by default, one engine process the harness starts; in --help', () => {
  const pg = ['--db', 'postgres://postgres@127.0.0.1:5432/test'];
  assert.is(parseOptions([]).tracing, false);
  assert.is(parseOptions([...pg, '--tracing']).tracing, true);
  assert.throws(() => parseOptions([...pg, '--tracing', '--processes', '2']), /--tracing/);
  assert.throws(() => parseOptions(['--url', 'http://127.0.0.1:3000', '--tracing']), /--url/);
  assert.match(USAGE, /--tracing/);
});

const status = (node: string, served: number[], owners: number, members = 2): ClusterStatus => ({
  node,
  shards: 4,
  members: Array.from({ length: members }, (_, i) => ({ node: `n${i + 1}`, shardsOwned: 2 })),
  owners: Object.fromEntries(Array.from({ length: owners }, (_, i) => [String(i), i < 2 ? 'n1' : 'n2'])),
  served,
});

test('the cluster is settled once every process sees every member and owner, and the shards served are all, each once, none above its share', () => {
  assert.is(unsettled([status('n1', [0, 1], 4), status('n2', [2, 3], 4)]), undefined);
  assert.match(unsettled([status('n1', [0, 1], 4, 1), status('n2', [2, 3], 4)]) ?? '', /sees 1 of 2 members/);
  assert.match(unsettled([status('n1', [0, 1], 3), status('n2', [2, 3], 4)]) ?? '', /owner for 3 of 4/);
  assert.match(unsettled([status('n1', [0, 1, 2], 4), status('n2', [3], 4)]) ?? '', /more than its share/);
  assert.match(unsettled([status('n1', [0, 1], 4), status('n2', [1, 2], 4)]) ?? '', /shard 1 served by both/);
  assert.match(unsettled([status('n1', [0, 1], 4), status('n2', [2], 4)]) ?? '', /3 of 4 shards served/);
  assert.match(unsettled([status('n1', [0, 1], 4), 'http://x/admin/cluster answered 404']) ?? '', /404/);
});

test('the share of messages that crossed processes: summed over the processes from their counters, absent without them', () => {
  const scrape = (local: number, remote: number, prefix = 'orderengine') =>
    new Map([
      [`${prefix}_cluster_messages_total`, local + remote],
      [`${prefix}_cluster_messages_total{route="local"}`, local],
      [`${prefix}_cluster_messages_total{route="remote"}`, remote],
    ]);
  assert.equal(messagesDuring([scrape(10, 0), undefined], [scrape(40, 10), scrape(5, 15)]), { local: 35, remote: 25 });
  assert.is(messagesDuring([new Map()], [new Map([['orderengine_journal_batch_events_count', 3]])]), undefined, 'n/a without the counter');
});

test.run();

const cluster = suite('bench harness, --processes 2', { needs: ['postgres', 'nats-server'] });

cluster('uniform-pay on two cluster members: the load spread over both, CPU per payment summed, invariants hold', async () => {
  const run = await bench(
    ['--scenario', 'uniform-pay', '--db', postgresUrl as string, '--sides', 'engine', '--processes', '2', ...small, '--duration', '2', '--orders', '300'],
    // A small cluster that settles fast.
    { CLUSTER_SHARDS: '16', CLUSTER_LEASE_MS: '2000' },
  );
  assert.is(run.code, 0, run.output);
  const { json } = run;
  assert.is(json.processes, 2);
  assert.is(json.invariantsOk, true, run.output);
  const engine = json.sides.engine;
  assertSide(engine, 'engine');
  assert.is(engine.processes, 2);
  assert.type(engine.cpuMsPerPaid.server, 'number', 'CPU per payment over both processes');
  assert.ok(engine.crossedShare === null || (engine.crossedShare >= 0 && engine.crossedShare <= 1), 'a share, or null without the counter');
  assert.is(engine.byProcess.length, 2);
  const shards = engine.byProcess.reduce((n: number, p: any) => n + p.shards, 0);
  assert.is(shards, 16, 'every shard served by one of them');
  for (const p of engine.byProcess) assert.ok(p.answers > 0, `${p.node} answered part of the load`);
  assert.match(run.output, /crossed processes/);
});

cluster.run();
