// A seeded fuzz of every route: malformed input never gets a 5xx, never changes what the database holds, and 4xx bodies are always {error, message}.

import { createHash } from 'node:crypto';
import { suite } from '../helpers/suite.js';
import { until } from '../helpers/until.js';
import * as assert from 'uvu/assert';
import type { Database } from '../../src/db/connect.js';
import { SqlJournalStore } from '../../src/journal/sql-journal-store.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { call, startAppWith, type TestApp } from '../helpers/engine.js';
import { prng } from '../helpers/prng.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_240_607);
const CASES = Number(process.env.FUZZ_CASES ?? 12_000);
const CHECK_EVERY = 1000;
const IN_PARALLEL = 8;
const TOKEN = 'test-token';

interface Case {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly payload?: string | Buffer;
  /** What the case targets, for the failure message. */
  readonly what: string;
  /** A write with a defect in it: must be refused (4xx). */
  readonly mustRefuse: boolean;
}

interface Seeded {
  readonly users: string[];
  readonly products: string[];
  readonly coupons: string[];
  /** A CREATED order: never paid or cancelled by the fuzz. */
  readonly open: string;
  readonly paid: string;
  readonly failed: string;
  readonly cancelled: string;
}

const random = prng(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const chance = (p: number) => random() < p;
const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));

const WEIRD_STRINGS = [
  '',
  ' ',
  '\t\r\n',
  'ünïcødé ñame',
  '名前',
  '🎉🚀👩‍👩‍👧',
  '\u202eevil',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '"quoted"',
  "o'hara",
  '<script>alert(1)</script>',
  '${jndi:ldap://x/a}',
  '../../etc/passwd',
  '%00',
  'NULL',
  "1' or '1'='1",
  '1; drop table users; --',
  '\\',
  '{}',
  '[]',
];
const WEIRD_NUMBERS = [0, -0, -1, -7, -1e12, 0.5, 1.5, 99.99, 1e-7, 1e16, 2 ** 53, 2 ** 53 + 2, 1e21, 1e300, -1e300, Number.MAX_VALUE, 1_000_000_000_001, 1_000_000_000_000_001];
/** encodeURIComponent, except that a lone surrogate goes out as the bytes a careless client would send. */
const encode = (text: string): string => {
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80';
  }
};
const weirdValue = (): unknown =>
  pick<() => unknown>([
    () => null,
    () => true,
    () => false,
    () => [],
    () => ({}),
    () => [1, 'two', null],
    () => ({ nested: { deeper: [{}] } }),
    () => pick(WEIRD_STRINGS),
    () => pick(WEIRD_NUMBERS),
    () => String(pick(WEIRD_NUMBERS)),
    () => 'x'.repeat(int(201, 3000)),
    () => Array.from({ length: int(101, 2000) }, () => 0),
  ])();
const weirdId = (): string =>
  pick<() => string>([
    () => encode(pick(WEIRD_STRINGS)) || '%20',
    () => '..%2F..%2Fetc%2Fpasswd',
    () => '%2e%2e%2f%2e%2e%2f',
    () => '..%5C..%5Cwindows',
    () => '%00',
    () => '%zz',
    () => '%',
    () => 'a'.repeat(int(65, 2000)),
    () => encode('ünï🎉'),
    () => `${'9'.repeat(30)}`,
    () => 'valid-looking-but-unknown',
    () => `${pick(['user', 'product', 'order'])}-${int(0, 1e9)}`,
  ])();

/** Field kinds of the JSON bodies, each with valid values and values that break its schema or the domain's rules. */
type Kind = 'name' | 'nonNegative' | 'positive' | 'id' | 'items' | 'discount' | 'instant';
const valid: Record<Kind, () => unknown> = {
  name: () => pick(['ada', 'ünï 🎉', 'a'.repeat(200), "o'hara \"q\""]),
  nonNegative: () => pick([0, 1, 500, 1_000_000_000_000]),
  positive: () => pick([1, 7, 1_000_000]),
  id: () => pick(['nobody', 'unknown-id', 'x_y-z']),
  items: () => [{ productId: 'unknown-product', quantity: 1 }],
  discount: () => pick(['FIXED', 'PERCENT']),
  instant: () => pick(['2030-01-01T00:00:00Z', '2031-06-30T12:00:00.000+02:00']),
};
const broken: Record<Kind, () => unknown> = {
  name: () => pick<() => unknown>([() => '', () => '   ', () => '\t\n', () => 'a\u0000b', () => '\u0000', () => 'n'.repeat(int(201, 70_000)), () => int(-5, 5), () => null, () => ['a'], () => ({})])(),
  nonNegative: () => pick<() => unknown>([() => -1, () => -1e12, () => 0.5, () => 1e13, () => 1e300, () => '5', () => null, () => true, () => [1]])(),
  positive: () => pick<() => unknown>([() => 0, () => -0.0, () => -3, () => 2.5, () => 1e16, () => 2 ** 53 + 2, () => '10', () => null, () => {}])(),
  id: () => pick<() => unknown>([() => '', () => 'a b', () => '../x', () => 'é', () => 'z'.repeat(65), () => 42, () => null])(),
  items: () =>
    pick<() => unknown>([
      () => [],
      () => 'items',
      () => Array.from({ length: int(101, 3000) }, (_, i) => ({ productId: `p${i}`, quantity: 1 })),
      () => [{ productId: 'p1' }],
      () => [{ productId: 'p1', quantity: broken.positive() }],
      () => [{ productId: broken.id(), quantity: 1 }],
      () => [{ productId: 'p1', quantity: 1, unitPrice: 0 }],
      () => [null],
    ])(),
  discount: () => pick<() => unknown>([() => 'fixed', () => 'BOGO', () => '', () => 1, () => null, () => ['FIXED']])(),
  instant: () =>
    pick<() => unknown>([
      () => '',
      () => 'yesterday',
      () => 'not a date at all!',
      () => '2026-13-45T99:99:99Z',
      () => '2026-02-30T00:00:00Z',
      () => '99999-01-01T00:00:00Z',
      () => '0000-00-00T00:00:00Z',
      () => 1_700_000_000_000,
      () => null,
      () => 'x'.repeat(41),
    ])(),
};

interface BodySpec {
  readonly fields: Record<string, Kind>;
  readonly required: readonly string[];
}

/**
 * A JSON body with at least one defect its schema refuses: malformed or truncated JSON, a wrong
 * top-level type, a missing or unknown field, a value of the wrong type or out of range, an
 * oversized string, array or body, or a content type other than JSON. Other fields may still
 * carry odd but valid values.
 */
function brokenBody(spec: BodySpec): { payload: string | Buffer; contentType: string | undefined; defect: string } {
  const body: Record<string, unknown> = {};
  for (const [field, kind] of Object.entries(spec.fields)) if (spec.required.includes(field) || chance(0.5)) body[field] = valid[kind]();
  const text = (value: unknown) => JSON.stringify(value);
  const defect = pick(['truncated', 'garbage', 'toplevel', 'missing', 'unknown', 'wrong', 'wrong', 'wrong', 'huge', 'media', 'empty']);
  switch (defect) {
    case 'truncated': {
      const whole = text(body);
      return { payload: whole.slice(0, int(0, whole.length - 1)) || '{', contentType: 'application/json', defect };
    }
    case 'garbage':
      return {
        payload: pick<() => string | Buffer>([
          () => `${text(body)}}`,
          () => text(body).replace(/"/g, "'"),
          () => `{${Object.keys(body)[0] ?? 'a'}: 1}`,
          () => '{"a": NaN}',
          () => '{"amount": 1e999, "x": Infinity}',
          () => Buffer.from(Array.from({ length: int(1, 200) }, () => int(0, 255))),
          () => '\u0000\u0001\u0002',
          () => `${text(body)},`,
          () => '{"__proto__": {"admin": true}, "constructor": {"prototype": {"x": 1}}}',
        ])(),
        contentType: 'application/json',
        defect,
      };
    case 'toplevel':
      return { payload: text(pick([[], [body], 1, -1, 'string', null, true])), contentType: 'application/json', defect };
    case 'missing': {
      const field = spec.required.length > 0 ? pick(spec.required) : undefined;
      if (field === undefined) break;
      delete body[field];
      return { payload: text(body), contentType: 'application/json', defect };
    }
    case 'unknown':
      body[pick(['admin', 'price ', 'id', 'status', 'extra', '__proto__x', 'ünï'])] = weirdValue();
      return { payload: text(body), contentType: 'application/json', defect };
    case 'huge':
      return { payload: text({ ...body, pad: 'p'.repeat(int(65 * 1024, 200 * 1024)) }), contentType: 'application/json', defect };
    case 'media':
      return {
        payload: text(body),
        contentType: pick(['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'image/png']),
        defect,
      };
    case 'empty':
      return { payload: '', contentType: 'application/json', defect };
  }
  // 'wrong' (and 'missing' without required fields): one field gets a value its schema refuses.
  const field = pick(Object.keys(spec.fields));
  body[field] = broken[spec.fields[field] as Kind]();
  return { payload: text(body), contentType: 'application/json', defect: `wrong ${field}` };
}

const BODIES: Record<string, BodySpec> = {
  user: { fields: { name: 'name', points: 'nonNegative' }, required: ['name'] },
  charge: { fields: { amount: 'positive' }, required: ['amount'] },
  product: { fields: { name: 'name', price: 'nonNegative', stock: 'nonNegative' }, required: ['name', 'price', 'stock'] },
  restock: { fields: { quantity: 'positive' }, required: ['quantity'] },
  order: { fields: { userId: 'id', items: 'items' }, required: ['userId', 'items'] },
  coupon: {
    fields: { name: 'name', discountType: 'discount', discountValue: 'positive', quantity: 'positive', validFrom: 'instant', validUntil: 'instant' },
    required: ['name', 'discountType', 'discountValue', 'quantity'],
  },
  issue: { fields: { userId: 'id' }, required: ['userId'] },
};

const weirdQuery = (params: readonly string[]): string => {
  const parts: string[] = [];
  for (const p of params) if (chance(0.5)) parts.push(`${p}=${encode(String(chance(0.5) ? weirdValue() : pick(WEIRD_STRINGS)))}`);
  if (chance(0.2)) parts.push(`${pick(['unknown', 'limit', 'LIMIT', '__proto__', 'a[b]'])}=${encode(String(weirdValue()))}`);
  if (chance(0.1)) parts.push(pick(['&&&', '=', 'limit', 'limit=1&limit=2', `cursor=${Buffer.from(JSON.stringify(pick(['\u0000', 'a\u0000', [1, '\u0000'], [1e300, 'x'], {}]))).toString('base64url')}`]));
  return parts.length > 0 ? `?${parts.join('&')}` : '';
};

function nextCase(s: Seeded): Case {
  const anyId = () => (chance(0.6) ? weirdId() : pick([...s.users, ...s.products, ...s.coupons, s.open, s.paid, s.failed, s.cancelled]));
  const adminAuth = (): Record<string, string> => {
    const auth = pick(['', 'Bearer', 'Bearer wrong', `Basic ${Buffer.from('a:b').toString('base64')}`, `Bearer ${'t'.repeat(5000)}`, `Bearer ${TOKEN}`]);
    return auth ? { authorization: auth } : {};
  };
  const write = (method: string, url: string, spec: BodySpec, what: string): Case => {
    const { payload, contentType, defect } = brokenBody(spec);
    const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
    if (chance(0.2)) headers['idempotency-key'] = pick(['k1', 'ünï', ' ', 'x'.repeat(300), 'a\tb', `key-${int(0, 1e6)}`]);
    return { method, url, headers, payload, what: `${what} (${defect})`, mustRefuse: true };
  };
  const read = (url: string, what: string, headers: Record<string, string> = {}): Case => ({ method: 'GET', url, headers, what, mustRefuse: false });
  return pick<() => Case>([
    () => write('POST', '/users', BODIES.user as BodySpec, 'create user'),
    () => write('POST', '/products', BODIES.product as BodySpec, 'create product'),
    () => write('POST', '/orders', BODIES.order as BodySpec, 'create order'),
    () => write('POST', `/users/${anyId()}/points/charge`, BODIES.charge as BodySpec, 'charge'),
    () => write('POST', `/products/${anyId()}/restock`, BODIES.restock as BodySpec, 'restock'),
    () => write('POST', '/coupons', BODIES.coupon as BodySpec, 'create coupon'),
    () => write('POST', `/coupons/${anyId()}/issue`, BODIES.issue as BodySpec, 'issue coupon'),
    () => read(`/coupons/${anyId()}`, 'read coupon'),
    () => read(`/users/${anyId()}/coupons${weirdQuery(['cursor', 'limit'])}`, 'user coupons'),
    () => read(`/admin/dead-letters${weirdQuery(['cursor', 'limit'])}`, 'dead letters', adminAuth()),
    // No dead letter exists, so even with the token a retry finds nothing to send.
    () => ({ method: 'POST', url: `/admin/dead-letters/${chance(0.5) ? weirdId() : String(int(0, 1e6))}/retry`, headers: adminAuth(), what: 'retry dead letter', mustRefuse: true }),
    // Pay and cancel carry no body: only ids where they change nothing (unknown, or already settled).
    () => ({ method: 'POST', url: `/orders/${chance(0.5) ? weirdId() : pick([s.paid, s.failed])}/pay`, headers: {}, what: 'pay', mustRefuse: false }),
    () => ({ method: 'POST', url: `/orders/${chance(0.5) ? weirdId() : pick([s.cancelled, s.failed])}/cancel`, headers: {}, what: 'cancel', mustRefuse: false }),
    () => read(`/users/${anyId()}`, 'read user'),
    () => read(`/products/${anyId()}`, 'read product'),
    () => read(`/orders/${anyId()}`, 'read order'),
    () => read(`/users/${anyId()}/orders${weirdQuery(['cursor', 'limit'])}`, 'user orders'),
    () => read(`/users${weirdQuery(['cursor', 'limit', 'name'])}`, 'list users'),
    () => read(`/products${weirdQuery(['cursor', 'limit', 'name'])}`, 'list products'),
    () => read(`/products/popular${weirdQuery(['days', 'limit'])}`, 'popular'),
    () => read(`/orders${weirdQuery(['ids', 'status', 'days', 'cursor', 'limit'])}`, 'list orders'),
    () => read(`/orders?ids=${Array.from({ length: int(1, 150) }, () => (chance(0.7) ? pick([s.paid, s.open, 'nope']) : weirdId())).join(',')}`, 'orders by ids'),
    () => {
      const headers = adminAuth();
      const path = pick([`/admin/actors${weirdQuery(['kind', 'offset', 'limit'])}`, `/admin/actors/${pick(['user', 'product', 'order', 'coupon', weirdId()])}/${anyId()}`]);
      return read(path, 'admin read', headers);
    },
    () => {
      // Writes of the admin API without the right token; with it, only passivate (memory, not the database).
      const auth = pick(['', 'Bearer nope', `Bearer ${TOKEN}`]);
      const action = auth === `Bearer ${TOKEN}` ? 'passivate' : pick(['passivate', 'snapshot']);
      const headers: Record<string, string> = auth ? { authorization: auth } : {};
      return { method: 'POST', url: `/admin/actors/${pick(['user', 'product', 'order', weirdId()])}/${anyId()}/${action}`, headers, what: `admin ${action}`, mustRefuse: false };
    },
    () => {
      const method = pick(['PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE', 'POST', 'GET']);
      const path = pick(['/users', `/users/${anyId()}`, '/products/popular', `/orders/${weirdId()}/pay`, '/nowhere', `/${weirdId()}/${weirdId()}`, '/docs/../metrics', '//users', '/users/', '/USERS']);
      const payload = chance(0.5) ? JSON.stringify(weirdValue()) : undefined;
      const headers: Record<string, string> = payload ? { 'content-type': 'application/json' } : {};
      return { method, url: path, headers, ...(payload ? { payload } : {}), what: `${method} ${path}`, mustRefuse: method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS' };
    },
  ])();
}

/** A digest of every table the business state lives in (Idempotency-Key answers are bookkeeping, and kept by design). */
async function fingerprint(database: Database): Promise<string> {
  const { db } = database;
  const hash = createHash('sha256');
  const tables = [
    await db.selectFrom('journal').selectAll().orderBy('persistence_key').orderBy('sequence_nr').execute(),
    await db.selectFrom('snapshots').selectAll().orderBy('persistence_key').orderBy('sequence_nr').execute(),
    await db.selectFrom('users').selectAll().orderBy('id').execute(),
    await db.selectFrom('products').selectAll().orderBy('id').execute(),
    await db.selectFrom('orders').selectAll().orderBy('id').execute(),
    await db.selectFrom('order_items').selectAll().orderBy('order_id').orderBy('product_id').execute(),
    await db.selectFrom('product_sales_daily').selectAll().orderBy('product_id').orderBy('day').execute(),
    await db.selectFrom('coupons').selectAll().orderBy('id').execute(),
    await db.selectFrom('user_coupons').selectAll().orderBy('user_id').orderBy('coupon_id').execute(),
    await db.selectFrom('outbox').selectAll().orderBy('position').execute(),
    await db.selectFrom('outbox_dead_letters').selectAll().orderBy('position').execute(),
  ];
  for (const rows of tables) hash.update(JSON.stringify(rows));
  return hash.digest('hex');
}

const it = suite<{ db: TestDatabase; t: TestApp; database: Database; seeded: Seeded }>('HTTP fuzz');
it.before(async (ctx) => {
  ctx.db = await databaseKinds()[0]!.create();
  ctx.t = await startAppWith(ctx.db.url, { ADMIN_TOKEN: TOKEN }, (database) => {
    ctx.database = database;
    return new SqlJournalStore(database);
  });
  const { app } = ctx.t;
  const users = await Promise.all(['ada', 'bob', 'cy'].map((name) => call(app, 'POST', '/users', { name, points: 1000 })));
  const products = await Promise.all(['a', 'b', 'c'].map((name, i) => call(app, 'POST', '/products', { name, price: 10 + i, stock: 5 })));
  const order = async (quantity: number) =>
    (await call(app, 'POST', '/orders', { userId: users[0]?.body.id, items: [{ productId: products[0]?.body.id, quantity }] })).body.id as string;
  const [open, paid, failed, cancelled] = [await order(1), await order(1), await order(99), await order(1)];
  assert.is((await call(app, 'POST', `/orders/${paid}/pay`)).status, 200);
  assert.is((await call(app, 'POST', `/orders/${failed}/pay`)).status, 409);
  assert.is((await call(app, 'POST', `/orders/${cancelled}/cancel`)).status, 200);
  const coupons = await Promise.all(
    [1, 2].map((quantity) => call(app, 'POST', '/coupons', { name: `fuzz-${quantity}`, discountType: 'FIXED', discountValue: 5, quantity })),
  );
  assert.is((await call(app, 'POST', `/coupons/${coupons[0]?.body.id}/issue`, { userId: users[1]?.body.id })).status, 201);
  ctx.seeded = {
    users: users.map((u) => u.body.id),
    products: products.map((p) => p.body.id),
    coupons: coupons.map((c) => c.body.id),
    open,
    paid,
    failed,
    cancelled,
  };
  // The outbox relay delivers (and deletes) what the seeding published before the fuzz takes its digest.
  await until(
    async () => Number((await ctx.database.db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n) === 0,
    'the outbox drains after seeding',
    60_000,
    50,
  );
});
it.after(async (ctx) => {
  await ctx.t?.close();
  await ctx.db?.drop();
});

it(`${CASES} seeded cases over every route (seed ${SEED}): no 5xx, no state change, every error is {error, message} without a stack`, async (ctx) => {
  const { app } = ctx.t;
  const before = await fingerprint(ctx.database);
  const statuses = new Map<number, number>();
  let checked = 0;
  for (let start = 0; start < CASES; start += IN_PARALLEL) {
    const cases = Array.from({ length: Math.min(IN_PARALLEL, CASES - start) }, () => nextCase(ctx.seeded));
    await Promise.all(
      cases.map(async (c, k) => {
        const label = `case ${start + k} (seed ${SEED}): ${c.what}: ${c.method} ${c.url.slice(0, 120)}`;
        const response = await app.inject({ method: c.method as 'GET', url: c.url, headers: c.headers, ...(c.payload !== undefined ? { payload: c.payload } : {}) });
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
        assert.ok(response.statusCode < 500, `${label} answered ${response.statusCode} ${response.body.slice(0, 300)}`);
        if (c.mustRefuse) assert.ok(response.statusCode >= 400, `${label} must be refused, answered ${response.statusCode}`);
        if (response.statusCode >= 400 && c.method !== 'HEAD') {
          let body: { error?: unknown; message?: unknown } | undefined;
          try {
            body = response.json();
          } catch {
            body = undefined;
          }
          assert.type(body?.error, 'string', `${label}: error body ${response.body.slice(0, 200)}`);
          assert.match(String(body?.error), /^[A-Z][A-Z_]+$/, `${label}: error is a code of the contract, got ${response.body.slice(0, 200)}`);
          assert.type(body?.message, 'string', `${label}: error body ${response.body.slice(0, 200)}`);
          assert.not.match(response.body, /\n\s+at |\.ts:\d+|node_modules/, `${label}: a stack trace leaked`);
        }
      }),
    );
    if (start + IN_PARALLEL >= checked + CHECK_EVERY || start + IN_PARALLEL >= CASES) {
      checked = start + IN_PARALLEL;
      assert.is(await fingerprint(ctx.database), before, `the database changed within cases up to ${checked} (seed ${SEED})`);
    }
  }
  console.log(`  fuzz: ${CASES} cases, answers ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
  // The engine still works after all that.
  const user = await call(app, 'POST', '/users', { name: 'after the fuzz', points: 1 });
  assert.is(user.status, 201);
});

it.run();
