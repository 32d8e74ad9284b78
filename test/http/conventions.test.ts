// HTTP conventions clients rely on: 201 with Location, 405 with Allow, 415 for other media types, empty bodies on body-less routes, x-request-id echoed, 401 with WWW-Authenticate.

import type { FastifyInstance } from 'fastify';
import * as assert from 'uvu/assert';
import { databaseKinds } from '../helpers/databases.js';
import { appSuite, call } from '../helpers/engine.js';

const [pglite] = databaseKinds();
const it = appSuite(pglite!, 'HTTP conventions');

const send = (app: FastifyInstance, method: string, url: string, payload?: string, headers: Record<string, string> = {}) =>
  app.inject({ method: method as 'POST', url, headers, ...(payload === undefined ? {} : { payload }) });
const json = { 'content-type': 'application/json' };

async function order(app: FastifyInstance) {
  const user = (await call(app, 'POST', '/users', { name: 'conv', points: 1000 })).body;
  const product = (await call(app, 'POST', '/products', { name: 'conv-p', price: 10, stock: 100 })).body;
  const created = (await call(app, 'POST', '/orders', { userId: user.id, items: [{ productId: product.id, quantity: 1 }] })).body;
  return { user, product, order: created };
}

it('every 201 carries a Location that answers', async ({ t }) => {
  const { app } = t;
  const answers = [
    await send(app, 'POST', '/users', JSON.stringify({ name: 'loc' }), json),
    await send(app, 'POST', '/products', JSON.stringify({ name: 'loc-p', price: 1, stock: 1 }), json),
    await send(app, 'POST', '/coupons', JSON.stringify({ name: 'loc-c', discountType: 'FIXED', discountValue: 1, quantity: 5 }), json),
  ];
  const [user, product, coupon] = answers.map((a) => a.json());
  answers.push(await send(app, 'POST', '/orders', JSON.stringify({ userId: user.id, items: [{ productId: product.id, quantity: 1 }] }), json));
  answers.push(await send(app, 'POST', `/coupons/${coupon.id}/issue`, JSON.stringify({ userId: user.id }), json));
  assert.equal(
    answers.map((a) => [a.statusCode, a.headers.location]),
    [
      [201, `/users/${user.id}`],
      [201, `/products/${product.id}`],
      [201, `/coupons/${coupon.id}`],
      [201, `/orders/${answers[3]!.json().id}`],
      [201, `/users/${user.id}/coupons`],
    ],
  );
  for (const a of answers) assert.is((await send(app, 'GET', String(a.headers.location))).statusCode, 200, String(a.headers.location));
});

it('a known path with a wrong method answers 405 with Allow and changes nothing; an unknown path stays 404', async ({ t }) => {
  const { app } = t;
  const { order: o } = await order(app);
  const wrong = await send(app, 'DELETE', '/users');
  assert.is(wrong.statusCode, 405);
  assert.is(wrong.headers.allow, 'GET, HEAD, POST');
  assert.is(wrong.json().error, 'METHOD_NOT_ALLOWED');
  const put = await send(app, 'PUT', `/orders/${o.id}/pay`, '{}', json);
  assert.is(put.statusCode, 405);
  assert.is(put.headers.allow, 'POST');
  assert.is((await send(app, 'GET', `/orders/${o.id}/pay`)).statusCode, 405);
  assert.is((await call(app, 'GET', `/orders/${o.id}`)).body.status, 'CREATED');
  assert.is((await send(app, 'DELETE', '/nowhere/at/all')).statusCode, 404);
});

it('a body of another media type is 415, text/plain included, and changes nothing', async ({ t }) => {
  const { app } = t;
  const { user } = await order(app);
  for (const type of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
    const answer = await send(app, 'POST', `/users/${user.id}/points/charge`, '{"amount":5}', { 'content-type': type });
    assert.is(answer.statusCode, 415, type);
    assert.is(answer.json().error, 'UNSUPPORTED_MEDIA_TYPE');
  }
  assert.is((await send(app, 'POST', `/users/${user.id}/points/charge`, '{"amount":5}', { 'content-type': 'application/json; charset=utf-8' })).statusCode, 200);
  assert.is((await call(app, 'GET', `/users/${user.id}`)).body.points, 1005);
});

it('a route that takes no body accepts an empty one whatever its content type, and refuses a body it cannot read', async ({ t }) => {
  const { app } = t;
  for (const type of ['application/json', 'text/plain', 'application/xml']) {
    const { order: o } = await order(app);
    const paid = await send(app, 'POST', `/orders/${o.id}/pay`, '', { 'content-type': type });
    assert.is(paid.statusCode, 200, `${type}: ${paid.body}`);
    assert.is(paid.json().status, 'PAID');
  }
  const { order: o } = await order(app);
  assert.is((await send(app, 'POST', `/orders/${o.id}/cancel`, '<cancel/>', { 'content-type': 'application/xml' })).statusCode, 415);
  assert.is((await call(app, 'GET', `/orders/${o.id}`)).body.status, 'CREATED');
  assert.is((await send(app, 'POST', '/users', '', json)).statusCode, 400);
});

it("x-request-id is echoed: the caller's when it is sane, a fresh one otherwise", async ({ t }) => {
  const { app } = t;
  assert.is((await send(app, 'GET', '/health/live', undefined, { 'x-request-id': 'trace-42' })).headers['x-request-id'], 'trace-42');
  assert.is((await send(app, 'GET', '/users/nobody', undefined, { 'x-request-id': 'trace-43' })).headers['x-request-id'], 'trace-43');
  const fresh = String((await send(app, 'GET', '/health/live')).headers['x-request-id']);
  assert.match(fresh, /^[0-9a-f-]{36}$/);
  const long = String((await send(app, 'GET', '/health/live', undefined, { 'x-request-id': 'x'.repeat(500) })).headers['x-request-id']);
  assert.match(long, /^[0-9a-f-]{36}$/);
});

it('401 carries WWW-Authenticate: Bearer, with error="invalid_token" for a wrong token; the right token passes', async ({ t }) => {
  const { app } = t;
  const none = await send(app, 'GET', '/admin/actors');
  assert.is(none.statusCode, 401);
  assert.is(none.headers['www-authenticate'], 'Bearer realm="admin"');
  const wrong = await send(app, 'GET', '/admin/actors', undefined, { authorization: 'Bearer nope' });
  assert.is(wrong.statusCode, 401);
  assert.is(wrong.headers['www-authenticate'], 'Bearer realm="admin", error="invalid_token"');
  const right = await send(app, 'GET', '/admin/actors', undefined, { authorization: 'Bearer test-token' });
  assert.is(right.statusCode, 200);
  assert.is(right.headers['www-authenticate'], undefined);
});

it.run();
