// The admin page of a cluster member, in real Chromium: the overview shows the members, the shards each owns, and which member the page reads.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import * as assert from 'uvu/assert';
import { startEngineProcess, type EngineProcess } from '../helpers/child.js';
import { availableDatabaseKinds, type TestDatabase } from '../helpers/databases.js';
import { chromiumBinary } from '../helpers/matrix.js';
import { privateNats, type PrivateNats } from '../helpers/nats.js';
import { suite } from '../helpers/suite.js';
import { until } from '../helpers/until.js';

const SHARDS = 8;
const postgres = availableDatabaseKinds().find((k) => k.name === 'postgres');

const it = suite<{ nats: PrivateNats; db: TestDatabase; engines: EngineProcess[]; profile: string; browser: BrowserContext }>('admin page of a cluster member in Chromium', {
  needs: ['chromium', 'postgres', 'nats-server'],
});
it.before(async (ctx) => {
  ctx.nats = await privateNats();
  ctx.db = await postgres!.create();
  const env = (node: string) => ({ CLUSTER_NATS_URL: ctx.nats.url, CLUSTER_NAME: 'page', NODE_NAME: node, CLUSTER_SHARDS: String(SHARDS), CLUSTER_LEASE_MS: '2000', ADMIN_TOKEN: 'page-token' });
  ctx.engines = await Promise.all(['w1', 'w2'].map((n) => startEngineProcess(ctx.db.url, env(n))));
  ctx.profile = mkdtempSync(join(tmpdir(), 'oe-chromium-'));
  ctx.browser = await chromium.launchPersistentContext(ctx.profile, {
    executablePath: chromiumBinary,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
it.after(async (ctx) => {
  await ctx.browser?.close();
  if (ctx.profile) rmSync(ctx.profile, { recursive: true, force: true });
  for (const e of ctx.engines ?? []) await e.kill().catch(() => undefined);
  await ctx.db?.drop();
  await ctx.nats?.dispose();
});

it('the overview lists both members with the shards each owns, the page’s own member marked', async ({ engines, browser }) => {
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(30_000);
  await page.goto(`${engines[1]!.url}/admin/ui#token=page-token&/overview`);
  const card = page.getByTestId('cluster');
  await until(async () => (await card.count()) > 0 && /2 members/.test(await card.innerText()) && !/without an owner/.test(await card.innerText()), 'the cluster card shows two members owning every shard', 60_000, 250);
  const text = await card.innerText();
  assert.match(text, /this page reads w2/);
  const rows = await card.locator('tbody tr').allInnerTexts();
  assert.equal(rows.map((r) => r.split('\t')[0]!.trim()).sort(), ['w1', 'w2']);
  const owned = rows.map((r) => Number(r.split('\t')[1]));
  assert.is(owned[0]! + owned[1]!, SHARDS, `every shard counted once: ${rows.join(' | ')}`);
  assert.is(await card.locator('strong').innerText(), 'w2', 'the member the page reads is marked');
});

it.run();
