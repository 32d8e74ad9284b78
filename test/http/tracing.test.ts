// OpenTelemetry: off (nothing loaded) without an OTLP endpoint; with an exporter, one pay over HTTP gives its request span with route, method and status.

import * as assert from 'uvu/assert';
import { tracing as sdkTracing } from '@opentelemetry/sdk-node';
import { startEngine } from '../../src/engine/start-engine.js';
import { buildApp } from '../../src/http/app.js';
import { Metrics } from '../../src/metrics.js';
import { startTracing } from '../../src/tracing/start-tracing.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { appOptions, call, testConfig } from '../helpers/engine.js';
import { suite } from '../helpers/suite.js';

const it = suite<{ db: TestDatabase }>('tracing');
it.before(async (ctx) => {
  ctx.db = await databaseKinds()[0]!.create();
});
it.after(async (ctx) => {
  await ctx.db?.drop();
});

it('without OTEL_EXPORTER_OTLP_ENDPOINT tracing is off', async () => {
  assert.is(await startTracing({ env: {} }), undefined);
  assert.is(await startTracing({ env: { OTEL_SERVICE_NAME: 'x' } }), undefined);
});

it('one pay over HTTP is traced: a request span with the route template, method and status', async ({ db }) => {
  const exporter = new sdkTracing.InMemorySpanExporter();
  const tracing = await startTracing({ env: {}, exporter });
  assert.ok(tracing);
  const metrics = new Metrics();
  const engine = await startEngine(testConfig(db.url), metrics);
  const app = await buildApp(appOptions(engine, metrics, { tracing: tracing! }));
  try {
    const user = (await call(app, 'POST', '/users', { name: 'traced', points: 100 })).body;
    const product = (await call(app, 'POST', '/products', { name: 'traced-p', price: 10, stock: 5 })).body;
    const order = (await call(app, 'POST', '/orders', { userId: user.id, items: [{ productId: product.id, quantity: 1 }] })).body;
    exporter.reset();
    assert.is((await call(app, 'POST', `/orders/${order.id}/pay`)).status, 200);
  } finally {
    await app.close();
    await engine.close();
  }
  // Read before the shutdown: the in-memory exporter forgets its spans when it shuts down.
  const spans = exporter.getFinishedSpans();
  await tracing!.shutdown();
  const request = spans.find((s) => s.attributes['http.route'] === '/orders/:id/pay');
  assert.ok(request, spans.map((s) => s.name).join(', '));
  assert.is(request!.attributes['http.request.method'] ?? request!.attributes['http.method'], 'POST');
  assert.is(request!.attributes['http.response.status_code'] ?? request!.attributes['http.status_code'], 200);
  const traceId = request!.spanContext().traceId;
  assert.ok(spans.filter((s) => s.spanContext().traceId === traceId).length > 1, 'the handler and hooks are spans of the same trace');
});

it.run();
