// The gauges read off live state (actors, mailboxes, journal backlog, cache, outbox lag), refreshed when Prometheus scrapes.

import type { Cluster } from '../cluster/cluster.js';
import type { BatchWriter } from '../journal/batch-writer.js';
import type { Metrics } from '../metrics.js';
import type { Outbox } from '../outbox/outbox.js';
import type { ReadCache } from '../read/cache.js';
import type { Registry } from './registry.js';

export class Gauges {
  constructor(
    private readonly metrics: Metrics,
    private readonly sources: { readonly registry: Registry; readonly journal: BatchWriter; readonly cache: ReadCache; readonly outbox: Outbox; readonly cluster?: Cluster },
  ) {}

  collect(): void {
    const { registry, journal, cache, outbox } = this.sources;
    const stats = registry.stats();
    for (const [kind, n] of Object.entries(stats.live)) this.metrics.liveActors.set({ kind }, n);
    this.metrics.mailboxMax.set(stats.mailboxMax);
    this.metrics.mailboxTotal.set(stats.mailboxTotal);
    this.metrics.journalBacklog.set(journal.backlog);
    this.metrics.cacheEntries.set(cache.size);
    outbox.collectGauges();
    if (this.sources.cluster) this.metrics.clusterShardsOwned.set(this.sources.cluster.status().served.length);
  }
}
