// The engine's outbox around a load (--nats): a stream of the run's own, the lag while loading, the relay's rate, the catch-up.

import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { JsonClient } from './http.js';

export interface OutboxStats {
  /** Events the relay delivered from the start of the load until it had caught up. */
  readonly delivered: number;
  readonly deliveredPerSecDuringLoad: number;
  /** After the load: how long until every committed event was acknowledged, and at what rate. */
  readonly caughtUpAfterMs: number | null;
  readonly deliveredPerSecAfterLoad: number | null;
  readonly maxLagSeconds: number;
  readonly lagAtLoadEndSeconds: number;
}

/** How long the harness waits after the load for the relay to catch up. */
const CATCH_UP_MS = 300_000;
const SAMPLE_MS = 500;

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** A stream and subject prefix for one run, and its removal afterwards. */
export function benchStream(natsUrl: string): { env: Record<string, string>; drop(): Promise<void> } {
  const suffix = Math.random().toString(36).slice(2, 8);
  const stream = `BENCH_${suffix.toUpperCase()}`;
  return {
    env: { NATS_URL: natsUrl, NATS_STREAM: stream, NATS_SUBJECT_PREFIX: `bench_${suffix}` },
    async drop() {
      const nc = await connect({ servers: natsUrl });
      try {
        await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
      } finally {
        await nc.close();
      }
    },
  };
}

async function sample(client: JsonClient): Promise<{ lag: number; delivered: number } | undefined> {
  const answer = await client.send<string>('GET', '/metrics').catch(() => undefined);
  if (!answer || answer.status !== 200 || typeof answer.body !== 'string') return undefined;
  let lag = 0;
  let delivered = 0;
  for (const line of answer.body.split('\n')) {
    const value = Number(line.split(' ').pop());
    if (line.startsWith('orderengine_outbox_lag_seconds{')) lag = Math.max(lag, value);
    else if (line.startsWith('orderengine_outbox_delivered_total{')) delivered += value;
  }
  return { lag, delivered };
}

/** Samples the engine's outbox metrics from `start` until `finish`, which then waits for the relay to catch up. */
export class OutboxWatch {
  private timer: NodeJS.Timeout | undefined;
  private maxLag = 0;
  private first = { at: 0, delivered: 0 };

  constructor(private readonly client: JsonClient) {}

  async start(): Promise<void> {
    this.first = { at: Date.now(), delivered: (await sample(this.client))?.delivered ?? 0 };
    this.timer = setInterval(() => {
      void sample(this.client).then((s) => {
        if (s) this.maxLag = Math.max(this.maxLag, s.lag);
      });
    }, SAMPLE_MS);
  }

  /** Call when the load has stopped; resolves once every sink has caught up, or the wait ran out. */
  async finish(): Promise<OutboxStats> {
    clearInterval(this.timer);
    const loadEnd = Date.now();
    const atEnd = (await sample(this.client)) ?? { lag: 0, delivered: this.first.delivered };
    this.maxLag = Math.max(this.maxLag, atEnd.lag);
    let caughtUpAt: number | undefined;
    while (Date.now() - loadEnd < CATCH_UP_MS) {
      const ready = await this.client.send<{ outbox?: Array<{ caughtUp: boolean }> }>('GET', '/health/ready').catch(() => undefined);
      const sinks = ready?.status === 200 ? (ready.body.outbox ?? []) : [];
      if (sinks.length > 0 && sinks.every((s) => s.caughtUp)) {
        caughtUpAt = Date.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const last = (await sample(this.client)) ?? atEnd;
    const afterLoadMs = caughtUpAt === undefined ? undefined : caughtUpAt - loadEnd;
    return {
      delivered: last.delivered - this.first.delivered,
      deliveredPerSecDuringLoad: round(((atEnd.delivered - this.first.delivered) * 1000) / Math.max(1, loadEnd - this.first.at)),
      caughtUpAfterMs: afterLoadMs ?? null,
      // Under 200 ms of catching up the rate says nothing: report none.
      deliveredPerSecAfterLoad: afterLoadMs !== undefined && afterLoadMs >= 200 ? round(((last.delivered - atEnd.delivered) * 1000) / afterLoadMs) : null,
      maxLagSeconds: round(this.maxLag, 2),
      lagAtLoadEndSeconds: round(atEnd.lag, 2),
    };
  }
}
