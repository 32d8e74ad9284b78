// The messages between the harness and its load-generator child process, and what a run measured.

import type { Scenario, Stage } from './options.js';

/** What the load generator drives; the ids come from seeding. */
export interface LoadPlan {
  /**
   * The servers to load: one, or every engine process of --processes. One autocannon drives
   * them all, its connections dealt to them in turn (connection i to urls[i mod n]), as a
   * round-robin balancer deals connections; they draw from the one pool of orders.
   */
  readonly urls: readonly string[];
  readonly scenario: Scenario;
  readonly stages: readonly Stage[];
  /** Orders to pay, each once, in this order (hot-product, uniform-pay, flash-sale). */
  readonly orderIds: readonly string[];
  /** Buyers and products the mix scenario picks from, uniformly. */
  readonly userIds: readonly string[];
  readonly productIds: readonly string[];
  /** What the read queries of mix and read-heavy ask for (empty in the pay scenarios). */
  readonly reads: ReadTargets;
}

/** Seeded data the read queries pick from, uniformly, so that every read finds rows. */
export interface ReadTargets {
  /** Paid orders, and the user of each (same index). */
  readonly orderIds: readonly string[];
  readonly orderUserIds: readonly string[];
  /** Users holding coupons. */
  readonly couponHolderIds: readonly string[];
  readonly userNames: readonly string[];
  readonly productNames: readonly string[];
}

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

/** One second of the run: answers, paid orders and their latency. */
export interface SecondSample {
  readonly second: number;
  readonly count: number;
  readonly paid: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface HistogramBin {
  /** Upper edge of the bin in milliseconds; the lower edge is the previous bin's. */
  readonly upToMs: number;
  readonly count: number;
}

export interface LoadResult {
  readonly elapsedMs: number;
  /** Every answered request, whatever its status. */
  readonly responses: number;
  /**
   * Requests in flight when a stage (or the run) ended: autocannon closes their connections,
   * so they have no answer and no latency, though the server may well have done them.
   */
  readonly cutOff: number;
  readonly paid: number;
  /** Non-2xx answers by `status CODE`, plus `timeout` and `connection` for requests with no answer. */
  readonly errors: Record<string, number>;
  readonly latency: LatencySummary;
  /** Per request kind: create, pay, read (mix's read of its order), and each read query (see reads.ts). */
  readonly byKind: Record<string, LatencySummary>;
  readonly series: readonly SecondSample[];
  readonly histogram: readonly HistogramBin[];
  /** The last successful pay after the load began: the sell-out time in a flash sale. */
  readonly lastPaidMs: number | undefined;
  /** Orders of the pool never sent because the time ran out first. */
  readonly unsent: number;
  /** When the last order of the pool was sent, if it ran out before the time did. */
  readonly poolEmptyAtMs: number | undefined;
  /** Up to three distinct error messages per key of `errors`, as the server wrote them. */
  readonly errorMessages: Record<string, readonly string[]>;
  /** Answers by the server (origin) that gave them, to show how the load was spread. */
  readonly byTarget: Record<string, number>;
}

export type ToLoad = { readonly type: 'start'; readonly plan: LoadPlan };
export type FromLoad =
  | { readonly type: 'tick'; readonly elapsedMs: number; readonly responses: number; readonly paid: number }
  | { readonly type: 'done'; readonly result: LoadResult }
  | { readonly type: 'failed'; readonly message: string };
