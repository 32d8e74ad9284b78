// OpenTelemetry: off (nothing loaded) without an OTLP endpoint; with an exporter, one pay over HTTP is one trace from the request through every saga step, the journal commit and the outbox publish to the sink.

import * as assert from 'uvu/assert';
import { tracing as sdkTracing } from '@opentelemetry/sdk-node';
import { startEngine } from '../../src/engine/start-engine.js';
import { buildApp } from '../../src/http/app.js';
import { Metrics } from '../../src/metrics.js';
import { startTracing, type Tracing } from '../../src/tracing/start-tracing.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { appOptions, call, testConfig } from '../helpers/engine.js';
import { deleteStream, readStream, sharedNatsUrl, uniqueStream } from '../helpers/nats.js';
import { suite } from '../helpers/suite.js';
import { until } from '../helpers/until.js';
import { webhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

type Span = sdkTracing.ReadableSpan;

const it = suite<{ db: TestDatabase; exporter: sdkTracing.InMemorySpanExporter; tracing: Tracing; receiver: WebhookReceiver }>('tracing');
it.before(async (ctx) => {
  ctx.db = await databaseKinds()[0]!.create();
  ctx.exporter = new sdkTracing.InMemorySpanExporter();
  ctx.tracing = (await startTracing({ env: {}, exporter: ctx.exporter }))!;
  ctx.receiver = await webhookReceiver();
});
it.after(async (ctx) => {
  await ctx.tracing?.shutdown();
  await ctx.receiver?.close();
  await ctx.db?.drop();
});

const idOf = (span: Span) => span.spanContext().spanId;
const parentOf = (span: Span) => span.parentSpanContext?.spanId;
const traceparentOf = (span: Span) => `00-${span.spanContext().traceId}-${idOf(span)}-01`;

it('without OTEL_EXPORTER_OTLP_ENDPOINT tracing is off', async () => {
  assert.is(await startTracing({ env: {} }), undefined);
  assert.is(await startTracing({ env: { OTEL_SERVICE_NAME: 'x' } }), undefined);
});

it('one pay is one trace: the request, each saga step at its actor, the journal commit and the outbox publish, whose context reaches the sink', async ({ db, exporter, tracing, receiver }) => {
  const stream = uniqueStream('traced');
  const metrics = new Metrics();
  // The webhook always; NATS as well where the shared server runs, so both sinks' headers are checked.
  const engine = await startEngine(testConfig(db.url, { DATA_PLATFORM_URL: receiver.url, ...(sharedNatsUrl ? { NATS_URL: sharedNatsUrl, ...stream.env } : {}) }), metrics, { spans: tracing.spans });
  const app = await buildApp(appOptions(engine, metrics, { tracing }));
  let order: { id: string };
  let user: { id: string };
  let products: Array<{ id: string }>;
  try {
    user = (await call(app, 'POST', '/users', { name: 'traced', points: 100 })).body;
    products = [(await call(app, 'POST', '/products', { name: 'traced-p', price: 10, stock: 5 })).body, (await call(app, 'POST', '/products', { name: 'traced-q', price: 20, stock: 5 })).body];
    order = (
      await call(app, 'POST', '/orders', {
        userId: user.id,
        items: products.map((p) => ({ productId: p.id, quantity: 1 })),
      })
    ).body;
    exporter.reset();
    assert.is((await call(app, 'POST', `/orders/${order.id}/pay`)).status, 200);
    const published = (type: string) => exporter.getFinishedSpans().some((s) => s.name === `outbox publish ${type}` && s.attributes['orderengine.outbox.sink'] === 'webhook');
    await until(() => published('OrderPaid') && published('PointsDebited'), 'the webhook publishes are traced');
    if (sharedNatsUrl) await until(() => engine.outboxStatus().every((s) => s.caughtUp), 'NATS has every event');
  } finally {
    await app.close();
    await engine.close();
  }
  const spans = exporter.getFinishedSpans();
  const names = () => spans.map((s) => `${s.name} <- ${parentOf(s) ?? '-'} (${idOf(s)})`).join('\n');

  const request = spans.find((s) => s.attributes['http.route'] === '/orders/:id/pay');
  assert.ok(request, names());
  assert.is(request!.attributes['http.request.method'] ?? request!.attributes['http.method'], 'POST');
  assert.is(request!.attributes['http.response.status_code'] ?? request!.attributes['http.status_code'], 200);
  const traceId = request!.spanContext().traceId;
  const inTrace = spans.filter((s) => s.spanContext().traceId === traceId);
  const byId = new Map(inTrace.map((s) => [idOf(s), s]));
  const one = (name: string, where: (s: Span) => boolean = () => true): Span => {
    const found = inTrace.filter((s) => s.name === name && where(s));
    assert.is(found.length, 1, `one ${name} in the pay's trace:\n${names()}`);
    return found[0]!;
  };
  const at = (kind: string, id: string) => (s: Span) => s.attributes['orderengine.actor.kind'] === kind && s.attributes['orderengine.actor.id'] === id;
  const underRequest = (span: Span): boolean => {
    for (let s: Span | undefined = span; s; s = byId.get(parentOf(s) ?? '')) if (s === request) return true;
    return false;
  };

  // Each saga step at its actor, each the child of the message that caused it.
  const pay = one('order PayOrder', at('order', order!.id));
  assert.ok(underRequest(pay), `PayOrder under the request span:\n${names()}`);
  assert.is.not(pay, request);
  const reserves = products!.map((p) => one('product ReserveStock', at('product', p.id)));
  for (const reserve of reserves) assert.is(parentOf(reserve), idOf(pay), 'each ReserveStock is sent by PayOrder');
  const answers = inTrace.filter((s) => s.name === 'order StepReplied' && at('order', order!.id)(s));
  assert.is(answers.length, 3, `two reservations and the debit answered at the order:\n${names()}`);
  const debit = one('user DebitPoints', at('user', user!.id));
  const debitSentBy = byId.get(parentOf(debit)!);
  assert.ok(debitSentBy && answers.includes(debitSentBy), 'DebitPoints is sent by the answer of the last reservation');
  assert.ok(reserves.map(idOf).includes(parentOf(debitSentBy!)!), 'that answer is a child of a ReserveStock');
  const paid = answers.find((s) => parentOf(s) === idOf(debit));
  assert.ok(paid, 'the debit is answered at the order, which pays it');

  // The commit that made them durable: in the trace, under a step that appended.
  const commits = inTrace.filter((s) => s.name === 'journal commit');
  assert.ok(commits.length >= 1, names());
  const steps = [pay, ...reserves, ...answers, debit];
  for (const commit of commits) {
    assert.ok(steps.some((s) => idOf(s) === parentOf(commit)), 'a commit span goes under the latest append of the trace in its batch');
    assert.ok((commit.attributes['orderengine.batch.events'] as number) >= 1);
  }
  assert.ok(
    commits.some((c) => parentOf(c) === idOf(paid!)),
    'the batch holding OrderPaid has a commit span under the answer that paid',
  );

  // The outbox publish, under the step whose events it publishes, its context sent to the sink.
  const publish = (type: string, sink: string) => one(`outbox publish ${type}`, (s) => s.attributes['orderengine.outbox.sink'] === sink);
  const sinks = sharedNatsUrl ? ['webhook', 'nats'] : ['webhook'];
  for (const sink of sinks) {
    assert.is(parentOf(publish('OrderPaid', sink)), idOf(paid!));
    assert.is(parentOf(publish('PointsDebited', sink)), idOf(debit));
    for (const reserve of reserves) assert.ok(inTrace.some((s) => s.name === 'outbox publish StockReserved' && s.attributes['orderengine.outbox.sink'] === sink && parentOf(s) === idOf(reserve)));
  }
  const call_ = receiver.calls.find((c) => c.body?.type === 'OrderPaid' && c.body?.orderId === order!.id);
  assert.is(call_?.traceparent, traceparentOf(publish('OrderPaid', 'webhook')), 'the webhook call carries the publish span as traceparent');
  if (sharedNatsUrl) {
    const messages = await readStream(sharedNatsUrl, stream.stream);
    await deleteStream(sharedNatsUrl, stream.stream);
    const message = messages.find((m) => m.body.type === 'OrderPaid' && m.body.orderId === order!.id);
    assert.is(message?.traceparent, traceparentOf(publish('OrderPaid', 'nats')), 'the NATS message carries the publish span as traceparent');
  }
});

it.run();
