// The idempotency plugin over an in-memory store: first answers replayed and marked, the key bound to its request, a repeat while the first runs refused, "try again" not kept, a left claim taken over.

import Fastify, { type FastifyInstance } from 'fastify';
import * as assert from 'uvu/assert';
import { accept, reject, type Result } from '../../actors/shared/result.js';
import { idempotencyPlugin, type KeyedRun } from '../../src/http/plugins/idempotency.js';
import type { Claim, IdempotencyStore, StoredAnswer } from '../../src/http/plugins/idempotency-store.js';
import { suite } from '../helpers/suite.js';
import { until } from '../helpers/until.js';

interface Row {
  fingerprint: string;
  resourceId: string;
  token: string | undefined;
  lapsed: boolean;
  answer?: StoredAnswer;
}

/** The SQL store's rules in memory; `lapseAtOnce` makes every claim lapse as soon as it is taken (a crashed first run). */
class MemoryStore implements IdempotencyStore {
  readonly rows = new Map<string, Row>();
  purges = 0;
  unavailable = false;
  lapseAtOnce = false;
  dropAnswers = false;
  private next = 0;

  async claim(key: string, fingerprint: string): Promise<Result<Claim>> {
    if (this.unavailable) return reject('DATABASE_UNAVAILABLE', 'the database does not answer; try again');
    const token = `t${++this.next}`;
    const row = this.rows.get(key);
    if (!row) {
      this.rows.set(key, { fingerprint, resourceId: `id-${key}`, token, lapsed: this.lapseAtOnce });
      return accept({ state: 'claimed', token, resourceId: `id-${key}`, takeover: false });
    }
    if (row.answer) return accept({ state: 'answered', fingerprint: row.fingerprint, answer: row.answer });
    if (row.fingerprint !== fingerprint || !row.lapsed) return accept({ state: 'running', fingerprint: row.fingerprint });
    row.token = token;
    row.lapsed = this.lapseAtOnce;
    return accept({ state: 'claimed', token, resourceId: row.resourceId, takeover: true });
  }

  async complete(key: string, token: string, answer: StoredAnswer): Promise<boolean> {
    const row = this.rows.get(key);
    if (this.dropAnswers || row?.token !== token) return false;
    row.answer = answer;
    row.token = undefined;
    return true;
  }

  async release(key: string, token: string): Promise<void> {
    const row = this.rows.get(key);
    if (row?.token === token) row.lapsed = true;
  }

  async purge(): Promise<void> {
    this.purges++;
  }
}

interface Ctx {
  store: MemoryStore;
  app: FastifyInstance;
  /** What each run of the use case answers, in turn; the last one from then on. */
  answers: Array<Result<{ n: number }>>;
  runs: KeyedRun[];
  /** Holds every run until it resolves, when set. */
  gate: Promise<void> | undefined;
}

async function appOn(ctx: Ctx, purgeIntervalMs?: number): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(idempotencyPlugin, { store: ctx.store, ...(purgeIntervalMs === undefined ? {} : { purgeIntervalMs }) });
  for (const path of ['/things/:id/poke', '/things/:id/prod']) {
    app.post(path, async (_request, reply) =>
      reply.answerOnce({ okStatus: 201, location: (v: { n: number }) => `/things/${v.n}` }, async (run) => {
        ctx.runs.push(run);
        await ctx.gate;
        return ctx.answers[Math.min(ctx.runs.length, ctx.answers.length) - 1]!;
      }),
    );
  }
  return app;
}

const post = (app: FastifyInstance, url: string, key?: string, body: unknown = { a: 1, b: [1, 2] }) =>
  app.inject({ method: 'POST', url, headers: key === undefined ? {} : { 'idempotency-key': key }, payload: body as Record<string, unknown> });

const it = suite<Ctx>('idempotency plugin');
it.before.each(async (ctx) => {
  ctx.store = new MemoryStore();
  ctx.answers = [accept({ n: 1 }), accept({ n: 2 })];
  ctx.runs = [];
  ctx.gate = undefined;
  ctx.app = await appOn(ctx);
});
it.after.each(async (ctx) => {
  await ctx.app?.close();
});

it('a repeat of the same request and key gets the first answer with its Location, marked Idempotent-Replayed, and the use case runs once', async (ctx) => {
  const first = await post(ctx.app, '/things/a/poke', 'k1');
  const again = await post(ctx.app, '/things/a/poke', 'k1', { b: [1, 2], a: 1 });
  assert.is(first.statusCode, 201);
  assert.equal(first.json(), { n: 1 });
  assert.is(first.headers['idempotent-replayed'], undefined);
  assert.is(first.headers.location, '/things/1');
  assert.is(again.statusCode, 201);
  assert.equal(again.json(), { n: 1 });
  assert.is(again.headers['idempotent-replayed'], 'true');
  assert.is(again.headers.location, '/things/1');
  assert.is(again.headers['idempotency-key'], 'k1');
  assert.is(ctx.runs.length, 1);
});

it('the key is bound to method, path and body: reused for another request it answers 422 IDEMPOTENCY_KEY_REUSED and runs nothing', async (ctx) => {
  await post(ctx.app, '/things/a/poke', 'k1', { amount: 100 });
  for (const [url, body] of [
    ['/things/a/poke', { amount: 500 }],
    ['/things/a/prod', { amount: 100 }],
    ['/things/b/poke', { amount: 100 }],
  ] as const) {
    const answer = await post(ctx.app, url, 'k1', body);
    assert.is(answer.statusCode, 422, url);
    assert.is(answer.json().error, 'IDEMPOTENCY_KEY_REUSED');
  }
  assert.is(ctx.runs.length, 1);
});

it('without a key every request runs, each with a fresh id that stays the same however often it is read', async (ctx) => {
  assert.equal((await post(ctx.app, '/things/a/poke')).json(), { n: 1 });
  assert.equal((await post(ctx.app, '/things/a/poke')).json(), { n: 2 });
  assert.is(ctx.store.rows.size, 0);
  assert.is.not(ctx.runs[0]!.id, ctx.runs[1]!.id);
  assert.is(ctx.runs[0]!.id, ctx.runs[0]!.id);
  assert.is(ctx.runs[0]!.key, undefined);
});

it('a repeat while the first still runs answers 409 IDEMPOTENCY_KEY_IN_PROGRESS with Retry-After, and the first gets its answer', async (ctx) => {
  let open!: () => void;
  ctx.gate = new Promise((resolve) => (open = resolve));
  const first = post(ctx.app, '/things/a/poke', 'k1');
  await until(() => ctx.runs.length === 1, 'the first request runs');
  const again = await post(ctx.app, '/things/a/poke', 'k1');
  assert.is(again.statusCode, 409);
  assert.is(again.json().error, 'IDEMPOTENCY_KEY_IN_PROGRESS');
  assert.is(again.headers['retry-after'], '1');
  const other = await post(ctx.app, '/things/a/poke', 'k1', { other: true });
  assert.is(other.statusCode, 422);
  open();
  assert.equal((await first).json(), { n: 1 });
  assert.is(ctx.runs.length, 1);
});

it('a refusal before anything was done (overload) frees the key: the repeat runs as a new request', async (ctx) => {
  ctx.answers = [reject('OVERLOADED', 'the journal is full; try again shortly'), reject('MAILBOX_FULL', 'busy'), accept({ n: 3 })];
  const overloaded = await post(ctx.app, '/things/a/poke', 'k1');
  assert.is(overloaded.statusCode, 503);
  assert.is(overloaded.headers['retry-after'], '1');
  assert.is((await post(ctx.app, '/things/a/poke', 'k1')).statusCode, 429);
  assert.equal((await post(ctx.app, '/things/a/poke', 'k1')).json(), { n: 3 });
  assert.is(ctx.runs.length, 3);
  assert.equal(ctx.store.rows.get('k1')?.answer, { statusCode: 201, body: { n: 3 }, headers: { location: '/things/3' } });
});

it('a timeout, which may still commit, keeps the key claimed: repeats answer 409 until the claim lapses, then one takes it over', async (ctx) => {
  ctx.answers = [reject('TIMEOUT', 'no answer in time'), accept({ n: 2 })];
  assert.is((await post(ctx.app, '/things/a/poke', 'k1')).statusCode, 503);
  assert.is((await post(ctx.app, '/things/a/poke', 'k1')).json().error, 'IDEMPOTENCY_KEY_IN_PROGRESS');
  ctx.store.rows.get('k1')!.lapsed = true;
  assert.equal((await post(ctx.app, '/things/a/poke', 'k1')).json(), { n: 2 });
  assert.equal(
    ctx.runs.map((r) => [r.takeover, r.id]),
    [
      [false, 'id-k1'],
      [true, 'id-k1'],
    ],
  );
});

it('a claim left unanswered (its process stopped after the commit) is taken over with the same id and told so', async (ctx) => {
  ctx.store.lapseAtOnce = true;
  ctx.store.dropAnswers = true;
  await post(ctx.app, '/things/a/poke', 'k1');
  ctx.store.dropAnswers = false;
  await post(ctx.app, '/things/a/poke', 'k1');
  assert.equal(
    ctx.runs.map((r) => [r.key, r.id, r.takeover]),
    [
      ['k1', 'id-k1', false],
      ['k1', 'id-k1', true],
    ],
  );
});

it('a business rejection is an answer like any other: kept and replayed', async (ctx) => {
  ctx.answers = [reject('INSUFFICIENT_STOCK', 'not enough', 'p1'), accept({ n: 2 })];
  const first = await post(ctx.app, '/things/a/poke', 'k1');
  const again = await post(ctx.app, '/things/a/poke', 'k1');
  assert.is(first.statusCode, 409);
  assert.equal(again.json(), first.json());
  assert.is(again.headers['idempotent-replayed'], 'true');
  assert.is(ctx.runs.length, 1);
});

it('an answer in the store is replayed by an app that never saw it (another process, a restart)', async (ctx) => {
  await post(ctx.app, '/things/a/poke', 'k1');
  const restarted = await appOn(ctx);
  try {
    const again = await post(restarted, '/things/a/poke', 'k1');
    assert.equal(again.json(), { n: 1 });
    assert.is(again.headers['idempotent-replayed'], 'true');
    assert.is(ctx.runs.length, 1);
  } finally {
    await restarted.close();
  }
});

it('when the store cannot say whether the key was answered: 503 DATABASE_UNAVAILABLE, and the use case does not run', async (ctx) => {
  ctx.store.unavailable = true;
  const answer = await post(ctx.app, '/things/a/poke', 'k1');
  assert.is(answer.statusCode, 503);
  assert.is(answer.json().error, 'DATABASE_UNAVAILABLE');
  assert.is(answer.headers['retry-after'], '1');
  assert.is(ctx.runs.length, 0);
  ctx.store.unavailable = false;
  assert.equal((await post(ctx.app, '/things/a/poke', 'k1')).json(), { n: 1 });
});

it('the store is purged on the interval, and no longer once the app is closed', async (ctx) => {
  const app = await appOn(ctx, 5);
  await app.ready();
  await until(() => ctx.store.purges >= 2, 'the store is purged twice');
  await app.close();
  const purges = ctx.store.purges;
  // Nothing to wait for here: twenty intervals pass, and not one purge may come in them.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.is(ctx.store.purges, purges);
});

it.run();
