// The benchmark harness end to end in a tiny configuration: it runs, checks the invariants, and writes JSON of the documented shape.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';

const root = resolve(import.meta.dirname, '../..');
const postgresUrl = process.env.TEST_POSTGRES_URL;

interface Bench {
  code: number | null;
  output: string;
  json: any;
}

/** Runs `npm run bench`'s entry point as a child process and reads the JSON it wrote. */
async function bench(args: string[]): Promise<Bench> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-test-'));
  const jsonFile = join(dir, 'out.json');
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args, '--json', jsonFile, '--html', join(dir, 'out.html')], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += String(d)));
    child.stderr.on('data', (d) => (output += String(d)));
    const timer = setTimeout(() => child.kill('SIGINT'), 60_000);
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

test.run();
