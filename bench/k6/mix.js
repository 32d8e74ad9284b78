// The `mix` scenario for k6: create an order → pay it → read it → one read query (each in turn), uniform users and products, in stages.
//
//   k6 run -e BASE_URL=http://127.0.0.1:3000 -e PROFILE=load -e DURATION=60 -e VUS=256 bench/k6/mix.js
//
// Environment: BASE_URL (the engine or a baseline server), USERS (10000), PRODUCTS (1000),
// VUS (the peak number of virtual users, 256), DURATION (seconds, 60), PROFILE (hold, load,
// soak, stress, spike: the same shapes as bench/lib/options.ts).

import http from 'k6/http';
import { check, fail } from 'k6';
import { Counter } from 'k6/metrics';

const BASE = __ENV.BASE_URL || 'http://127.0.0.1:3000';
const USERS = Number(__ENV.USERS || 10000);
const PRODUCTS = Number(__ENV.PRODUCTS || 1000);
const PEAK = Number(__ENV.VUS || 256);
const DURATION = Number(__ENV.DURATION || 60);
const PROFILE = __ENV.PROFILE || 'hold';
const AMPLE = 1000000000;
const JSON_HEADERS = { 'content-type': 'application/json' };

// [share of the duration, share of the peak VUs] per step, as in bench/lib/options.ts.
const SHAPES = {
  hold: [[1, 1]],
  load: [[0.1, 0.25], [0.1, 0.5], [0.1, 0.75], [0.6, 1], [0.1, 0.5]],
  soak: [[0.05, 0.5], [0.95, 1]],
  stress: [[0.2, 0.5], [0.2, 1], [0.2, 1.5], [0.2, 2], [0.2, 1]],
  spike: [[0.4, 0.1], [0.2, 1], [0.4, 0.1]],
};
if (!SHAPES[PROFILE]) throw new Error(`PROFILE must be one of ${Object.keys(SHAPES).join(', ')}`);

// k6 ramps linearly towards each target; a one-second ramp then a hold makes the same steps as the harness.
const stages = [];
for (const [time, level] of SHAPES[PROFILE]) {
  const target = Math.max(1, Math.round(PEAK * level));
  const seconds = Math.max(2, Math.round(DURATION * time));
  stages.push({ duration: '1s', target }, { duration: `${seconds - 1}s`, target });
}

export const options = {
  setupTimeout: '10m',
  scenarios: {
    mix: { executor: 'ramping-vus', startVUs: 0, stages, gracefulRampDown: '5s' },
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    'http_req_duration{step:pay}': ['p(99)<1000'],
    checks: ['rate>0.99'],
  },
};

const ordersPaid = new Counter('orders_paid');

/** POSTs `count` bodies in batches of 100 and returns the created ids. */
function createAll(path, count, body) {
  const ids = [];
  for (let start = 0; start < count; start += 100) {
    const requests = [];
    for (let i = start; i < Math.min(count, start + 100); i++) {
      requests.push(['POST', `${BASE}${path}`, JSON.stringify(body(i)), { headers: JSON_HEADERS, tags: { step: 'seed' } }]);
    }
    for (const res of http.batch(requests)) {
      if (res.status !== 201) fail(`seeding ${path} answered ${res.status}: ${res.body}`);
      ids.push(res.json('id'));
    }
  }
  return ids;
}

export function setup() {
  const products = createAll('/products', PRODUCTS, (i) => ({ name: `k6-product-${i}`, price: 100 + ((i * 37) % 900), stock: AMPLE }));
  const users = createAll('/users', USERS, (i) => ({ name: `k6-user-${i}`, points: AMPLE }));
  return { products, users };
}

const pick = (items) => items[Math.floor(Math.random() * items.length)];

export default function (data) {
  const first = pick(data.products);
  const second = pick(data.products);
  const items = [{ productId: first, quantity: 1 + Math.floor(Math.random() * 3) }];
  // About a third of the orders hold two products, as in the harness.
  if (second !== first && Math.random() < 1 / 3) items.push({ productId: second, quantity: 1 });

  const created = http.post(`${BASE}/orders`, JSON.stringify({ userId: pick(data.users), items }), {
    headers: JSON_HEADERS,
    tags: { step: 'create', name: 'POST /orders' },
  });
  if (!check(created, { 'order created (201)': (r) => r.status === 201 })) return;
  const id = created.json('id');

  const paid = http.post(`${BASE}/orders/${id}/pay`, null, { tags: { step: 'pay', name: 'POST /orders/:id/pay' } });
  if (check(paid, { 'order paid (200, PAID)': (r) => r.status === 200 && r.json('status') === 'PAID' })) ordersPaid.add(1);

  const read = http.get(`${BASE}/orders/${id}`, { tags: { step: 'read', name: 'GET /orders/:id' } });
  check(read, { 'order read (200)': (r) => r.status === 200 });

  // The read side's other queries in turn, as bench/lib/reads.ts (over this VU's own recent orders).
  recent.push(id);
  if (recent.length > 10) recent.shift();
  const [name, path] = READS[turn++ % READS.length](data);
  const answer = http.get(`${BASE}${path}`, { tags: { step: 'query', name } });
  check(answer, { 'query answered (200)': (r) => r.status === 200 });
}

const recent = [];
let turn = 0;
const READS = [
  (d) => ['GET /users/:id', `/users/${pick(d.users)}`],
  (d) => ['GET /products/:id', `/products/${pick(d.products)}`],
  (d) => ['GET /users/:id/orders', `/users/${pick(d.users)}/orders?limit=10`],
  () => ['GET /orders?status=PAID', '/orders?status=PAID&days=7&limit=20'],
  () => ['GET /orders?ids=', `/orders?ids=${recent.join(',')}`],
  () => ['GET /users?name=', `/users?name=k6-user-${Math.floor(Math.random() * USERS)}`],
  () => ['GET /products?name=', `/products?name=k6-product-${Math.floor(Math.random() * PRODUCTS)}`],
  () => ['GET /products/popular', '/products/popular?days=7&limit=10'],
  (d) => ['GET /users/:id/coupons', `/users/${pick(d.users)}/coupons`],
];
