// The keys of a JetStream KV bucket in one request, without the consumer `KV.keys()` opens.

import type { JetStreamManager } from '@nats-io/jetstream';

/**
 * The keys under `filter` that bucket `bucket` holds a message for (a value, or a delete marker:
 * read the entry to tell), from the stream's subject counts: one request and its answer.
 * `KV.keys()` reads them through an ordered consumer until the last one, and hung for good when
 * entries expired while it read (a cluster round waited on it for over a minute).
 *
 * ```ts
 * const names = await kvKeys(await jetstreamManager(nc), 'orders_members');
 * ```
 */
export async function kvKeys(jsm: JetStreamManager, bucket: string, filter = '>'): Promise<string[]> {
  const prefix = `$KV.${bucket}.`;
  const info = await jsm.streams.info(`KV_${bucket}`, { subjects_filter: `${prefix}${filter}` });
  return Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
}
