// `npm run bench:relay`: the outbox relay alone, draining a pre-filled outbox table into NATS JetStream; events/s and CPU per event.
//
//   npm run bench:relay -- --nats nats://127.0.0.1:4222 --db postgres://postgres@127.0.0.1:5432/test --events 60000
//
// A fresh database gets `--events` outbox rows (three per order, as a payment writes them), the
// relay starts on it as at an engine's start-up and publishes everything to a stream of its own;
// the run reports the time until every row was acknowledged and deleted, then drops both.

import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { connect } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import type { OutboxTable } from '../src/db/schema.js';
import { Metrics } from '../src/metrics.js';
import { Outbox } from '../src/outbox/outbox.js';
import { createSideDatabase } from './lib/database.js';
import { dbKindOf } from './lib/options.js';
import { benchStream } from './lib/outbox.js';

const { values } = parseArgs({
  options: {
    nats: { type: 'string', default: 'nats://127.0.0.1:4222' },
    db: { type: 'string', default: 'pglite' },
    events: { type: 'string', default: '60000' },
    concurrency: { type: 'string', default: '64' },
  },
});
const events = Number(values.events);
const stream = benchStream(values.nats);
const database = await createSideDatabase(dbKindOf(values.db), values.db, 'engine');
const config = loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'warn', OUTBOX_CONCURRENCY: values.concurrency, ...stream.env });
const db = await connect({ url: config.databaseUrl, dataDir: '', poolSize: 8 });
try {
  await migrateToLatest(db);
  const now = Date.now();
  const types = ['StockReserved', 'PointsDebited', 'OrderPaid'];
  for (let start = 0; start < events; start += 1000) {
    const rows: OutboxTable[] = [];
    for (let i = start; i < Math.min(events, start + 1000); i++) {
      const order = `order-${Math.floor(i / 3)}`;
      const type = types[i % 3]!;
      const id = `${order}:${i}`;
      const payload = JSON.stringify({ id, type, orderId: order, aggregate: { kind: 'order', id: order, sequenceNr: i }, at: now, data: { userId: 'u', total: 100, items: [{ productId: 'p', quantity: 1, unitPrice: 100 }] } });
      rows.push({ position: i + 1, sink: 'nats', event_id: id, order_key: order, event_type: type, payload, created_at: now, attempts: 0, last_error: null, shard: 0, trace_parent: null });
    }
    await db.db.insertInto('outbox').values(rows).execute();
  }
  console.log(`${events} outbox rows in ${database.url.replace(/\/\/[^@]*@/, '//')}; relaying to ${values.nats} stream ${stream.env.NATS_STREAM}, concurrency ${values.concurrency}`);

  const metrics = new Metrics();
  const outbox = await Outbox.open(db, config.outbox, { logLevel: 'warn', metrics });
  const cpu = process.cpuUsage();
  const started = performance.now();
  outbox.start();
  for (;;) {
    const [status] = outbox.status();
    if (status?.caughtUp) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await outbox.close();
  const left = await db.db.selectFrom('outbox').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
  const delivered = (await metrics.outboxDelivered.get()).values.reduce((n, v) => n + v.value, 0);
  console.log(
    `delivered ${delivered} events in ${seconds.toFixed(2)} s: ${Math.round(delivered / seconds)} events/s; ` +
      `relay process CPU ${Math.round(((used.user + used.system) / 1000 / (seconds * 1000)) * 100)}% of a core, ${((used.user + used.system) / delivered).toFixed(1)} µs per event; ` +
      `${Number(left?.n)} rows left in the outbox`,
  );
} finally {
  await db.close();
  await stream.drop();
  await database.drop();
}
