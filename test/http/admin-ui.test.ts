// The admin page at /admin/ui: its files and headers, and the page driven in real Chromium against a listening engine (ADMIN_UI_SCREENSHOTS=1 also writes the README's screenshots).

import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import * as assert from 'uvu/assert';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { call, startApp, type TestApp } from '../helpers/engine.js';
import { chromiumBinary } from '../helpers/matrix.js';
import { suite } from '../helpers/suite.js';
import { until } from '../helpers/until.js';
import { webhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const [pglite] = databaseKinds();
const screenshots = process.env.ADMIN_UI_SCREENSHOTS === '1';
const docs = new URL('../../docs/', import.meta.url);

const files = suite<{ db: TestDatabase; t: TestApp }>('admin page files');
files.before(async (ctx) => {
  ctx.db = await pglite!.create();
  ctx.t = await startApp(ctx.db.url);
});
files.after(async (ctx) => {
  await ctx.t?.close().catch(() => undefined);
  await ctx.db?.drop();
});

files('the page and its files are served without a token, under a strict Content-Security-Policy', async ({ t }) => {
  for (const url of ['/admin/ui', '/admin/ui/app.js', '/admin/ui/api.js', '/admin/ui/app.css']) {
    const response = await t.app.inject({ method: 'GET', url });
    assert.is(response.statusCode, 200, url);
    const csp = String(response.headers['content-security-policy']);
    assert.ok(csp.includes("default-src 'self'") && csp.includes("script-src 'self'") && !csp.includes('unsafe-inline'), csp);
    assert.ok(csp.includes("frame-ancestors 'none'"));
    assert.is(response.headers['x-content-type-options'], 'nosniff');
  }
  const page = await t.app.inject({ method: 'GET', url: '/admin/ui' });
  assert.match(String(page.headers['content-type']), /^text\/html/);
  // No inline script: every script is a file of this origin.
  assert.not.match(page.body, /<script(?![^>]*\bsrc="\/admin\/ui\/)/);
  assert.not.match(page.body, /https?:\/\//, 'nothing from another origin');
  assert.match(String((await t.app.inject({ method: 'GET', url: '/admin/ui/app.js' })).headers['content-type']), /^text\/javascript/);
});

files('/admin leads to the page; a file the page is not made of is 404', async ({ t }) => {
  const admin = await t.app.inject({ method: 'GET', url: '/admin' });
  assert.is(admin.statusCode, 302);
  assert.is(admin.headers.location, '/admin/ui');
  for (const url of ['/admin/ui/nope.js', '/admin/ui/..%2F..%2Fapp.ts', '/admin/ui/index.html']) {
    const missing = await call(t.app, 'GET', url);
    assert.is(missing.status, 404, url);
    assert.is(missing.body.error, 'ROUTE_NOT_FOUND');
  }
});

files.run();

interface BrowserContextData {
  db: TestDatabase;
  t: TestApp;
  receiver: WebhookReceiver;
  base: string;
  profile: string;
  browser: BrowserContext;
  page: Page;
  user: string;
  order: string;
  /** Script errors and Content-Security-Policy violations the page reported. */
  problems: string[];
}

const it = suite<BrowserContextData>('admin page in Chromium', { needs: ['chromium'] });

it.before(async (ctx) => {
  ctx.db = await pglite!.create();
  // Every delivery fails at first, so that the payment's events become dead letters at their first attempt.
  ctx.receiver = await webhookReceiver(() => 500);
  ctx.t = await startApp(ctx.db.url, { DATA_PLATFORM_URL: ctx.receiver.url, OUTBOX_MAX_ATTEMPTS: '1', OUTBOX_BACKOFF_MS: '5', OUTBOX_TIMEOUT_MS: '1000' });
  await ctx.t.app.listen({ host: '127.0.0.1', port: 0 });
  ctx.base = `http://127.0.0.1:${(ctx.t.app.server.address() as AddressInfo).port}`;

  const { app } = ctx.t;
  ctx.user = (await call(app, 'POST', '/users', { name: 'ada', points: 1000 })).body.id;
  const lamp = (await call(app, 'POST', '/products', { name: 'lamp', price: 120, stock: 10 })).body.id;
  const desk = (await call(app, 'POST', '/products', { name: 'desk', price: 300, stock: 3 })).body.id;
  ctx.order = (await call(app, 'POST', '/orders', { userId: ctx.user, items: [{ productId: lamp, quantity: 2 }, { productId: desk, quantity: 1 }] })).body.id;
  assert.is((await call(app, 'POST', `/orders/${ctx.order}/pay`)).status, 200);
  await until(async () => (await call(app, 'GET', '/admin/dead-letters', undefined, { authorization: 'Bearer test-token' })).body.items.length === 4, 'the payment events are dead letters');

  ctx.profile = mkdtempSync(join(tmpdir(), 'oe-chromium-'));
  ctx.browser = await chromium.launchPersistentContext(ctx.profile, {
    executablePath: chromiumBinary,
    headless: true,
    // The network is closed: without these Chromium waits on connections that are refused.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 860 },
  });
  ctx.page = ctx.browser.pages()[0] ?? (await ctx.browser.newPage());
  ctx.page.setDefaultTimeout(30_000);
  ctx.problems = [];
  ctx.browser.on('weberror', (error) => ctx.problems.push(error.error().message));
  // A refused answer (the wrong token's 401, a failed retry's 502) is logged as a failed resource; anything else is a problem.
  ctx.page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) ctx.problems.push(message.text());
  });
});

it.after(async (ctx) => {
  await ctx.browser?.close().catch(() => undefined);
  if (ctx.profile) rmSync(ctx.profile, { recursive: true, force: true });
  await ctx.t?.close().catch(() => undefined);
  await ctx.receiver?.close().catch(() => undefined);
  await ctx.db?.drop();
});

const signIn = async (page: Page, base: string, token: string) => {
  await page.goto(`${base}/admin/ui`);
  await page.getByLabel('admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
};

it('a wrong token shows a clear message and no data', async ({ page, base, user }) => {
  const calls: string[] = [];
  page.on('request', (request) => calls.push(request.url()));
  await signIn(page, base, 'not-the-token');
  await page.locator('#sign-in-error', { hasText: 'The engine refused this token (401 UNAUTHORIZED)' }).waitFor();
  assert.ok(await page.locator('#nav').isHidden(), 'no navigation');
  assert.is(await page.locator('main table, main .card').count(), 0, 'no data');
  assert.not.ok((await page.content()).includes(user));
  assert.is(await page.evaluate(() => sessionStorage.length), 0, 'a refused token is not kept');
  assert.ok(calls.some((url) => url.endsWith('/admin/overview')));
  page.removeAllListeners('request');
});

it('signs in with the token and shows the overview', async ({ page, base, t }) => {
  await signIn(page, base, 'test-token');
  await page.getByRole('heading', { name: 'Live actors' }).waitFor();
  await page.locator('[data-testid="live-by-kind"]', { hasText: 'user 1' }).waitFor();
  await page.getByRole('link', { name: '4 dead letters' }).waitFor();
  assert.is(await page.evaluate(() => sessionStorage.getItem('orderengine.adminToken')), 'test-token');
  if (screenshots) {
    // Some payments between refreshes, so that the charts have a line to draw.
    const shopper = (await call(t.app, 'POST', '/users', { name: 'grace', points: 1_000_000 })).body.id;
    const pen = (await call(t.app, 'POST', '/products', { name: 'pen', price: 3, stock: 100_000 })).body.id;
    for (let round = 0; round < 8; round++) {
      const before = await page.locator('#refreshed').textContent();
      const orders = await Promise.all(Array.from({ length: 5 + ((round * 7) % 11) * 4 }, () => call(t.app, 'POST', '/orders', { userId: shopper, items: [{ productId: pen, quantity: 1 }] })));
      await Promise.all(orders.map((o) => call(t.app, 'POST', `/orders/${o.body.id}/pay`)));
      await page.locator('#refreshed').filter({ hasNotText: before ?? '' }).waitFor();
    }
    await page.locator('svg.sparkline polyline.line').first().waitFor({ state: 'attached' });
    await page.screenshot({ path: new URL('admin-ui-overview.png', docs).pathname, fullPage: true });
  }
});

it('finds the actor the test created, shows its state and events, and passivates it', async ({ page, t, user }) => {
  await page.getByRole('link', { name: 'Actors', exact: true }).click();
  await page.getByLabel('kind').selectOption('user');
  await page.getByRole('link', { name: `user ${user}` }).waitFor();
  await page.getByLabel('id', { exact: true }).fill(user);
  await page.getByRole('button', { name: 'Open' }).click();
  await page.getByRole('heading', { name: 'Committed state' }).waitFor();
  await page.locator('pre.json', { hasText: '"name": "ada"' }).first().waitFor();
  await page.getByRole('cell', { name: 'UserCreated', exact: true }).waitFor();
  await page.getByRole('cell', { name: 'PointsDebited', exact: true }).waitFor();
  assert.match(page.url(), new RegExp(`#/actors/user/${user}$`), 'a link that can be shared');
  assert.ok(t.engine.liveActors().some((a) => a.id === user));

  await page.getByRole('button', { name: 'Passivate' }).click();
  await page.locator('#notice', { hasText: `user ${user} passivated` }).waitFor();
  await page.getByText('Passivated: the actor is not live any more.').waitFor();
  assert.not.ok(t.engine.liveActors().some((a) => a.id === user), 'the actor is no longer live');
});

it("shows an order's saga as a timeline", async ({ page, order, base }) => {
  await page.getByRole('link', { name: 'Orders', exact: true }).click();
  await page.getByLabel('order id').fill(order);
  await page.getByRole('button', { name: 'Show timeline' }).click();
  await page.locator('ol.timeline li[data-step="paid"]').waitFor();
  const steps = await page.locator('ol.timeline li').evaluateAll((items) => items.map((li) => li.getAttribute('data-step')));
  assert.equal(steps.slice(0, 2), ['created', 'payment-started']);
  assert.equal(steps.slice(2, 4).sort(), ['reserve', 'reserve']);
  assert.equal(steps.slice(4), ['debit', 'paid']);
  assert.is(await page.locator('ol.timeline li .batch', { hasText: /^batch \d+$/ }).count(), steps.length, 'each step names its batch');
  assert.is(page.url(), `${base}/admin/ui#/orders/${order}`);
  if (screenshots) await page.screenshot({ path: new URL('admin-ui-order.png', docs).pathname, fullPage: true });
});

it('retries a dead letter the test caused, once the receiver takes it', async ({ page, receiver, order }) => {
  await page.getByRole('link', { name: 'Dead letters', exact: true }).click();
  const ours = page.locator('tbody tr', { hasText: order });
  const row = ours.filter({ hasText: 'OrderPaid' });
  await row.waitFor();
  await row.getByRole('button', { name: 'Retry' }).click();
  await page.locator('#notice', { hasText: /retry of dead letter \d+ failed/ }).waitFor();
  assert.is(await row.count(), 1, 'still a dead letter while the receiver refuses');

  receiver.behave(() => 200);
  await row.getByRole('button', { name: 'Retry' }).click();
  await page.locator('#notice', { hasText: /dead letter \d+ \(OrderPaid\) delivered to webhook/ }).waitFor();
  await row.waitFor({ state: 'detached' });
  assert.ok(receiver.calls.some((c) => c.body?.type === 'OrderPaid' && c.body?.data?.id === order && c.answered === 200));
  assert.is(await ours.count(), 3, "the order's other dead letters stay");
});

it('takes a token from #token= once, removes it from the address bar, and signs out', async ({ browser, base }) => {
  const page = await browser.newPage();
  await page.goto(`${base}/admin/ui#token=test-token&/dead-letters`);
  await page.getByRole('heading', { name: 'Dead letters' }).waitFor();
  assert.is(page.url(), `${base}/admin/ui#/dead-letters`);
  assert.not.ok(await page.evaluate(() => history.length > 1 && location.href.includes('token')));
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  assert.is(await page.evaluate(() => sessionStorage.length), 0);
  await page.close();
});

it('the page raised no script error and broke no Content-Security-Policy rule', async ({ problems }) => {
  assert.equal(problems, []);
});

it.run();
