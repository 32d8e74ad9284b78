// Operations: metrics pass promtool, readiness, admin off without a token, no secrets in logs.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/config.js';
import type { Engine } from '../../src/engine/engine.js';
import { startEngine } from '../../src/engine/start-engine.js';
import { buildApp } from '../../src/http/app.js';
import { Metrics } from '../../src/metrics.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { appOptions, call } from '../helpers/engine.js';

const it = suite<{ db: TestDatabase; engine: Engine; metrics: Metrics }>('operations');
const [pglite] = databaseKinds();

it.before(async (ctx) => {
  ctx.db = await pglite!.create();
  ctx.metrics = new Metrics();
  ctx.engine = await startEngine(loadConfig({ DATABASE_URL: ctx.db.url, LOG_LEVEL: 'silent' }), ctx.metrics);
});
it.after(async (ctx) => {
  await ctx.engine?.close();
  await ctx.db?.drop();
});

const hasPromtool = (() => {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

it('with no ADMIN_TOKEN the admin API is off and says so, with or without a token', async ({ engine }) => {
  const metrics = new Metrics();
  const app = await buildApp(appOptions(engine, metrics, { adminToken: undefined, logLevel: 'silent' }));
  for (const headers of [{}, { authorization: 'Bearer anything' }] as Array<Record<string, string>>) {
    const r = await call(app, 'GET', '/admin/actors', undefined, headers);
    assert.is(r.status, 403);
    assert.is(r.body.error, 'ADMIN_DISABLED');
    assert.not.ok('items' in r.body);
  }
  await app.close();
});

it('the metrics page passes promtool check metrics, after traffic', async ({ engine, metrics }) => {
  const app = await buildApp(appOptions(engine, metrics, { adminToken: 'x', logLevel: 'silent' }));
  const u = await call(app, 'POST', '/users', { name: 'm', points: 10 });
  const p = await call(app, 'POST', '/products', { name: 'm', price: 1, stock: 1 });
  const o = await call(app, 'POST', '/orders', { userId: u.body.id, items: [{ productId: p.body.id, quantity: 1 }] });
  await call(app, 'POST', `/orders/${o.body.id}/pay`);
  const page = await app.inject({ method: 'GET', url: '/metrics' });
  assert.is(page.statusCode, 200);
  assert.match(page.headers['content-type'] as string, /text\/plain/);
  assert.match(page.body, /orderengine_saga_duration_seconds_count\{saga="pay",outcome="ok"\} 1/);
  assert.not.match(page.body, new RegExp(u.body.id), 'no ids in labels');
  if (hasPromtool) {
    const file = join(mkdtempSync(join(tmpdir(), 'oe-metrics-')), 'metrics.txt');
    writeFileSync(file, page.body);
    // promtool reads the exposition from stdin and exits non-zero on a problem.
    execFileSync('sh', ['-c', `promtool check metrics < ${file}`], { stdio: 'pipe' });
  } else {
    console.log('  (promtool not installed: the exposition format check is skipped)');
  }
  await app.close();
});

it('logs carry request ids and never the bearer token or the idempotency key', async ({ engine }) => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const metrics = new Metrics();
  const app = await buildApp(appOptions(engine, metrics, { adminToken: 'secret-admin-token', logLevel: 'debug', logStream: stream }));
  await call(app, 'GET', '/admin/actors', undefined, { authorization: 'Bearer secret-admin-token', 'x-request-id': 'req-42' });
  await call(app, 'POST', '/users/nobody/points/charge', { amount: 1 }, { 'idempotency-key': 'secret-idem-key' });
  await app.close();
  const all = lines.join('');
  assert.ok(all.includes('req-42'), 'the request id is logged');
  assert.not.ok(all.includes('secret-admin-token'));
  assert.not.ok(all.includes('secret-idem-key'));
});

it('readiness is 503 once the database is gone', async () => {
  const engine = await startEngine(loadConfig({ DATABASE_URL: 'memory:', LOG_LEVEL: 'silent' }));
  const app = await buildApp(appOptions(engine, new Metrics(), { adminToken: undefined, logLevel: 'silent' }));
  assert.is((await call(app, 'GET', '/health/ready')).status, 200);
  await engine.close();
  const r = await call(app, 'GET', '/health/ready');
  assert.is(r.status, 503);
  assert.is(r.body.error, 'NOT_READY');
  assert.is((await call(app, 'GET', '/health/live')).status, 200);
  await app.close();
});

it.run();
