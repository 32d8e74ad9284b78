// Every instant in an HTTP body is an ISO 8601 string: orders, held coupons and the admin API's actors, journal, timeline and overview; events and states shown as stored stay as they are.

import * as assert from 'uvu/assert';
import { isoTimestamps } from '../../src/http/plugins/iso-timestamps.js';
import { isoString } from '../../src/iso-string.js';
import { databaseKinds } from '../helpers/databases.js';
import { appSuite, call } from '../helpers/engine.js';
import { suite } from '../helpers/suite.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const admin = { authorization: 'Bearer test-token' };
const [pglite] = databaseKinds();

const unit = suite('isoTimestamps');
unit('instant members become ISO strings at any depth; events and actor states stay as stored', () => {
  const at = Date.UTC(2026, 11, 3, 14, 15, 37, 123);
  assert.equal(isoTimestamps({ items: [{ createdAt: at, total: 5, event: { at } }], committed: { updatedAt: at }, lastActivity: at, nextCursor: null }), {
    items: [{ createdAt: '2026-12-03T14:15:37.123Z', total: 5, event: { at } }],
    committed: { updatedAt: at },
    lastActivity: '2026-12-03T14:15:37.123Z',
    nextCursor: null,
  });
});
unit('an object or array without an instant is answered as it is, and the body given is never changed', () => {
  const items = [{ productId: 'p', quantity: 1 }];
  const body = { id: 'o', items, createdAt: 0, event: { at: 1 } };
  const out = isoTimestamps(body) as typeof body;
  assert.is(out.items, items);
  assert.is(out.event, body.event);
  assert.equal(body, { id: 'o', items: [{ productId: 'p', quantity: 1 }], createdAt: 0, event: { at: 1 } });
  const plain = { id: 'u', name: 'n', tags: ['a'] };
  assert.is(isoTimestamps(plain), plain);
});

unit('isoString is Date#toISOString: edge years and milliseconds, leap days, the range limits, and seconds that share a slot', () => {
  const values: number[] = [0, -0, 1, 999, 1000, 1001, -1, -999, -1000, 0.5, 1.5, -0.5, 999.999, 8.64e15, -8.64e15, Number.MIN_VALUE, 2 ** 53, 2 ** 53 - 1];
  for (const year of [1, 99, 100, 999, 1000, 1582, 1899, 1900, 1969, 1970, 1999, 2000, 2024, 2038, 2099, 2100, 2400, 9999, 10000, 275760, 0, -1, -271821]) {
    // setUTCFullYear, since Date.UTC reads the years 0 to 99 as 1900 to 1999.
    const start = new Date(0).setUTCFullYear(year, 0, 1);
    const end = new Date(0).setUTCFullYear(year + 1, 0, 1) - 1;
    values.push(start - 1, start, start + 1, start + 999, start + 1000, end - 1000, end - 1, end, end + 1);
    for (const [month, day] of [[1, 28], [1, 29], [2, 1], [11, 31]] as const) values.push(new Date(0).setUTCFullYear(year, month, day) + 123);
  }
  for (let ms = 0; ms < 2000; ms++) values.push(Date.UTC(2026, 11, 3, 14, 15, 37) + ms);
  // Seconds 256 apart take the same slot in turn.
  for (let i = 0; i < 1000; i++) values.push(Date.UTC(2026, 0, 1) + (i % 2) * 256_000 + i);
  for (let i = 0; i < 50_000; i++) values.push(Math.floor(Math.random() * 253_402_300_800_000));
  for (let i = 0; i < 10_000; i++) values.push(Math.floor((Math.random() * 2 - 1) * 8.64e15));
  for (const ms of values) if (Number.isFinite(ms) && Math.abs(ms) <= 8.64e15) assert.is(isoString(ms), new Date(ms).toISOString(), String(ms));
});

unit.run();

const it = appSuite(pglite!, 'ISO 8601 timestamps over HTTP');

/** Every instant member found in `body` outside the verbatim parts. */
function instants(body: unknown, found: Array<[string, unknown]> = []): Array<[string, unknown]> {
  if (Array.isArray(body)) body.forEach((b) => instants(b, found));
  else if (body !== null && typeof body === 'object') {
    for (const [key, value] of Object.entries(body)) {
      if (['event', 'committed', 'pending'].includes(key)) continue;
      if (['createdAt', 'updatedAt', 'issuedAt', 'at', 'lastActivity', 'failedAt'].includes(key)) found.push([key, value]);
      else instants(value, found);
    }
  }
  return found;
}

it('orders, held coupons and the admin API answer instants as ISO 8601 strings', async ({ t }) => {
  const { app } = t;
  const user = (await call(app, 'POST', '/users', { name: 'iso', points: 100 })).body;
  const product = (await call(app, 'POST', '/products', { name: 'iso-p', price: 5, stock: 5 })).body;
  const coupon = (await call(app, 'POST', '/coupons', { name: 'iso-c', discountType: 'FIXED', discountValue: 1, quantity: 5 })).body;
  await call(app, 'POST', `/coupons/${coupon.id}/issue`, { userId: user.id });
  const before = Date.now();
  const order = (await call(app, 'POST', '/orders', { userId: user.id, items: [{ productId: product.id, quantity: 1 }] })).body;
  const after = Date.now();
  const bodies = [
    order,
    (await call(app, 'POST', `/orders/${order.id}/pay`)).body,
    (await call(app, 'GET', `/orders/${order.id}`)).body,
    (await call(app, 'GET', `/orders?ids=${order.id}`)).body,
    (await call(app, 'GET', `/users/${user.id}/orders`)).body,
    (await call(app, 'GET', '/orders?status=PAID&days=1')).body,
    (await call(app, 'GET', `/users/${user.id}/coupons`)).body,
    (await call(app, 'GET', '/admin/overview', undefined, admin)).body,
    (await call(app, 'GET', '/admin/actors', undefined, admin)).body,
    (await call(app, 'GET', `/admin/actors/order/${order.id}`, undefined, admin)).body,
    (await call(app, 'GET', `/admin/actors/order/${order.id}/events`, undefined, admin)).body,
    (await call(app, 'GET', `/admin/orders/${order.id}/timeline`, undefined, admin)).body,
  ];
  const found = bodies.flatMap((b) => instants(b));
  assert.ok(found.length >= 20, `${found.length} instants`);
  for (const [key, value] of found) assert.match(String(value), ISO, `${key}: ${JSON.stringify(value)}`);
  const created = Date.parse(order.createdAt);
  assert.ok(created >= before && created <= after, 'the instant is when the order was created, not a number read as text');
  const document = (await call(app, 'GET', '/docs/json')).body;
  assert.equal(document.components.schemas.Order.properties.createdAt.format, 'date-time');
});

it.run();
