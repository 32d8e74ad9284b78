// The idempotency plugin over an in-memory store: first answers replayed, concurrent repeats joined, "try again" not kept, the purge scheduled and stopped.

import Fastify, { type FastifyInstance } from 'fastify';
import * as assert from 'uvu/assert';
import { accept, reject, type Result } from '../../actors/shared/result.js';
import { idempotencyPlugin } from '../../src/http/plugins/idempotency.js';
import type { IdempotencyStore, StoredAnswer } from '../../src/http/plugins/idempotency-store.js';
import { suite } from '../helpers/suite.js';
import { until } from '../helpers/until.js';

class MemoryStore implements IdempotencyStore {
  readonly answers = new Map<string, StoredAnswer>();
  purges = 0;
  unavailable = false;

  async find(key: string): Promise<Result<StoredAnswer | undefined>> {
    if (this.unavailable) return reject('DATABASE_UNAVAILABLE', 'the database does not answer; try again');
    return accept(this.answers.get(key));
  }

  async keep(key: string, answer: StoredAnswer): Promise<void> {
    if (!this.answers.has(key)) this.answers.set(key, answer);
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
  runs: number;
  /** Holds every run until it resolves, when set. */
  gate: Promise<void> | undefined;
}

async function appOn(ctx: Ctx, purgeIntervalMs?: number): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(idempotencyPlugin, { store: ctx.store, ...(purgeIntervalMs === undefined ? {} : { purgeIntervalMs }) });
  for (const path of ['/things/:id/poke', '/things/:id/prod']) {
    app.post(path, async (_request, reply) =>
      reply.answerOnce(201, async () => {
        ctx.runs++;
        await ctx.gate;
        return ctx.answers[Math.min(ctx.runs, ctx.answers.length) - 1]!;
      }),
    );
  }
  return app;
}

const post = (app: FastifyInstance, url: string, key?: string) => app.inject({ method: 'POST', url, headers: key === undefined ? {} : { 'idempotency-key': key } });

const it = suite<Ctx>('idempotency plugin');
it.before.each(async (ctx) => {
  ctx.store = new MemoryStore();
  ctx.answers = [accept({ n: 1 }), accept({ n: 2 })];
  ctx.runs = 0;
  ctx.gate = undefined;
  ctx.app = await appOn(ctx);
});
it.after.each(async (ctx) => {
  await ctx.app?.close();
});

it('a repeat of the same method, path and key gets the first answer, and the use case runs once', async (ctx) => {
  const first = await post(ctx.app, '/things/a/poke', 'k1');
  const again = await post(ctx.app, '/things/a/poke', 'k1');
  assert.is(first.statusCode, 201);
  assert.equal(first.json(), { n: 1 });
  assert.is(again.statusCode, 201);
  assert.equal(again.json(), { n: 1 });
  assert.is(again.headers['idempotency-key'], 'k1');
  assert.is(ctx.runs, 1);
});

it('the key is bound to the path: the same key on another path or id runs there', async (ctx) => {
  await post(ctx.app, '/things/a/poke', 'k1');
  assert.equal((await post(ctx.app, '/things/a/prod', 'k1')).json(), { n: 2 });
  assert.is((await post(ctx.app, '/things/b/poke', 'k1')).statusCode, 201);
  assert.is(ctx.runs, 3);
});

it('without a key every request runs', async (ctx) => {
  assert.equal((await post(ctx.app, '/things/a/poke')).json(), { n: 1 });
  assert.equal((await post(ctx.app, '/things/a/poke')).json(), { n: 2 });
  assert.is(ctx.store.answers.size, 0);
});

it('a repeat while the first still runs waits for it and gets its answer', async (ctx) => {
  let open!: () => void;
  ctx.gate = new Promise((resolve) => (open = resolve));
  const first = post(ctx.app, '/things/a/poke', 'k1');
  const again = post(ctx.app, '/things/a/poke', 'k1');
  await until(() => ctx.runs === 1, 'the first request runs');
  open();
  const answers = await Promise.all([first, again]);
  assert.equal(
    answers.map((a) => [a.statusCode, a.json()]),
    [
      [201, { n: 1 }],
      [201, { n: 1 }],
    ],
  );
  assert.is(ctx.runs, 1);
});

it('an answer that says try again is not kept: the repeat runs again', async (ctx) => {
  ctx.answers = [reject('OVERLOADED', 'the journal is full; try again shortly'), reject('MAILBOX_FULL', 'busy'), accept({ n: 3 })];
  const overloaded = await post(ctx.app, '/things/a/poke', 'k1');
  assert.is(overloaded.statusCode, 503);
  assert.is(overloaded.headers['retry-after'], '1');
  assert.is((await post(ctx.app, '/things/a/poke', 'k1')).statusCode, 429);
  assert.equal((await post(ctx.app, '/things/a/poke', 'k1')).json(), { n: 3 });
  assert.is(ctx.runs, 3);
  assert.equal([...ctx.store.answers.values()], [{ statusCode: 201, body: { n: 3 } }]);
});

it('a business rejection is an answer like any other: kept and replayed', async (ctx) => {
  ctx.answers = [reject('INSUFFICIENT_STOCK', 'not enough', 'p1'), accept({ n: 2 })];
  const first = await post(ctx.app, '/things/a/poke', 'k1');
  const again = await post(ctx.app, '/things/a/poke', 'k1');
  assert.is(first.statusCode, 409);
  assert.equal(again.json(), first.json());
  assert.is(ctx.runs, 1);
});

it('an answer in the store is replayed by an app that never saw it (a restart)', async (ctx) => {
  await post(ctx.app, '/things/a/poke', 'k1');
  const restarted = await appOn(ctx);
  try {
    assert.equal((await post(restarted, '/things/a/poke', 'k1')).json(), { n: 1 });
    assert.is(ctx.runs, 1);
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
  assert.is(ctx.runs, 0);
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
