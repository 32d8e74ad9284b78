// Hardening: no stack traces in answers, database errors are 503, body size limit, NUL refused, and SQL only through Kysely bindings.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join, relative, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { accept } from '../../actors/shared/result.js';
import type { Engine } from '../../src/engine/engine.js';
import { readFailure } from '../../src/engine/read-failure.js';
import { startEngine } from '../../src/engine/start-engine.js';
import { buildApp } from '../../src/http/app.js';
import { Metrics } from '../../src/metrics.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { appOptions, call, testConfig } from '../helpers/engine.js';

const ROOT = resolve(import.meta.dirname, '../..');

interface Ctx {
  db: TestDatabase;
  engine: Engine;
  app: FastifyInstance;
  logs: string[];
}

const it = suite<Ctx>('hardening');
it.before(async (ctx) => {
  ctx.db = await databaseKinds()[0]!.create();
  const metrics = new Metrics();
  ctx.engine = await startEngine(testConfig(ctx.db.url), metrics);
  const stream = new PassThrough();
  ctx.logs = [];
  stream.on('data', (line) => ctx.logs.push(String(line)));
  ctx.app = await buildApp(appOptions(ctx.engine, metrics, { adminToken: undefined, logLevel: 'info', logStream: stream }));
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
});
it.after(async (ctx) => {
  await ctx.app?.close();
  await ctx.engine?.close();
  await ctx.db?.drop();
});

it('a bug in a handler answers 500 {error: INTERNAL, message} without its message or stack; the log has both', async ({ engine, app, logs }) => {
  const original = engine.listProducts;
  engine.listProducts = () => {
    throw new TypeError('secret detail at /srv/app/src/read/queries.ts:42');
  };
  try {
    const answer = await call(app, 'GET', '/products');
    assert.is(answer.status, 500);
    assert.equal(answer.body, {
      type: 'urn:order-engine:problem:internal',
      title: 'Internal',
      status: 500,
      detail: 'internal error',
      instance: '/products',
      error: 'INTERNAL',
      message: 'internal error',
    });
    assert.not.match(answer.text, /secret|queries\.ts|\n\s+at /);
    assert.ok(
      logs.some((l) => l.includes('secret detail') && l.includes('"stack"')),
      'the error and its stack are logged',
    );
  } finally {
    engine.listProducts = original;
  }
});

it('a database that cannot be reached answers 503 DATABASE_UNAVAILABLE with Retry-After, not 500', async ({ engine, app }) => {
  const original = engine.listUsers;
  // What the engine's read path answers when its query fails as a lost connection does.
  engine.listUsers = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })).then(accept, readFailure);
  try {
    const answer = await app.inject({ method: 'GET', url: '/users' });
    assert.is(answer.statusCode, 503);
    assert.is(answer.json().error, 'DATABASE_UNAVAILABLE');
    assert.not.match(answer.body, /5432|ECONNREFUSED/);
    assert.is(answer.headers['retry-after'], '1');
  } finally {
    engine.listUsers = original;
  }
});

it('bodies over 64 KiB answer 413 {error, message}, also chunked without a length, and change nothing', async ({ app }) => {
  const address = app.server.address();
  if (typeof address !== 'object' || !address) throw new Error('not listening');
  const answer = await new Promise<{ status: number; body: string }>((resolveAnswer, reject) => {
    const req = request({ host: '127.0.0.1', port: address.port, method: 'POST', path: '/users', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += String(d)));
      res.on('end', () => resolveAnswer({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.write('{"name":"');
    for (let i = 0; i < 80; i++) req.write('x'.repeat(1024));
    req.end('"}');
  });
  assert.is(answer.status, 413);
  const problem = JSON.parse(answer.body);
  assert.equal([problem.status, problem.error, problem.message, problem.detail], [413, 'PAYLOAD_TOO_LARGE', 'the body is larger than 64 KiB', 'the body is larger than 64 KiB']);
  assert.is((await call(app, 'GET', '/users?limit=100')).body.items.length, 0);
});

it('a NUL in a name is refused (400) and does not fail the commands committed beside it', async ({ app }) => {
  const answers = await Promise.all([
    call(app, 'POST', '/users', { name: 'a\u0000b' }),
    call(app, 'POST', '/products', { name: '\u0000', price: 1, stock: 1 }),
    ...Array.from({ length: 5 }, (_, i) => call(app, 'POST', '/users', { name: `beside-${i}`, points: 1 })),
  ]);
  assert.equal(
    answers.map((a) => a.status),
    [400, 400, 201, 201, 201, 201, 201],
  );
  assert.is((await call(app, 'GET', '/users?name=%00')).status, 400);
  assert.is((await call(app, 'GET', `/users?cursor=${Buffer.from(JSON.stringify('\u0000')).toString('base64url')}`)).status, 400);
});

/**
 * Every query goes through Kysely with bound parameters. The only text that reaches a database
 * unbound is listed here with why it is safe; a new occurrence fails this test until it is
 * reviewed and added (or rewritten with bindings).
 */
const REVIEWED: Record<string, string> = {
  // A column type from DialectTraits ('text' | 'mediumtext'), decided by the dialect, never input.
  'migrations/0001_journal.ts: sql.raw(traits.documentType)': 'column type',
  'migrations/0003_idempotency_keys.ts: sql.raw(traits.documentType)': 'column type',
  'migrations/0006_outbox.ts: sql.raw(traits.documentType)': 'column type',
  'migrations/0011_idempotency_requests.ts: sql.raw(traits.documentType)': 'column type',
  // The PostgreSQL pipeline: constant transaction statements, and Kysely's compiled queries,
  // whose text has placeholders only and whose values travel as bound parameters.
  "src/db/postgres/postgres-pipeline.ts: .unsafe('begin')": 'constant',
  'src/db/postgres/postgres-pipeline.ts: .unsafe(COMMIT)': 'constant',
  "src/db/postgres/postgres-pipeline.ts: .unsafe('rollback')": 'constant',
  'src/db/postgres/postgres-pipeline.ts: .unsafe(q.sql)': 'compiled Kysely query with bound parameters',
  // Batches committed in order: constant text, the marks travel as bound parameters.
  // The read dialect: Kysely's compiled read queries, values bound the same way.
  'src/db/postgres/pipelined-read-driver.ts: .unsafe(query.sql)': 'compiled Kysely query with bound parameters',
  // MariaDB's session variable: constant text, the seconds travel as a bound parameter.
  "src/db/mysql/idle-transaction-timeout.ts: CompiledQuery.raw('set session idle_transaction_timeout = ?')": 'constant with bound parameter',
  // Multi-row updates as CASE expressions (PGlite, MySQL): numbers from actor state, typed
  // `number`, inlined as numeric literals because bound CASE branches come out as text on
  // PostgreSQL. sql.lit quotes strings, but only numbers reach it.
  'src/journal/row-statements.ts: sql.lit(r.points)': 'number',
  'src/journal/row-statements.ts: sql.lit(r.stock)': 'number',
  'src/journal/row-statements.ts: sql.lit(r.issued)': 'number',
  'src/journal/row-statements.ts: sql.lit(r.updated_at)': 'number',
};
/** A call that puts text into SQL unbound, with its first argument. */
const UNBOUND = /(sql\.(?:raw|lit|ref|id|table)|\.unsafe|CompiledQuery\.raw)\(([^,)]*)/g;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

it('SQL: only the reviewed unbound fragments exist in src/ and migrations/', () => {
  const found = new Set<string>();
  for (const file of [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'migrations'))]) {
    for (const [, call, argument] of readFileSync(file, 'utf8').matchAll(UNBOUND)) found.add(`${relative(ROOT, file)}: ${call}(${argument})`);
  }
  const unreviewed = [...found].filter((f) => !(f in REVIEWED));
  assert.equal(unreviewed, [], 'unbound SQL that nobody reviewed');
  const gone = Object.keys(REVIEWED).filter((f) => !found.has(f));
  assert.equal(gone, [], 'reviewed entries that no longer exist (remove them)');
});

it.run();
