// Wires the engine and the HTTP app, listens, and shuts down cleanly on SIGTERM/SIGINT.

import { loadConfig } from './config.js';
import { Engine } from './engine/engine.js';
import { buildApp } from './http/app.js';
import { Metrics } from './metrics.js';

const config = loadConfig();
const metrics = new Metrics();
const engine = await Engine.start(config, metrics);
const app = await buildApp({ engine, metrics, adminToken: config.adminToken, logLevel: config.logLevel });

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  app.log.info({ signal }, 'shutting down: draining requests and flushing the journal');
  await app.close();
  await engine.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

await app.listen({ port: config.port, host: config.host });
app.log.info(
  { database: config.databaseUrl ? config.databaseUrl.replace(/\/\/[^@]*@/, '//***@') : `pglite:${config.dataDir}` },
  `order engine listening on http://${config.host}:${config.port} (docs at /docs)`,
);
