// examples/consumer.ts reads what the engine published, and its durable consumer resumes where it stopped.

import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { call, startApp, type TestApp } from '../helpers/engine.js';
import { deleteStream, sharedNatsUrl, uniqueStream } from '../helpers/nats.js';
import { until } from '../helpers/until.js';

const root = resolve(import.meta.dirname, '../..');

/** Runs the example until it has printed `max` events; answers the events it printed. */
function consume(env: Record<string, string>, max: number): Promise<any[]> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/consumer.ts'], {
      cwd: root,
      env: { ...process.env, ...env, MAX: String(max) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return fail(new Error(`the example exited with ${code}: ${err}`));
      done(out.split('\n').filter(Boolean).map((l) => JSON.parse(l)));
    });
  });
}

const natsUrl = sharedNatsUrl ?? 'nats://127.0.0.1:4222';
{
  const it = suite<{ db: TestDatabase; t: TestApp; stream: ReturnType<typeof uniqueStream> }>('examples/consumer.ts', { needs: ['nats'] });
  it.before(async (ctx) => {
    ctx.db = await databaseKinds()[0]!.create();
    ctx.stream = uniqueStream('example');
    ctx.t = await startApp(ctx.db.url, { NATS_URL: natsUrl, ...ctx.stream.env });
  });
  it.after(async (ctx) => {
    await ctx.t?.close();
    await deleteStream(natsUrl, ctx.stream.stream);
    await ctx.db?.drop();
  });

  it('prints the engine’s events, then resumes after the last one it acknowledged', async ({ t, stream }) => {
    const user = (await call(t.app, 'POST', '/users', { name: 'u', points: 1000 })).body;
    const product = (await call(t.app, 'POST', '/products', { name: 'p', price: 10, stock: 10 })).body;
    const order = async () => (await call(t.app, 'POST', '/orders', { userId: user.id, items: [{ productId: product.id, quantity: 1 }] })).body.id as string;
    const first = await order();
    assert.is((await call(t.app, 'POST', `/orders/${first}/pay`)).status, 200);
    await until(() => t.engine.outboxStatus()[0]?.caughtUp === true, 'published');

    const env = { NATS_URL: natsUrl, NATS_STREAM: stream.stream, CONSUMER: 'example-test', FILTER: `${stream.prefix}.>` };
    const printed = await consume(env, 3);
    assert.equal(printed.map((e) => e.type), ['StockReserved', 'PointsDebited', 'OrderPaid']);
    for (const e of printed) {
      assert.is(e.orderId, first);
      assert.is(e.subject, `${stream.prefix}.${e.type}`);
      assert.type(e.id, 'string');
    }
    assert.equal(printed.find((e) => e.type === 'OrderPaid').data.status, 'PAID');

    const second = await order();
    assert.is((await call(t.app, 'POST', `/orders/${second}/pay`)).status, 200);
    await until(() => t.engine.outboxStatus()[0]?.caughtUp === true, 'published');
    const resumed = await consume(env, 3);
    assert.equal(resumed.map((e) => e.orderId), [second, second, second], 'only what it had not acknowledged');
  });

  it.run();
}
