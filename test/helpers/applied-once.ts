// "None twice", read from the journal: each order paid once, each saga step applied once per order.

import { connect } from '../../src/db/connect.js';

/** Event types that must appear at most once per actor and command id (per order for OrderPaid). */
const ONCE = ['OrderPaid', 'StockReserved', 'StockReleased', 'PointsDebited', 'PointsRefunded'];

/** Every (actor, command id, event type) recorded more than once; empty when nothing was applied twice. */
export async function appliedTwice(url: string): Promise<string[]> {
  const { db, close } = await connect({ url, dataDir: '', poolSize: 1 });
  try {
    const rows = await db.selectFrom('journal').select(['persistence_key', 'event_type', 'ref']).where('event_type', 'in', ONCE).execute();
    const seen = new Map<string, number>();
    for (const r of rows) {
      const key = `${r.persistence_key} ${r.event_type} ${r.ref ?? ''}`.trim();
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    return [...seen].filter(([, n]) => n > 1).map(([key, n]) => `${key} ×${n}`);
  } finally {
    await close();
  }
}
