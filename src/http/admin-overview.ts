// The admin page's overview: live actors against the cap, the deepest mailboxes, and the figures the metrics already count.

import type { Static } from 'typebox';
import type { Engine } from '../engine/engine.js';
import type { LiveActorSummary } from '../engine/registry.js';
import type { Metrics } from '../metrics.js';
import type { Overview } from './schemas/admin.js';

const DEEPEST = 20;

type Sample = { readonly value: number; readonly labels: Partial<Record<string, string | number>>; readonly metricName?: string };
type Readable = { get(): Promise<{ values: Sample[] }> | { values: Sample[] } };

/** The value of the series whose labels contain `labels` (and whose name ends in `suffix`), 0 when there is none. */
async function read(metric: Readable | undefined, labels: Record<string, string> = {}, suffix?: string): Promise<number> {
  if (!metric) return 0;
  const { values } = await metric.get();
  let sum = 0;
  for (const sample of values) {
    if (suffix !== undefined && !sample.metricName?.endsWith(suffix)) continue;
    if (Object.entries(labels).every(([k, v]) => sample.labels[k] === v)) sum += sample.value;
  }
  return sum;
}

/** The `n` deepest mailboxes in one pass, without sorting every live actor. */
function deepest(actors: readonly LiveActorSummary[], n: number): LiveActorSummary[] {
  const top: LiveActorSummary[] = [];
  for (const actor of actors) {
    if (actor.mailboxDepth === 0) continue;
    if (top.length === n && (top[n - 1]?.mailboxDepth ?? 0) >= actor.mailboxDepth) continue;
    const at = top.findIndex((t) => t.mailboxDepth < actor.mailboxDepth);
    top.splice(at === -1 ? top.length : at, 0, actor);
    if (top.length > n) top.pop();
  }
  return top;
}

export async function adminOverview(engine: Engine, metrics: Metrics): Promise<Static<typeof Overview>> {
  engine.collectGauges();
  const actors = engine.liveActors();
  const live: Record<string, number> = { user: 0, product: 0, order: 0, coupon: 0 };
  for (const actor of actors) live[actor.kind] = (live[actor.kind] ?? 0) + 1;
  const defaults = (name: string) => metrics.registry.getSingleMetric(name) as Readable | undefined;
  const sinks = await Promise.all(
    engine.outboxStatus().map(async (s) => ({
      sink: s.sink,
      connection: s.connection,
      breaker: s.breaker,
      lagSeconds: s.lagSeconds,
      caughtUp: s.caughtUp,
      delivered: await read(metrics.outboxDelivered, { sink: s.sink }),
      failedAttempts: await read(metrics.outboxFailedAttempts, { sink: s.sink }),
    })),
  );
  return {
    at: Date.now(),
    actors: { live, total: actors.length, cap: engine.config.actors.maxLive, deepestMailboxes: deepest(actors, DEEPEST) },
    journal: {
      backlogEvents: await read(metrics.journalBacklog),
      batches: await read(metrics.batchEvents, {}, '_count'),
      events: await read(metrics.batchEvents, {}, '_sum'),
      commitSeconds: await read(metrics.batchCommit, {}, '_sum'),
      failedBatches: await read(metrics.batchFailures),
    },
    http: { inFlight: await read(metrics.httpInFlight) },
    eventLoop: { lagSeconds: await read(defaults('nodejs_eventloop_lag_seconds')), p99Seconds: await read(defaults('nodejs_eventloop_lag_p99_seconds')) },
    cache: {
      entries: await read(metrics.cacheEntries),
      hits: await read(metrics.cacheLookups, { result: 'hit' }),
      misses: await read(metrics.cacheLookups, { result: 'miss' }),
    },
    outbox: { deadLetters: await read(metrics.outboxDeadLetters), sinks },
  };
}
