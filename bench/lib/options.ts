// The command line of `npm run bench`: parsing, defaults, validation, and load profiles as stages.

import { parseArgs } from 'node:util';

export const SCENARIOS = ['hot-product', 'flash-sale', 'mix', 'uniform-pay', 'read-heavy'] as const;
export const SIDES = ['engine', 'locks', 'sql'] as const;
export const PROFILES = ['hold', 'load', 'soak', 'stress', 'spike'] as const;

export type Scenario = (typeof SCENARIOS)[number];
export type Side = (typeof SIDES)[number];
export type Profile = (typeof PROFILES)[number];
export type DbKind = 'pglite' | 'postgres' | 'mysql';

/** One step of a profile: how long, and how many connections (or requests per second with --rate). */
export interface Stage {
  readonly seconds: number;
  readonly connections: number;
  readonly rate: number | undefined;
}

export interface Options {
  readonly scenario: Scenario;
  /** `pglite`, or a server URL whose database is only used to create and drop the bench databases. */
  readonly db: string;
  readonly dbKind: DbKind;
  readonly durationS: number;
  readonly connections: number;
  readonly rate: number | undefined;
  readonly profile: Profile;
  readonly stages: readonly Stage[];
  readonly sides: readonly Side[];
  readonly users: number;
  readonly products: number;
  readonly stock: number;
  /** Orders created before the load in the pay scenarios; undefined: derived from the scenario. */
  readonly orders: number | undefined;
  /** Paid orders seeded for the read queries of mix and read-heavy. */
  readonly readOrders: number;
  readonly json: string | undefined;
  readonly html: string;
  readonly url: string | undefined;
  /** NATS with JetStream for the engine's outbox (a stream of the run's own); undefined: events go to the log. */
  readonly nats: string | undefined;
  /** Engine processes: 1 is the engine alone (no cluster); 2 or more run as cluster members on a private nats-server. */
  readonly processes: number;
  /** The engine exports its traces over OTLP to a receiver of the harness's own, which answers 200 and counts the spans. */
  readonly tracing: boolean;
}

export const USAGE = `usage: npm run bench -- [options]
  --scenario hot-product|flash-sale|mix|uniform-pay|read-heavy   (default hot-product)
  --db pglite|postgres://…|mysql://…   server to create bench databases on (default pglite)
  --duration S          seconds of load (default 10)
  --connections N       concurrent connections, the peak of a profile (default 256)
  --rate R              requests per second over all connections (paced; default: as fast as answered)
  --profile hold|load|soak|stress|spike   stages over the duration (default hold)
  --sides engine,locks,sql   which servers to measure, in turn (default all; PGlite: engine only)
  --users N             buyers to seed (default 10000)
  --products N          products to seed (default 1000)
  --stock N             stock of the flash-sale product (default 5000)
  --orders N            orders to pre-create for the pay scenarios (default: from duration and rate)
  --read-orders N       paid orders to seed for the read queries of mix and read-heavy (default 5000)
  --json FILE           write the results as JSON
  --html FILE           the HTML report (default bench/out/report-<scenario>.html)
  --url URL             load an already-running engine instead of starting one (engine side only);
                        --db then names that engine's own database, read back for the invariants
  --nats URL            the engine publishes its outbox to this NATS JetStream (a stream of its own,
                        deleted afterwards) and the run reports the relay's rate and the outbox lag
  --processes N         engine processes (default 1: one process, no cluster); 2 or more run as
                        cluster members on one database and a private nats-server, the load spread
                        over them evenly; reports CPU per payment summed over them and the share of
                        actor messages that crossed processes (PostgreSQL or MySQL, engine side)
  --tracing             the engine traces every request (OTEL_EXPORTER_OTLP_ENDPOINT set, the SDK's
                        defaults otherwise) and exports to an OTLP receiver in the harness that
                        answers 200 and counts the spans; reports what arrived and how many of the
                        payments' traces reached it (one engine process, engine side)`;

/**
 * Each profile as fractions of the duration and of the connections (or rate). `load` ramps up,
 * holds and ramps down; `soak` holds long after a short warm-up; `stress` climbs past the
 * target to find the knee; `spike` jumps from a trickle to the full target and back.
 */
const PROFILE_SHAPES: Record<Profile, ReadonlyArray<readonly [time: number, level: number]>> = {
  hold: [[1, 1]],
  load: [
    [0.1, 0.25],
    [0.1, 0.5],
    [0.1, 0.75],
    [0.6, 1],
    [0.1, 0.5],
  ],
  soak: [
    [0.05, 0.5],
    [0.95, 1],
  ],
  stress: [
    [0.2, 0.5],
    [0.2, 1],
    [0.2, 1.5],
    [0.2, 2],
    [0.2, 1],
  ],
  spike: [
    [0.4, 0.1],
    [0.2, 1],
    [0.4, 0.1],
  ],
};

export function stagesOf(profile: Profile, durationS: number, connections: number, rate: number | undefined): Stage[] {
  return PROFILE_SHAPES[profile].map(([time, level]) => ({
    seconds: durationS * time,
    // With --rate the rate follows the profile and the connections stay, so that a slow server
    // does not also lose the connections it would need to keep up.
    connections: rate === undefined ? Math.max(1, Math.round(connections * level)) : connections,
    rate: rate === undefined ? undefined : Math.max(1, Math.round(rate * level)),
  }));
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got "${value}"`);
  return n;
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`--${name} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

export function dbKindOf(db: string): DbKind {
  if (db === 'pglite') return 'pglite';
  if (/^postgres(ql)?:\/\//.test(db)) return 'postgres';
  if (/^(mysql|mariadb):\/\//.test(db)) return 'mysql';
  throw new Error(`--db must be pglite, postgres://… or mysql://…, got "${db}"`);
}

export function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      scenario: { type: 'string', default: 'hot-product' },
      db: { type: 'string', default: 'pglite' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      rate: { type: 'string' },
      profile: { type: 'string', default: 'hold' },
      sides: { type: 'string' },
      users: { type: 'string' },
      products: { type: 'string' },
      stock: { type: 'string' },
      orders: { type: 'string' },
      'read-orders': { type: 'string' },
      json: { type: 'string' },
      html: { type: 'string' },
      url: { type: 'string' },
      nats: { type: 'string' },
      processes: { type: 'string' },
      tracing: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const scenario = oneOf('scenario', values.scenario, SCENARIOS);
  const dbKind = dbKindOf(values.db);
  const profile = oneOf('profile', values.profile, PROFILES);
  const durationS = positive('duration', values.duration, 10);
  const connections = Math.round(positive('connections', values.connections, 256));
  const rate = values.rate === undefined ? undefined : Math.round(positive('rate', values.rate, 1));
  const url = values.url;
  if (values.nats !== undefined && !/^(nats|tls):\/\//.test(values.nats)) throw new Error(`--nats must be nats://host:port, got "${values.nats}"`);
  if (values.nats !== undefined && url !== undefined) throw new Error('--nats configures the engine the harness starts: it does not go with --url');

  const processesText = values.processes ?? '1';
  const processes = Number(processesText);
  if (!/^\d+$/.test(processesText) || processes < 1 || processes > 16) throw new Error(`--processes must be a whole number from 1 to 16, got "${processesText}"`);
  if (processes > 1) {
    if (url !== undefined) throw new Error('--processes starts engine processes of its own: it does not go with --url');
    if (dbKind === 'pglite') throw new Error('--processes 2 or more needs a database server (PostgreSQL or MySQL): PGlite is one process by nature');
    // The cluster's members are started without an outbox stream of the run's own.
    if (values.nats !== undefined) throw new Error('--nats (the outbox) does not go with --processes 2 or more: the harness does not give a cluster an outbox stream yet');
    if (values.tracing) throw new Error('--tracing does not go with --processes 2 or more: the harness starts cluster members without a trace receiver');
  }
  if (values.tracing && url !== undefined) throw new Error('--tracing configures the engine the harness starts: it does not go with --url');

  const requested = values.sides === undefined ? undefined : values.sides.split(',').map((s) => oneOf('sides', s.trim(), SIDES));
  let sides: Side[];
  if (url !== undefined || dbKind === 'pglite') {
    // A running engine cannot be swapped for a baseline, and the baselines need a database server.
    if (requested?.some((s) => s !== 'engine')) throw new Error(`--sides ${requested.join(',')}: only the engine side runs with ${url ? '--url' : 'PGlite'}`);
    sides = ['engine'];
  } else {
    sides = requested ?? [...SIDES];
  }

  return {
    scenario,
    db: values.db,
    dbKind,
    durationS,
    connections,
    rate,
    profile,
    stages: stagesOf(profile, durationS, connections, rate),
    sides,
    users: Math.round(positive('users', values.users, 10_000)),
    products: Math.round(positive('products', values.products, 1000)),
    stock: Math.round(positive('stock', values.stock, 5000)),
    orders: values.orders === undefined ? undefined : Math.round(positive('orders', values.orders, 1)),
    readOrders: Math.round(positive('read-orders', values['read-orders'], 5000)),
    json: values.json,
    html: values.html ?? `bench/out/report-${scenario}.html`,
    url,
    nats: values.nats,
    processes,
    tracing: values.tracing,
  };
}
