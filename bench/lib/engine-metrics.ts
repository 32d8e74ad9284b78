// The engine's own Prometheus metrics around a load, to tell where its time went: journal batches and event-loop lag.

import type { JsonClient } from './http.js';

/** Unlabelled samples by metric name; labelled ones are summed over their labels. */
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

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/;

/** Reads GET /metrics; undefined when the server has none (a baseline, or metrics renamed). */
export async function scrape(client: JsonClient): Promise<Scrape | undefined> {
  const answer = await client.send<string>('GET', '/metrics').catch(() => undefined);
  if (!answer || answer.status !== 200 || typeof answer.body !== 'string') return undefined;
  const samples = new Map<string, number>();
  for (const line of answer.body.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    const value = Number(match?.[2]);
    if (match?.[1] && Number.isFinite(value)) samples.set(match[1], (samples.get(match[1]) ?? 0) + value);
  }
  return samples;
}

export function engineStats(before: Scrape | undefined, after: Scrape | undefined, elapsedMs: number): EngineStats | undefined {
  if (!before || !after) return undefined;
  const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
  const batches = delta('orderengine_journal_batch_events_count');
  if (!after.has('orderengine_journal_batch_events_count') || batches <= 0) return undefined;
  const commitSeconds = delta('orderengine_journal_commit_duration_seconds_sum');
  const lag = (name: string) => {
    const v = after.get(name);
    return v === undefined ? undefined : Math.round(v * 10_000) / 10;
  };
  return {
    batches,
    batchFailures: delta('orderengine_journal_batch_failures_total'),
    eventsPerBatch: Math.round(delta('orderengine_journal_batch_events_sum') / batches),
    commitMeanMs: Math.round((commitSeconds / Math.max(1, delta('orderengine_journal_commit_duration_seconds_count'))) * 10_000) / 10,
    commitBusyPercent: Math.round((commitSeconds * 100_000) / Math.max(1, elapsedMs)),
    loopLagP99Ms: lag('orderengine_nodejs_eventloop_lag_p99_seconds'),
    loopLagMaxMs: lag('orderengine_nodejs_eventloop_lag_max_seconds'),
  };
}
