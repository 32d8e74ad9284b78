// The engine's own Prometheus metrics around a load, to tell where its time went: journal batches, event-loop lag, read cache.

import type { JsonClient } from './http.js';

/** Samples by metric name, labelled ones summed over their labels; and each labelled series by its name and labels as printed. */
export type Scrape = ReadonlyMap<string, number>;

export interface EngineStats {
  readonly batches: number;
  /** Batches whose transaction failed: every append in them, and behind them, was refused. */
  readonly batchFailures: number;
  readonly eventsPerBatch: number;
  readonly commitMeanMs: number;
  /** Share of the load's wall time during which a batch was committing (one commits at a time). */
  readonly commitBusyPercent: number;
  /** Event-loop delay over the load (prom-client resets it at each scrape): a busy main thread. */
  readonly loopLagP99Ms: number | undefined;
  readonly loopLagMaxMs: number | undefined;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/;

/** Reads GET /metrics; undefined when the server has none (a baseline, or metrics renamed). */
export async function scrape(client: JsonClient): Promise<Scrape | undefined> {
  const answer = await client.send<string>('GET', '/metrics').catch(() => undefined);
  if (!answer || answer.status !== 200 || typeof answer.body !== 'string') return undefined;
  const samples = new Map<string, number>();
  for (const line of answer.body.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    const value = Number(match?.[3]);
    if (!match?.[1] || !Number.isFinite(value)) continue;
    samples.set(match[1], (samples.get(match[1]) ?? 0) + value);
    if (match[2]) samples.set(`${match[1]}${match[2]}`, value);
  }
  return samples;
}

export function engineStats(before: Scrape | undefined, after: Scrape | undefined, elapsedMs: number): EngineStats | undefined {
  if (!before || !after) return undefined;
  const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
  const batches = delta('orderengine_journal_batch_events_count');
  if (!after.has('orderengine_journal_batch_events_count') || batches <= 0) return undefined;
  const commitSeconds = delta('orderengine_journal_commit_duration_seconds_sum');
  // Node's process metrics under their standard names; engines built before they were unprefixed named them orderengine_nodejs_*.
  const lag = (name: string) => {
    const v = after.get(name) ?? after.get(`orderengine_${name}`);
    return v === undefined ? undefined : Math.round(v * 10_000) / 10;
  };
  return {
    batches,
    batchFailures: delta('orderengine_journal_batch_failures_total'),
    eventsPerBatch: Math.round(delta('orderengine_journal_batch_events_sum') / batches),
    commitMeanMs: Math.round((commitSeconds / Math.max(1, delta('orderengine_journal_commit_duration_seconds_count'))) * 10_000) / 10,
    commitBusyPercent: Math.round((commitSeconds * 100_000) / Math.max(1, elapsedMs)),
    loopLagP99Ms: lag('nodejs_eventloop_lag_p99_seconds'),
    loopLagMaxMs: lag('nodejs_eventloop_lag_max_seconds'),
  };
}

/** The read cache over the load: hits ÷ lookups, overall and per cache (user, product, order, coupon, popular). */
export interface CacheHitRate {
  /** 0–1; null when nothing was looked up. */
  readonly overall: number | null;
  readonly lookups: number;
  readonly byCache: Record<string, { readonly hits: number; readonly misses: number; readonly hitRate: number | null }>;
}

const CACHES = ['user', 'product', 'order', 'coupon', 'popular'];
const CACHE_LOOKUP = /^orderengine_cache_lookups_total\{(.*)\}$/;
const label = (labels: string, name: string) => new RegExp(`${name}="([^"]*)"`).exec(labels)?.[1];

/** From `orderengine_cache_lookups_total{cache,result}` before and after the load; undefined when the engine has no such metric. */
export function cacheHitRate(before: Scrape | undefined, after: Scrape | undefined): CacheHitRate | undefined {
  if (!before || !after || !after.has('orderengine_cache_lookups_total')) return undefined;
  const counts = new Map<string, { hits: number; misses: number }>();
  for (const [series, value] of after) {
    const labels = CACHE_LOOKUP.exec(series)?.[1];
    const cache = labels === undefined ? undefined : label(labels, 'cache');
    if (labels === undefined || cache === undefined) continue;
    const n = value - (before.get(series) ?? 0);
    const entry = counts.get(cache) ?? { hits: 0, misses: 0 };
    if (label(labels, 'result') === 'hit') entry.hits += n;
    else entry.misses += n;
    counts.set(cache, entry);
  }
  const rate = (hits: number, misses: number) => (hits + misses > 0 ? Math.round((hits / (hits + misses)) * 10_000) / 10_000 : null);
  let hits = 0;
  let misses = 0;
  const byCache: CacheHitRate['byCache'] = {};
  for (const [cache, c] of [...counts].sort(([a], [b]) => (CACHES.indexOf(a) + 1 || 99) - (CACHES.indexOf(b) + 1 || 99))) {
    hits += c.hits;
    misses += c.misses;
    byCache[cache] = { hits: c.hits, misses: c.misses, hitRate: rate(c.hits, c.misses) };
  }
  return { overall: rate(hits, misses), lookups: hits + misses, byCache };
}

/** Several processes' scrapes as one, each sample summed (counters and histograms; not gauges). Undefined when any is missing. */
export function sumScrapes(scrapes: ReadonlyArray<Scrape | undefined>): Scrape | undefined {
  if (scrapes.length === 0 || scrapes.some((s) => s === undefined)) return undefined;
  const sum = new Map<string, number>();
  for (const scrape of scrapes as Scrape[]) for (const [name, value] of scrape) sum.set(name, (sum.get(name) ?? 0) + value);
  return sum;
}

/**
 * The journals of several processes as one line: batches and failures summed, events per batch
 * and the mean commit over all their batches; the share of time committing and the event-loop
 * lag are those of the busiest process (each process commits, and loops, on its own).
 */
export function combineStats(stats: ReadonlyArray<EngineStats | undefined>): EngineStats | undefined {
  const known = stats.filter((s): s is EngineStats => s !== undefined);
  if (known.length === 0) return undefined;
  if (known.length === 1) return known[0];
  const batches = known.reduce((n, s) => n + s.batches, 0);
  const weighted = (f: (s: EngineStats) => number) => known.reduce((n, s) => n + f(s) * s.batches, 0) / Math.max(1, batches);
  const max = (f: (s: EngineStats) => number | undefined) => {
    const values = known.map(f).filter((v): v is number => v !== undefined);
    return values.length ? Math.max(...values) : undefined;
  };
  return {
    batches,
    batchFailures: known.reduce((n, s) => n + s.batchFailures, 0),
    eventsPerBatch: Math.round(weighted((s) => s.eventsPerBatch)),
    commitMeanMs: Math.round(weighted((s) => s.commitMeanMs) * 10) / 10,
    commitBusyPercent: max((s) => s.commitBusyPercent) ?? 0,
    loopLagP99Ms: max((s) => s.loopLagP99Ms),
    loopLagMaxMs: max((s) => s.loopLagMaxMs),
  };
}
