// Seeds one side through its HTTP API: products, users and, for the pay scenarios, the orders the load will pay.

import type { Seeded } from './database.js';
import { parallelMap, type JsonClient } from './http.js';
import type { ReadTargets } from './load-protocol.js';
import type { Options } from './options.js';
import { READ_HEAVY_PAY_SHARE } from './reads.js';

/** Stock and points large enough that only the flash sale ever runs out. */
const AMPLE = 1_000_000_000;
const HOT_PRICE = 100;
const IN_FLIGHT = 64;
/** Pays per second the engine was seen to sustain on this kind of machine: sizes the order pool when no --rate is given. */
const POOL_PAYS_PER_SECOND = 4000;
/** read-heavy: requests per second to size the pool of its pays (a tenth of them) for, when no --rate is given. */
const READ_HEAVY_REQUESTS_PER_SECOND = 30_000;
/** Coupons for `GET /users/:id/coupons`: each holder gets COUPONS_PER_HOLDER of them. */
const COUPONS = 5;
const COUPONS_PER_HOLDER = 2;
const MAX_COUPON_HOLDERS = 2000;

export interface SeedResult {
  readonly seeded: Seeded;
  readonly userIds: readonly string[];
  readonly productIds: readonly string[];
  readonly hotProductId: string;
  readonly orderIds: readonly string[];
  /** What the read queries pick from (mix and read-heavy; empty lists otherwise). */
  readonly reads: ReadTargets;
  readonly seconds: number;
}

const NO_READS: ReadTargets = { orderIds: [], orderUserIds: [], couponHolderIds: [], userNames: [], productNames: [] };

/** Whether the scenario reads the read side's queries, and so needs data for them. */
export const readsQueries = (options: Options) => options.scenario === 'mix' || options.scenario === 'read-heavy';

/** How many orders a pay scenario pre-creates: --orders, else enough for the duration at the rate (or a generous guess). */
export function poolSize(options: Options): number {
  if (options.scenario === 'mix') return 0;
  if (options.orders !== undefined) return options.orders;
  if (options.scenario === 'flash-sale') return options.stock * 3;
  if (options.scenario === 'read-heavy') {
    const peak = Math.max(...options.stages.map((s) => s.rate ?? READ_HEAVY_REQUESTS_PER_SECOND));
    return Math.ceil(options.durationS * peak * READ_HEAVY_PAY_SHARE * 1.2);
  }
  const peak = Math.max(...options.stages.map((s) => s.rate ?? POOL_PAYS_PER_SECOND));
  return Math.ceil(options.durationS * peak * 1.2);
}

/** POSTs that the server may refuse for a moment under the seeding burst (503 OVERLOADED) are retried. */
async function create<T>(client: JsonClient, path: string, body: unknown, expected = 201): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const answer = await client.send<T>('POST', path, body);
    if (answer.status === expected) return answer.body;
    if (answer.status !== 503 || attempt >= 10) {
      throw new Error(`seeding: POST ${path} answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`);
    }
    await new Promise((r) => setTimeout(r, 100 * attempt));
  }
}

export async function seed(client: JsonClient, options: Options, say: (line: string) => void): Promise<SeedResult> {
  const started = performance.now();
  const flash = options.scenario === 'flash-sale';
  const products = await parallelMap(Array.from({ length: options.products }), IN_FLIGHT, (_, i) =>
    create<{ id: string; name: string; stock: number }>(client, '/products', {
      name: `bench-product-${i}`,
      price: i === 0 ? HOT_PRICE : 100 + ((i * 37) % 900),
      stock: i === 0 && flash ? options.stock : AMPLE,
    }),
  );
  const users = await parallelMap(Array.from({ length: options.users }), IN_FLIGHT, (_, i) =>
    create<{ id: string; name: string; points: number }>(client, '/users', { name: `bench-user-${i}`, points: AMPLE }),
  );
  say(`seeded ${products.length} products and ${users.length} users in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const hot = products[0] as { id: string };
  const reads = readsQueries(options) ? await seedReads(client, options, users, products, say) : NO_READS;
  const count = poolSize(options);
  const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)] as T;
  const ordersStarted = performance.now();
  const orders = await parallelMap(Array.from({ length: count }), IN_FLIGHT, (_, i) => {
    // hot-product and flash-sale: every order buys one unit of the one product, buyers in turn;
    // uniform-pay and read-heavy: any buyer, any product (so stock lasts).
    const uniform = options.scenario === 'uniform-pay' || options.scenario === 'read-heavy';
    const userId = uniform ? pick(users).id : (users[i % users.length] as { id: string }).id;
    const productId = uniform ? pick(products).id : hot.id;
    return create<{ id: string }>(client, '/orders', { userId, items: [{ productId, quantity: 1 }] });
  });
  if (count > 0) {
    const s = (performance.now() - ordersStarted) / 1000;
    say(`created ${count} orders to pay in ${s.toFixed(1)} s (${Math.round(count / s)}/s)`);
  }

  return {
    seeded: { stock: new Map(products.map((p) => [p.id, p.stock])), points: new Map(users.map((u) => [u.id, u.points])) },
    userIds: users.map((u) => u.id),
    productIds: products.map((p) => p.id),
    hotProductId: hot.id,
    orderIds: orders.map((o) => o.id),
    reads,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * The data the read queries find: --read-orders paid orders (buyers in turn, one product, a
 * third of them two), and coupons issued to the first users, each holder COUPONS_PER_HOLDER.
 */
async function seedReads(
  client: JsonClient,
  options: Options,
  users: ReadonlyArray<{ id: string; name: string }>,
  products: ReadonlyArray<{ id: string; name: string }>,
  say: (line: string) => void,
): Promise<ReadTargets> {
  const started = performance.now();
  const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)] as T;
  const coupons = await parallelMap(Array.from({ length: COUPONS }), IN_FLIGHT, (_, k) =>
    create<{ id: string }>(client, '/coupons', { name: `bench-coupon-${k}`, discountType: 'FIXED', discountValue: 10, quantity: options.users }),
  );
  const holders = users.slice(0, Math.min(users.length, MAX_COUPON_HOLDERS));
  await parallelMap(
    holders.flatMap((user, i) => Array.from({ length: COUPONS_PER_HOLDER }, (_, c) => ({ userId: user.id, coupon: coupons[(i + c) % COUPONS] as { id: string } }))),
    IN_FLIGHT,
    ({ userId, coupon }) => create(client, `/coupons/${coupon.id}/issue`, { userId }),
  );
  const paid = await parallelMap(Array.from({ length: options.readOrders }), IN_FLIGHT, async (_, i) => {
    const user = users[i % users.length] as { id: string };
    const first = pick(products).id;
    const second = pick(products).id;
    const items = [{ productId: first, quantity: 1 }];
    if (second !== first && i % 3 === 0) items.push({ productId: second, quantity: 1 });
    const order = await create<{ id: string }>(client, '/orders', { userId: user.id, items });
    await create(client, `/orders/${order.id}/pay`, undefined, 200);
    return { id: order.id, userId: user.id };
  });
  say(
    `seeded ${paid.length} paid orders and ${holders.length * COUPONS_PER_HOLDER} issued coupons for the reads in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return {
    orderIds: paid.map((o) => o.id),
    orderUserIds: paid.map((o) => o.userId),
    couponHolderIds: holders.map((u) => u.id),
    userNames: users.map((u) => u.name),
    productNames: products.map((p) => p.name),
  };
}
