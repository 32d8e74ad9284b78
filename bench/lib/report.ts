// A side's measurements as numbers: the stdout tables, and the JSON document of --json.

import { availableParallelism } from 'node:os';
import { crossedShare, type MessageRoutes, type RemoteRequests, type ShardMoves } from './cluster.js';
import type { CpuUse } from './cpu.js';
import type { InvariantReport } from './database.js';
import type { CacheHitRate, EngineStats } from './engine-metrics.js';
import type { LatencySummary, LoadResult } from './load-protocol.js';
import type { Options, Side } from './options.js';
import type { OutboxStats } from './outbox.js';
import type { TraceStats } from './otlp-receiver.js';

/** With --tracing: what the OTLP receiver got over the whole run (seeding included), and the pay requests of the load. */
export interface TracesRun extends TraceStats {
  /**
   * Spans that arrived after the load had ended: the export running behind (their export's CPU
   * is then missing from the load's figures), or the last ones sent at shutdown.
   */
  readonly spansAfterLoad: number;
  readonly payAnswers: number;
  /** Requests of the load never answered (their pays may still have gone through, traced). */
  readonly cutOff: number;
}

/** One engine process of --processes N, over the load. */
export interface ProcessRun {
  readonly url: string;
  readonly node: string;
  /** Shards it served when the load began. */
  readonly shards: number;
  readonly answers: number;
  readonly cpu?: CpuUse;
  readonly engine?: EngineStats;
  readonly messages?: MessageRoutes;
}

export interface SideRun {
  readonly side: Side;
  /** Server processes of this side: N for the engine with --processes N, else 1. */
  readonly processes: number;
  readonly load: LoadResult;
  /** `server` sums every process of the side; `nats` is the cluster's nats-server (--processes 2 or more). */
  readonly cpu: {
    readonly server?: CpuUse;
    readonly database?: CpuUse;
    readonly loadGenerator?: CpuUse;
    readonly nats?: CpuUse;
    readonly otherPercent: number;
  };
  /** Actor messages over the load, summed over the processes; undefined when the engine has no such counter. */
  readonly messages?: MessageRoutes;
  /** Requests to actors in another process and their mean answer time, over the load. */
  readonly remoteRequests?: RemoteRequests;
  /** Shards that moved between processes over the load (none, in a settled cluster), with --processes 2 or more. */
  readonly shardMoves?: ShardMoves;
  /** Each engine process, with --processes 2 or more. */
  readonly byProcess?: readonly ProcessRun[];
  /** Undefined when the database could not be read (--url without --db). */
  readonly invariants: InvariantReport | undefined;
  /** The engine's journal and event loop over the load, from its /metrics. */
  readonly engine?: EngineStats;
  /** The engine's read cache over the load, from its /metrics (the baselines have none). */
  readonly cache?: CacheHitRate;
  /** With --nats: the outbox relay's deliveries and lag over the load and after it. */
  readonly outbox?: OutboxStats;
  readonly traces?: TracesRun;
  readonly ordersSeeded: number;
  /** Flash sale: units of the one product sold (the stock, when it sold out). */
  readonly sold?: number;
}

export interface SideJson {
  readonly requestsPerSec: number;
  readonly paidPerSec: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly errors: Record<string, number>;
  /** Up to three distinct messages per error key, as the server wrote them. */
  readonly errorMessages: Record<string, readonly string[]>;
  /** Latency per request kind: create, pay, read, and each read query of mix and read-heavy. */
  readonly byKind: Record<string, LatencySummary>;
  readonly oversold: number | null;
  readonly invariantsOk: boolean | null;
  readonly soldOutMs?: number | null;
  readonly sold?: number;
  /** Server processes: N for the engine with --processes N, else 1. */
  readonly processes: number;
  /** Average CPU over the load, in percent of one core; `server` is summed over the side's processes. */
  readonly cpuPercent: {
    readonly server: number | null;
    readonly database: number | null;
    readonly loadGenerator: number | null;
    readonly nats?: number | null;
    readonly otherProcesses: number;
  };
  /** CPU time over the load per paid order, in ms: the server's (all its processes), the database's, the cluster's nats-server's. */
  readonly cpuMsPerPaid: { readonly server: number | null; readonly database: number | null; readonly nats?: number | null };
  /**
   * Share (0–1) of the engine's actor messages that went to another process, from
   * `orderengine_cluster_messages_total{route}` over the load, summed over the processes;
   * null when the engine has no such counter (or counted nothing).
   */
  readonly crossedShare: number | null;
  readonly clusterMessages: MessageRoutes | null;
  readonly remoteRequests?: RemoteRequests;
  readonly shardMoves?: ShardMoves;
  /** Each engine process, with --processes 2 or more. */
  readonly byProcess?: ReadonlyArray<{
    readonly node: string;
    readonly url: string;
    readonly shards: number;
    readonly answers: number;
    readonly cpuPercent: number | null;
    readonly cpuMsPerPaid: number | null;
    readonly crossedShare: number | null;
    readonly engineStats?: EngineStats;
  }>;
  readonly responses: number;
  /** Requests in flight when the load stopped, never answered (see LoadResult.cutOff). */
  readonly cutOff: number;
  readonly elapsedMs: number;
  readonly engineStats?: EngineStats;
  readonly cacheHitRate?: CacheHitRate;
  readonly outbox?: OutboxStats;
  readonly traces?: TracesRun;
}

export interface BenchJson {
  readonly scenario: string;
  readonly db: string;
  readonly connections: number;
  readonly durationS: number;
  readonly profile: string;
  readonly rate: number | null;
  /** Engine processes (--processes): 1 is the engine alone, more are cluster members. */
  readonly processes: number;
  readonly invariantsOk: boolean;
  readonly sides: Partial<Record<Side, SideJson>>;
  readonly ratios: Partial<Record<'locks' | 'sql', { readonly throughput: number; readonly p99: number }>>;
}

/** What was measured, for titles: the scenario and the database (or the running engine's URL). */
export const targetLabel = (options: Options) =>
  `${options.scenario} · ${options.url ?? (options.db === 'pglite' ? 'pglite' : redact(options.db))}${options.processes > 1 ? ` · ${options.processes} engine processes` : ''}`;

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Hides the password of a database URL. */
export const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

function perSecond(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? round((count * 1000) / elapsedMs) : 0;
}

/** CPU ms per paid order, or null when nothing was measured or paid. */
const msPerPaid = (cpu: CpuUse | undefined, paid: number): number | null => (cpu && paid > 0 ? round((cpu.seconds * 1000) / paid, 3) : null);

/** A flash sale is sold out when exactly its stock was sold; the time is that of the last successful pay. */
function soldOutMs(run: SideRun, options: Options): number | null | undefined {
  if (options.scenario !== 'flash-sale') return undefined;
  return run.sold === options.stock && run.load.lastPaidMs !== undefined ? run.load.lastPaidMs : null;
}

export function sideJson(run: SideRun, options: Options): SideJson {
  const { load } = run;
  const soldOut = soldOutMs(run, options);
  return {
    requestsPerSec: perSecond(load.responses, load.elapsedMs),
    paidPerSec: perSecond(load.paid, load.elapsedMs),
    p50Ms: load.latency.p50Ms,
    p95Ms: load.latency.p95Ms,
    p99Ms: load.latency.p99Ms,
    maxMs: load.latency.maxMs,
    errors: load.errors,
    errorMessages: load.errorMessages ?? {},
    byKind: load.byKind,
    oversold: run.invariants ? run.invariants.oversold : null,
    invariantsOk: run.invariants ? run.invariants.ok : null,
    ...(soldOut === undefined ? {} : { soldOutMs: soldOut, sold: run.sold ?? 0 }),
    processes: run.processes,
    cpuPercent: {
      server: run.cpu.server?.avgPercent ?? null,
      database: run.cpu.database?.avgPercent ?? null,
      loadGenerator: run.cpu.loadGenerator?.avgPercent ?? null,
      ...(run.cpu.nats ? { nats: run.cpu.nats.avgPercent } : {}),
      otherProcesses: run.cpu.otherPercent,
    },
    cpuMsPerPaid: {
      server: msPerPaid(run.cpu.server, load.paid),
      database: msPerPaid(run.cpu.database, load.paid),
      ...(run.cpu.nats ? { nats: msPerPaid(run.cpu.nats, load.paid) } : {}),
    },
    crossedShare: crossedShare(run.messages),
    clusterMessages: run.messages ?? null,
    ...(run.remoteRequests ? { remoteRequests: run.remoteRequests } : {}),
    ...(run.shardMoves ? { shardMoves: run.shardMoves } : {}),
    ...(run.byProcess
      ? {
          byProcess: run.byProcess.map((p) => ({
            node: p.node,
            url: p.url,
            shards: p.shards,
            answers: p.answers,
            cpuPercent: p.cpu?.avgPercent ?? null,
            // Each process's CPU over all the payments: what it spent on its share of them.
            cpuMsPerPaid: msPerPaid(p.cpu, load.paid),
            crossedShare: crossedShare(p.messages),
            ...(p.engine ? { engineStats: p.engine } : {}),
          })),
        }
      : {}),
    responses: load.responses,
    cutOff: load.cutOff,
    elapsedMs: load.elapsedMs,
    ...(run.engine ? { engineStats: run.engine } : {}),
    ...(run.cache ? { cacheHitRate: run.cache } : {}),
    ...(run.outbox ? { outbox: run.outbox } : {}),
    ...(run.traces ? { traces: run.traces } : {}),
  };
}

export function benchJson(runs: readonly SideRun[], options: Options): BenchJson {
  const sides = Object.fromEntries(runs.map((r) => [r.side, sideJson(r, options)])) as Partial<Record<Side, SideJson>>;
  const ratios: BenchJson['ratios'] = {};
  const engine = sides.engine;
  for (const baseline of ['locks', 'sql'] as const) {
    const other = sides[baseline];
    if (!engine || !other) continue;
    ratios[baseline] = {
      throughput: other.requestsPerSec > 0 ? round(engine.requestsPerSec / other.requestsPerSec, 2) : 0,
      p99: other.p99Ms > 0 ? round(engine.p99Ms / other.p99Ms, 2) : 0,
    };
  }
  return {
    scenario: options.scenario,
    db: options.db === 'pglite' ? 'pglite' : redact(options.db),
    connections: options.connections,
    durationS: options.durationS,
    profile: options.profile,
    rate: options.rate ?? null,
    processes: options.processes,
    invariantsOk: runs.length > 0 && runs.every((r) => r.invariants?.ok === true),
    sides,
    ratios,
  };
}

const errorsText = (errors: Record<string, number>) =>
  Object.keys(errors).length === 0
    ? 'none'
    : Object.entries(errors)
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k} ×${n}`)
        .join(', ');

const cpuText = (c: CpuUse | undefined) => (c ? `${c.avgPercent}% (peak ${c.peakPercent}%)` : 'n/a');

const percent = (rate: number | null) => (rate === null ? '-' : `${round(rate * 100)}%`);

/** The share of actor messages that crossed processes, or n/a when the engine does not count them. */
export function crossedText(messages: MessageRoutes | undefined): string {
  if (!messages) return 'n/a';
  const share = crossedShare(messages);
  return share === null ? 'none counted' : percent(share);
}

const msText = (ms: number | null) => (ms === null ? '-' : String(ms));

/** Whether the scenario reads the read side (so the tables show the cache hit rate). */
const reads = (options: Options) => options.scenario === 'mix' || options.scenario === 'read-heavy';

/** `91.2% of 123456 lookups (user 99.1% of 1000, …)`, or why there is none. */
export function cacheText(run: SideRun): string {
  const c = run.cache;
  if (!c) return run.side === 'engine' ? 'n/a (no cache metrics)' : 'none (the baselines have no cache)';
  const each = Object.entries(c.byCache)
    .map(([cache, b]) => (b.hitRate === null ? `${cache} no lookups` : `${cache} ${percent(b.hitRate)} of ${b.hits + b.misses}`))
    .join(', ');
  return `${percent(c.overall)} of ${c.lookups} lookups${each ? ` (${each})` : ''}`;
}

/** The block printed after each side finishes. */
export function sideTable(run: SideRun, options: Options): string {
  const j = sideJson(run, options);
  const { load } = run;
  const rows: Array<[string, string]> = [
    ['requests/s', `${j.requestsPerSec}  (${load.responses} answers in ${(load.elapsedMs / 1000).toFixed(1)} s)`],
    ['paid orders/s', `${j.paidPerSec}  (${load.paid} paid)`],
    ['latency ms', `p50 ${j.p50Ms}   p95 ${j.p95Ms}   p99 ${j.p99Ms}   max ${j.maxMs}`],
  ];
  if (Object.keys(load.byKind).length > 1) {
    for (const [kind, l] of Object.entries(load.byKind)) rows.push([`  ${kind}`, `${l.count} answers, p50 ${l.p50Ms}   p99 ${l.p99Ms}   max ${l.maxMs}`]);
  }
  rows.push(['errors', errorsText(load.errors)]);
  for (const [key, messages] of Object.entries(load.errorMessages ?? {})) for (const m of messages) rows.push([`  ${key}`, m]);
  if (reads(options) || run.cache) rows.push(['cache hit rate', cacheText(run)]);
  if (j.soldOutMs !== undefined) {
    rows.push([
      'sell-out',
      j.soldOutMs === null ? `not sold out: ${run.sold ?? 0} of ${options.stock} sold` : `${j.soldOutMs} ms  (${run.sold} sold = stock ${options.stock})`,
    ]);
  }
  if (load.poolEmptyAtMs !== undefined && options.scenario !== 'flash-sale') {
    rows.push(['note', `the ${run.ordersSeeded} pre-created orders ran out after ${(load.poolEmptyAtMs / 1000).toFixed(1)} s: raise --orders`]);
  }
  if (load.cutOff > 0) rows.push(['note', `${load.cutOff} requests were in flight when the load (or a stage) stopped: no answer recorded`]);
  if (options.scenario === 'flash-sale' && load.unsent > 0) rows.push(['note', `${load.unsent} orders not sent before the time ran out`]);
  const serverLabel = run.processes > 1 ? `server (${run.processes} processes)` : 'server';
  rows.push([
    `CPU (100% = 1 of ${availableParallelism()} cores)`,
    `${serverLabel} ${cpuText(run.cpu.server)} · database ${cpuText(run.cpu.database)}${run.cpu.nats ? ` · nats-server ${cpuText(run.cpu.nats)}` : ''} · load generator ${cpuText(run.cpu.loadGenerator)} · other processes ${run.cpu.otherPercent}%`,
  ]);
  rows.push([
    'CPU ms per payment',
    `${serverLabel} ${msText(j.cpuMsPerPaid.server)} · database ${msText(j.cpuMsPerPaid.database)}${j.cpuMsPerPaid.nats === undefined ? '' : ` · nats-server ${msText(j.cpuMsPerPaid.nats)}`}`,
  ]);
  if (run.side === 'engine') {
    const m = run.messages;
    rows.push([
      'crossed processes',
      m
        ? `${crossedText(m)} of actor messages (${m.remote} remote, ${m.local} local)${
            run.remoteRequests && run.remoteRequests.count > 0 ? ` · ${run.remoteRequests.count} remote requests, ${run.remoteRequests.meanMs} ms mean to the answer` : ''
          }`
        : 'n/a (the engine exports no orderengine_cluster_messages_total)',
    ]);
  }
  const moves = run.shardMoves;
  if (moves && run.processes > 1) {
    const any = moves.taken + moves.handedOff + moves.lost + moves.renewalFailures > 0;
    rows.push([
      'shard moves',
      `${any ? '' : 'none: '}taken ${moves.taken}, handed off ${moves.handedOff}, lost with the lease ${moves.lost} · lease renewals unconfirmed ${moves.renewalFailures} (over the load)`,
    ]);
  }
  for (const p of run.byProcess ?? []) {
    const share = p.messages ? ` · crossed ${crossedText(p.messages)}` : '';
    const journal = p.engine ? ` · ${p.engine.batches} batches${p.engine.batchFailures > 0 ? ` (${p.engine.batchFailures} FAILED)` : ''}, commit ${p.engine.commitMeanMs} ms mean, loop lag p99 ${p.engine.loopLagP99Ms ?? '-'} ms` : '';
    rows.push([`  ${p.node}`, `${p.shards} shards · ${p.answers} answers · CPU ${cpuText(p.cpu)}${share}${journal}`]);
  }
  const e = run.engine;
  if (e) {
    const lag = e.loopLagP99Ms === undefined ? '' : ` · event-loop lag p99 ${e.loopLagP99Ms} ms, max ${e.loopLagMaxMs} ms`;
    rows.push([
      'engine internals',
      `${e.batches} journal batches${e.batchFailures > 0 ? ` (${e.batchFailures} FAILED)` : ''}, ${e.eventsPerBatch} events each, commit ${e.commitMeanMs} ms mean, committing ${e.commitBusyPercent}% of the time${lag}`,
    ]);
  }
  const o = run.outbox;
  if (o) {
    const after =
      o.caughtUpAfterMs === null
        ? 'NOT caught up 5 min after the load'
        : `caught up ${(o.caughtUpAfterMs / 1000).toFixed(1)} s after the load${o.deliveredPerSecAfterLoad === null ? '' : ` (${o.deliveredPerSecAfterLoad} events/s meanwhile)`}`;
    rows.push([
      'outbox (NATS)',
      `${o.delivered} events delivered, ${o.deliveredPerSecDuringLoad}/s during the load · lag max ${o.maxLagSeconds} s, ${o.lagAtLoadEndSeconds} s at the end · ${after}`,
    ]);
  }
  const t = run.traces;
  if (t) {
    const pays = t.named['order PayOrder'] ?? 0;
    rows.push([
      'traces (OTLP)',
      `${t.spans} spans in ${t.exports} exports, ${round(t.bytes / 1e6)} MB, over the whole run (seeding too), ${t.spansAfterLoad} of them after the load · ${pays} pays traced at the order for ${t.payAnswers} pays answered${
        t.cutOff > 0 ? ` and ${t.cutOff} requests cut off` : ''
      }${pays < t.payAnswers ? ' (fewer: sampled out, or dropped by the SDK)' : ''}`,
    ]);
  }
  const inv = run.invariants;
  rows.push([
    'invariants',
    inv
      ? `${inv.ok ? 'ok' : 'VIOLATED'}: oversold ${inv.oversold}, stock mismatches ${inv.stockMismatches}, points mismatches ${inv.pointsMismatches}; orders ${Object.entries(inv.statuses)
          .map(([s, n]) => `${s} ${n}`)
          .join(', ')}`
      : 'not checked (no database to read: give --db with --url)',
  ]);
  for (const example of inv?.examples ?? []) rows.push(['', example]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const title = `── ${run.side} · ${targetLabel(options)} · ${options.connections} connections${options.rate ? ` @ ${options.rate}/s` : ''} · ${options.profile} ${options.durationS} s ──`;
  return [title, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n');
}

/** One row per side, for the end of the run. */
export function summaryTable(runs: readonly SideRun[], options: Options): string {
  const cacheColumn = reads(options) || runs.some((r) => r.cache);
  const head = [
    'side',
    'req/s',
    'paid/s',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'max ms',
    ...(options.scenario === 'flash-sale' ? ['sold out ms'] : []),
    'non-2xx',
    ...(cacheColumn ? ['cache hit'] : []),
    'procs',
    'srv ms/paid',
    'crossed',
    'srv cpu',
    'db cpu',
    'gen cpu',
    'other cpu',
    'invariants',
  ];
  const body = runs.map((run) => {
    const j = sideJson(run, options);
    const non2xx = Object.values(j.errors).reduce((a, b) => a + b, 0);
    return [
      run.side,
      String(j.requestsPerSec),
      String(j.paidPerSec),
      String(j.p50Ms),
      String(j.p95Ms),
      String(j.p99Ms),
      String(j.maxMs),
      ...(options.scenario === 'flash-sale' ? [j.soldOutMs === null || j.soldOutMs === undefined ? '-' : String(j.soldOutMs)] : []),
      String(non2xx),
      ...(cacheColumn ? [run.cache ? percent(run.cache.overall) : '-'] : []),
      String(run.processes),
      msText(j.cpuMsPerPaid.server),
      run.side === 'engine' ? crossedText(run.messages) : '-',
      j.cpuPercent.server === null ? '-' : `${j.cpuPercent.server}%`,
      j.cpuPercent.database === null ? '-' : `${j.cpuPercent.database}%`,
      j.cpuPercent.loadGenerator === null ? '-' : `${j.cpuPercent.loadGenerator}%`,
      `${j.cpuPercent.otherProcesses}%`,
      j.invariantsOk === null ? 'unchecked' : j.invariantsOk ? 'ok' : 'VIOLATED',
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
