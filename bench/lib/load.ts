// The load generator, run as a child process of the harness: autocannon stage by stage, every answer's latency into HDR histograms.

import autocannon from 'autocannon';
import * as hdr from 'hdr-histogram-js';
import type { FromLoad, HistogramBin, LatencySummary, LoadPlan, LoadResult, SecondSample, ToLoad } from './load-protocol.js';
import type { Stage } from './options.js';
import { MIX_READ_KINDS, READ_HEAVY_PAY_SHARE, READ_KINDS, readPath, type ReadKind } from './reads.js';

/** create, pay and read (mix's read of the order it paid), or one of the read queries. */
type Kind = 'create' | 'pay' | 'read' | ReadKind;
/** The order of the per-kind breakdown. */
const KIND_ORDER: readonly Kind[] = ['create', 'pay', 'read', ...READ_KINDS];

/** Latencies are recorded in microseconds: integers, with sub-millisecond detail. */
const US_PER_MS = 1000;
const MAX_US = 600_000_000;
const CLIENT_TIMEOUT_S = 30;
/** Bin edges of the report's latency histogram: ten per decade from 0.1 ms to 100 s. */
const BIN_EDGES_MS = Array.from({ length: 61 }, (_, i) => 0.1 * 10 ** (i / 10));

const histogram = (digits: number) =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: MAX_US, numberOfSignificantValueDigits: digits as 1 | 2 | 3 | 4 | 5 });

function summarize(h: hdr.Histogram): LatencySummary {
  const ms = (us: number) => Math.round((us / US_PER_MS) * 100) / 100;
  return {
    count: h.totalCount,
    p50Ms: ms(h.getValueAtPercentile(50)),
    p95Ms: ms(h.getValueAtPercentile(95)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    maxMs: ms(h.maxValue),
    meanMs: ms(h.mean),
  };
}

/** What the answer just parsed said; autocannon reports its latency right after, synchronously. */
interface Outcome {
  kind: Kind;
  status: number;
  code: string | undefined;
  /** The error's message, for the report's examples. */
  message: string | undefined;
  paid: boolean;
}

class Recorder {
  private readonly all = histogram(3);
  private readonly kinds = new Map<Kind, hdr.Histogram>();
  private readonly seconds: Array<{ count: number; paid: number; latency: hdr.Histogram }> = [];
  private readonly bins = new Array<number>(BIN_EDGES_MS.length + 1).fill(0);
  readonly errors: Record<string, number> = {};
  readonly byTarget: Record<string, number> = {};
  readonly errorMessages: Record<string, string[]> = {};
  sent = 0;
  unanswered = 0;
  responses = 0;
  paid = 0;
  lastPaidMs: number | undefined;
  readonly startedAt = performance.now();

  elapsedMs(): number {
    return performance.now() - this.startedAt;
  }

  /**
   * `expectedIntervalUs` is set when the rate is paced: a slow answer then also delayed the
   * requests that connection should have sent meanwhile, and HDR adds those (coordinated omission).
   */
  record(outcome: Outcome, latencyMs: number, expectedIntervalUs: number | undefined, target: string): void {
    const us = Math.max(1, Math.min(MAX_US, Math.round(latencyMs * US_PER_MS)));
    const at = this.elapsedMs();
    this.responses++;
    this.byTarget[target] = (this.byTarget[target] ?? 0) + 1;
    let byKind = this.kinds.get(outcome.kind);
    if (!byKind) this.kinds.set(outcome.kind, (byKind = histogram(3)));
    for (const h of [this.all, byKind]) {
      if (expectedIntervalUs === undefined) h.recordValue(us);
      else h.recordValueWithExpectedInterval(us, expectedIntervalUs);
    }
    const second = Math.floor(at / 1000);
    while (this.seconds.length <= second) this.seconds.push({ count: 0, paid: 0, latency: histogram(2) });
    const sample = this.seconds[second];
    if (sample) {
      sample.count++;
      sample.latency.recordValue(us);
      if (outcome.paid) sample.paid++;
    }
    let bin = BIN_EDGES_MS.findIndex((edge) => latencyMs <= edge);
    if (bin < 0) bin = BIN_EDGES_MS.length;
    this.bins[bin] = (this.bins[bin] ?? 0) + 1;
    if (outcome.paid) {
      this.paid++;
      this.lastPaidMs = at;
    }
    if (outcome.status < 200 || outcome.status >= 300) {
      const key = `${outcome.status} ${outcome.code ?? ''}`.trim();
      this.countError(key);
      const seen = (this.errorMessages[key] ??= []);
      if (outcome.message !== undefined && seen.length < 3 && !seen.includes(outcome.message)) seen.push(outcome.message);
    }
  }

  countError(key: string): void {
    this.errors[key] = (this.errors[key] ?? 0) + 1;
  }

  /** A request that got no answer: timed out, or its connection failed. */
  countUnanswered(key: string): void {
    this.unanswered++;
    this.countError(key);
  }

  result(unsent: number, poolEmptyAtMs: number | undefined): LoadResult {
    const series: SecondSample[] = this.seconds.map((s, second) => ({
      second,
      count: s.count,
      paid: s.paid,
      p50Ms: s.count ? s.latency.getValueAtPercentile(50) / US_PER_MS : 0,
      p99Ms: s.count ? s.latency.getValueAtPercentile(99) / US_PER_MS : 0,
    }));
    const histogramBins: HistogramBin[] = this.bins.map((count, i) => ({ upToMs: BIN_EDGES_MS[i] ?? Infinity, count }));
    return {
      elapsedMs: Math.round(this.elapsedMs()),
      responses: this.responses,
      cutOff: Math.max(0, this.sent - this.responses - this.unanswered),
      paid: this.paid,
      errors: this.errors,
      latency: summarize(this.all),
      byKind: Object.fromEntries(
        [...this.kinds].sort(([a], [b]) => KIND_ORDER.indexOf(a) - KIND_ORDER.indexOf(b)).map(([kind, h]) => [kind, summarize(h)]),
      ),
      series,
      histogram: histogramBins,
      lastPaidMs: this.lastPaidMs === undefined ? undefined : Math.round(this.lastPaidMs),
      unsent,
      poolEmptyAtMs: poolEmptyAtMs === undefined ? undefined : Math.round(poolEmptyAtMs),
      errorMessages: this.errorMessages,
      byTarget: this.byTarget,
    };
  }
}

const ERROR_CODE = /"error"\s*:\s*"([A-Z_]+)"/;
const ERROR_MESSAGE = /"message"\s*:\s*"((?:[^"\\]|\\.){0,300})/;

function outcomeOf(kind: Kind, status: number, body: string): Outcome {
  const ok = status >= 200 && status < 300;
  return {
    kind,
    status,
    code: ok ? undefined : ERROR_CODE.exec(body)?.[1],
    message: ok ? undefined : ERROR_MESSAGE.exec(body)?.[1],
    paid: kind === 'pay' && status === 200 && body.includes('"status":"PAID"'),
  };
}

const JSON_HEADERS = { 'content-type': 'application/json' };

async function run(plan: LoadPlan): Promise<LoadResult> {
  const recorder = new Recorder();
  let last: Outcome = { kind: 'pay', status: 0, code: undefined, message: undefined, paid: false };
  const remember = (kind: Kind) => (status: number, body: string) => {
    last = outcomeOf(kind, status, body);
  };

  let nextOrder = 0;
  let poolEmptyAtMs: number | undefined;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

  /** The next order of the pool, or undefined (and the time noted) once it has run out. */
  const nextPoolOrder = (): string | undefined => {
    const id = plan.orderIds[nextOrder++];
    if (nextOrder >= plan.orderIds.length && poolEmptyAtMs === undefined) poolEmptyAtMs = recorder.elapsedMs();
    return id;
  };
  type ReadContext = { orderId?: string; kind?: Kind };
  const read = (kind: ReadKind) => readPath(kind, plan.reads, plan.userIds, plan.productIds);

  // The pay scenarios send one pay per pre-created order; mix chains create → pay → read → one
  // read query (each in turn), skipping the rest of the chain when the create failed
  // (setupRequest answering null); read-heavy sends pays of pre-created orders and reads.
  let nextRead = 0;
  const requests: autocannon.Request[] =
    plan.scenario === 'mix'
      ? [
          {
            method: 'POST',
            path: '/orders',
            headers: JSON_HEADERS,
            setupRequest: (req) => {
              const first = pick(plan.productIds);
              const second = pick(plan.productIds);
              const items = [{ productId: first, quantity: 1 + Math.floor(Math.random() * 3) }];
              // About a third of the orders hold two products, so multi-item payments are measured too.
              if (second !== first && Math.random() < 1 / 3) items.push({ productId: second, quantity: 1 });
              recorder.sent++;
              return { ...req, body: JSON.stringify({ userId: pick(plan.userIds), items }) };
            },
            onResponse: (status, body, context) => {
              last = outcomeOf('create', status, body);
              (context as ReadContext).orderId = status === 201 ? (JSON.parse(body) as { id: string }).id : undefined;
            },
          },
          {
            method: 'POST',
            setupRequest: (req, context) => {
              const id = (context as ReadContext).orderId;
              if (!id) return null as unknown as autocannon.Request;
              recorder.sent++;
              return { ...req, path: `/orders/${id}/pay` };
            },
            onResponse: remember('pay'),
          },
          {
            method: 'GET',
            setupRequest: (req, context) => {
              recorder.sent++;
              return { ...req, path: `/orders/${(context as ReadContext).orderId}` };
            },
            onResponse: remember('read'),
          },
          {
            method: 'GET',
            // The other read queries in turn (a single order by id is the step before).
            setupRequest: (req, context) => {
              const kind = MIX_READ_KINDS[nextRead++ % MIX_READ_KINDS.length] as ReadKind;
              (context as ReadContext).kind = kind;
              recorder.sent++;
              return { ...req, path: read(kind) };
            },
            onResponse: (status, body, context) => {
              last = outcomeOf((context as ReadContext).kind ?? 'read', status, body);
            },
          },
        ]
      : plan.scenario === 'read-heavy'
        ? [
            {
              method: 'GET',
              setupRequest: (req, context) => {
                // Once the pool is empty the pays give way to reads (the table says so).
                const orderId = Math.random() < READ_HEAVY_PAY_SHARE ? nextPoolOrder() : undefined;
                const kind: Kind = orderId ? 'pay' : (READ_KINDS[Math.floor(Math.random() * READ_KINDS.length)] as ReadKind);
                (context as ReadContext).kind = kind;
                recorder.sent++;
                return orderId ? { ...req, method: 'POST', path: `/orders/${orderId}/pay` } : { ...req, method: 'GET', path: read(kind as ReadKind) };
              },
              onResponse: (status, body, context) => {
                last = outcomeOf((context as ReadContext).kind ?? 'read', status, body);
              },
            },
          ]
        : [
            {
              method: 'POST',
              setupRequest: (req) => {
                const id = nextPoolOrder();
                recorder.sent++;
                // `amount` below keeps every connection within the pool; a miss would show as 404s.
                return { ...req, path: `/orders/${id ?? 'pool-exhausted'}/pay` };
              },
              onResponse: remember('pay'),
            },
          ];

  // mix and read-heavy run for the duration; the pay scenarios until their pool is empty.
  const timed = plan.scenario === 'mix' || plan.scenario === 'read-heavy';
  const ticker = setInterval(() => send({ type: 'tick', elapsedMs: recorder.elapsedMs(), responses: recorder.responses, paid: recorder.paid }), 1000);
  try {
    for (const stage of plan.stages) {
      const remaining = plan.orderIds.length - nextOrder;
      if (!timed && remaining <= 0) break;
      await runStage(stage, plan, requests, timed ? undefined : remaining, recorder, () => last);
    }
  } finally {
    clearInterval(ticker);
  }
  const unsent = timed ? 0 : Math.max(0, plan.orderIds.length - nextOrder);
  return recorder.result(unsent, poolEmptyAtMs);
}

function runStage(
  stage: Stage,
  plan: LoadPlan,
  requests: autocannon.Request[],
  poolLeft: number | undefined,
  recorder: Recorder,
  lastOutcome: () => Outcome,
): Promise<void> {
  // autocannon refuses more connections than requests, and ignores the duration when given an
  // amount, so a pay stage gets both: the amount as a cap, and a timer for the duration.
  const connections = poolLeft === undefined ? stage.connections : Math.min(stage.connections, poolLeft);
  const expectedIntervalUs = stage.rate === undefined ? undefined : Math.round((connections / stage.rate) * 1_000_000);
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const instance = autocannon(
      {
        // Several URLs: autocannon gives connection i to url i mod n, so the connections (and,
        // each sending as fast as it is answered, the requests) are spread as a round-robin
        // balancer would; the pool and `amount` are shared by all of them.
        // (The typings say string; autocannon takes an array too.)
        url: (plan.urls.length === 1 ? plan.urls[0] : [...plan.urls]) as string,
        connections,
        duration: stage.seconds,
        ...(poolLeft === undefined ? {} : { amount: poolLeft }),
        ...(stage.rate === undefined ? {} : { overallRate: stage.rate }),
        timeout: CLIENT_TIMEOUT_S,
        // How often autocannon checks whether to stop; the default second would overshoot short stages.
        sampleInt: 100,
        requests,
      },
      (error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      },
    );
    if (poolLeft !== undefined) timer = setTimeout(() => instance.stop(), stage.seconds * 1000);
    // The client's options carry its target (autocannon's own, untyped).
    instance.on('response', (client: autocannon.Client, _status: number, _bytes: number, responseTime: number) =>
      recorder.record(lastOutcome(), responseTime, expectedIntervalUs, (client as unknown as { opts?: { origin?: string } }).opts?.origin ?? (plan.urls[0] as string)),
    );
    instance.on('reqError', (error: Error) => recorder.countUnanswered(/timed out/.test(error.message) ? 'timeout' : 'connection error'));
  });
}

function send(message: FromLoad): void {
  process.send?.(message);
}

process.on('message', (message: ToLoad) => {
  if (message.type !== 'start') return;
  run(message.plan).then(
    (result) => {
      send({ type: 'done', result });
      process.disconnect?.();
    },
    (error: unknown) => {
      send({ type: 'failed', message: error instanceof Error ? error.stack ?? error.message : String(error) });
      process.disconnect?.();
    },
  );
});
