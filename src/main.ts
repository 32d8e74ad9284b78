// Wires the engine and the HTTP app, listens, and shuts down cleanly on SIGTERM/SIGINT.

import { loadConfig } from './config.js';
import { DatabaseHeldError } from './engine/database-held-error.js';
import type { Engine } from './engine/engine.js';
import { startEngine } from './engine/start-engine.js';
import { buildApp } from './http/app.js';
import { SqlIdempotencyStore } from './idempotency/sql-idempotency-store.js';
import { Metrics } from './metrics.js';
import { startTracing } from './tracing/start-tracing.js';

const config = loadConfig();
const metrics = new Metrics();
const tracing = await startTracing();
const engine = await start();
const app = await buildApp({
  engine,
  metrics,
  maxInFlight: config.http.maxInFlight,
  adminToken: config.adminToken,
  logLevel: config.logLevel,
  idempotencyStore: new SqlIdempotencyStore(engine.database.db, { retentionMs: config.idempotencyRetentionMs, claimMs: 3 * config.requestTimeoutMs }),
  ...(tracing ? { tracing } : {}),
});

/** The engine, or exit 1 with one line when another process already serves the database. */
async function start(): Promise<Engine> {
  try {
    return await startEngine(config, metrics, {
      ...(tracing ? { spans: tracing.spans } : {}),
      onDatabaseTaken: (holder) => {
        app.log.fatal({ holder }, 'another engine process took this database while the connection holding its lock was lost; stopping');
        void shutdown('database taken', 1);
      },
    });
  } catch (error) {
    if (!(error instanceof DatabaseHeldError)) throw error;
    process.stderr.write(`order-engine: ${error.message}\n`);
    process.exit(1);
  }
}

/** Below Kubernetes' default grace period (30 s), so the engine exits on its own terms. */
const SHUTDOWN_DEADLINE_MS = 25_000;

let stopping = false;
async function shutdown(signal: string, exitCode = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  app.log.info({ signal }, 'shutting down: draining requests and flushing the journal');
  // Requests wait at most REQUEST_TIMEOUT_MS and the journal JOURNAL_TIMEOUT_MS, so this is a backstop.
  setTimeout(() => {
    app.log.error(`shutdown took longer than ${SHUTDOWN_DEADLINE_MS} ms; exiting`);
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS).unref();
  try {
    // Stops accepting connections, refuses new requests with 503, and waits for those in flight.
    await app.close();
    // Commits everything the journal holds, then closes the database.
    await engine.close();
    await tracing?.shutdown();
  } catch (error) {
    app.log.error({ err: error }, 'shutdown failed');
    process.exit(1);
  }
  process.exit(exitCode);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

await app.listen({ port: config.port, host: config.host });
app.log.info(
  { database: config.databaseUrl ? config.databaseUrl.replace(/\/\/[^@]*@/, '//***@') : `pglite:${config.dataDir}` },
  `order engine listening on http://${config.host}:${config.port} (docs at /docs)`,
);
