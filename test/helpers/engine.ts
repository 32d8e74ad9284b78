// Builds an engine and its HTTP app in memory on one test database; no port.

import type { FastifyInstance } from 'fastify';
import { suite, type Suite } from './suite.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Engine } from '../../src/engine/engine.js';
import { startEngine, type EngineOptions } from '../../src/engine/start-engine.js';
import { buildApp, type AppOptions } from '../../src/http/app.js';
import { SqlIdempotencyStore } from '../../src/idempotency/sql-idempotency-store.js';
import { Metrics } from '../../src/metrics.js';
import type { DatabaseKind, TestDatabase } from './databases.js';

export interface TestApp {
  readonly engine: Engine;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

export function testConfig(url: string, env: Record<string, string> = {}): Config {
  return loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'silent', ADMIN_TOKEN: 'test-token', ...env });
}

export function startApp(url: string, env: Record<string, string> = {}): Promise<TestApp> {
  return startAppWith(url, env);
}

/** buildApp's options for `engine` as main.ts passes them from the engine's config, with `options` over them. */
export function appOptions(engine: Engine, metrics: Metrics, options: Partial<AppOptions> = {}): AppOptions {
  const { config } = engine;
  return {
    engine,
    metrics,
    maxInFlight: config.http.maxInFlight,
    adminToken: config.adminToken,
    logLevel: 'silent',
    idempotencyStore: new SqlIdempotencyStore(engine.database.db, { retentionMs: config.idempotencyRetentionMs, claimMs: 3 * config.requestTimeoutMs }),
    ...options,
  };
}

/** Like startApp, with the journal's store replaced (to hold or fail commits). */
export async function startAppWith(url: string, env: Record<string, string>, journalStore?: EngineOptions['journalStore']): Promise<TestApp> {
  const config = testConfig(url, env);
  const metrics = new Metrics();
  const engine = await startEngine(config, metrics, journalStore ? { journalStore } : {});
  const app = await buildApp(appOptions(engine, metrics));
  return {
    engine,
    app,
    async close() {
      await app.close();
      await engine.close();
    },
  };
}

/** `app.inject` with a JSON body, answering status and parsed body. */
export async function call(app: FastifyInstance, method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await app.inject({
    method: method as 'GET',
    url,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  let json: any;
  try {
    json = response.json();
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, body: json, text: response.body };
}

export interface AppContext {
  db: TestDatabase;
  t: TestApp;
}

/** A suite whose tests share one fresh database of `kind` and an engine on it; both go when it ends. */
export function appSuite(kind: DatabaseKind, title: string, env: Record<string, string> = {}): Suite<AppContext> {
  const it = suite<AppContext>(title, { needs: kind.needs });
  it.before(async (ctx) => {
    ctx.db = await kind.create();
    ctx.t = await startApp(ctx.db.url, env);
  });
  it.after(async (ctx) => {
    await ctx.t?.close().catch(() => undefined);
    await ctx.db?.drop();
  });
  return it;
}
