// A downstream team's starting point: read the engine's JetStream stream with a durable consumer and print each event.
//
//   NATS_URL=nats://127.0.0.1:4222 npx tsx examples/consumer.ts
//
// Environment: NATS_URL (nats://127.0.0.1:4222), NATS_STREAM (ORDERS, as the engine's), CONSUMER
// (data-platform: the durable name; the server remembers what it acknowledged, so a restart goes
// on where it stopped), FILTER (a subject filter such as orders.OrderPaid; default: every event),
// MAX (stop after this many events; default: run until Ctrl-C).
//
// Delivery is at least once: the engine may publish an event again after a crash (JetStream drops
// the repeat within its two-minute duplicate window), and this consumer gets an event again when
// it stops before acknowledging it. Deduplicate by the event's `id` (also its Nats-Msg-Id header),
// ideally in the same transaction that stores what the event changes.

import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const stream = process.env.NATS_STREAM ?? 'ORDERS';
const durable = process.env.CONSUMER ?? 'data-platform';
const filter = process.env.FILTER;
const max = process.env.MAX ? Number(process.env.MAX) : Number.POSITIVE_INFINITY;

/** What the engine publishes (see the README's "Outbox" section). */
interface OrderEngineEvent {
  readonly id: string;
  readonly type: string;
  readonly orderId: string;
  readonly aggregate: { readonly kind: string; readonly id: string; readonly sequenceNr: number };
  /** ISO 8601, UTC. */
  readonly at: string;
  readonly data: unknown;
}

const nc = await connect({ servers: url, name: `order-engine example consumer ${durable}` });
const jsm = await jetstreamManager(nc);
try {
  await jsm.consumers.info(stream, durable);
} catch (error) {
  if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.ConsumerNotFound) throw error;
  await jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ...(filter ? { filter_subject: filter } : {}),
  });
  console.error(`created durable consumer ${durable} on stream ${stream}${filter ? ` for ${filter}` : ''}`);
}

const consumer = await jetstream(nc).consumers.get(stream, durable);
const messages = await consumer.consume({ max_messages: 256 });
process.once('SIGINT', () => void messages.close());
process.once('SIGTERM', () => void messages.close());

// A small window of recently seen ids: enough to drop the repeats of a redelivery in a demo.
const recent = new Set<string>();
let handled = 0;
for await (const m of messages) {
  const event = m.json<OrderEngineEvent>();
  if (!recent.has(event.id)) {
    console.log(JSON.stringify({ streamSeq: m.seq, subject: m.subject, ...event }));
    recent.add(event.id);
    if (recent.size > 100_000) recent.delete(recent.values().next().value as string);
  }
  m.ack();
  if (++handled >= max) break;
}
// Acknowledgements are sent asynchronously: flush them before leaving.
await nc.flush();
await nc.drain();
