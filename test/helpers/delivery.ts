// "Every OrderPaid reaches the data platform at least once, or lands in dead letters", reconciled against the journal.

import { connect } from '../../src/db/connect.js';
import { readStream } from './nats.js';
import type { WebhookReceiver } from './webhook-receiver.js';

export interface Sinks {
  readonly webhook?: WebhookReceiver;
  /** The JetStream stream the engine published to, on this server. */
  readonly nats?: { readonly url: string; readonly stream: string };
}

export interface Reconciliation {
  /** OrderPaid events committed in the journal, by event id (`<key>:<sequence>`). */
  readonly orderPaid: number;
  /** Event ids that reached neither the sink nor its dead letters, per sink. */
  readonly missing: Record<string, string[]>;
  /** Dead letters per sink (OrderPaid ones). */
  readonly deadLetters: Record<string, number>;
}

/** Reads every committed OrderPaid from the journal and finds each one delivered to every sink, or dead-lettered there. */
export async function reconcileOrderPaid(url: string, sinks: Sinks): Promise<Reconciliation> {
  const { db, close } = await connect({ url, dataDir: '', poolSize: 1 });
  try {
    const events = await db.selectFrom('journal').select(['persistence_key', 'sequence_nr']).where('event_type', '=', 'OrderPaid').execute();
    const ids = events.map((e) => `${e.persistence_key}:${Number(e.sequence_nr)}`);
    const dead = await db.selectFrom('outbox_dead_letters').select(['sink', 'event_id']).where('event_type', '=', 'OrderPaid').execute();
    const deadIn = (sink: string) => new Set(dead.filter((d) => d.sink === sink).map((d) => d.event_id));
    const missing: Record<string, string[]> = {};
    const deadLetters: Record<string, number> = {};
    if (sinks.webhook) {
      const dl = deadIn('webhook');
      deadLetters.webhook = dl.size;
      missing.webhook = ids.filter((id) => !sinks.webhook!.accepted.has(id) && !dl.has(id));
    }
    if (sinks.nats) {
      const dl = deadIn('nats');
      const inStream = new Set((await readStream(sinks.nats.url, sinks.nats.stream)).map((m) => m.msgId));
      deadLetters.nats = dl.size;
      missing.nats = ids.filter((id) => !inStream.has(id) && !dl.has(id));
    }
    return { orderPaid: ids.length, missing, deadLetters };
  } finally {
    await close();
  }
}
