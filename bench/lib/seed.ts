// Seeds one side through its HTTP API: products, users and, for the pay scenarios, the orders the load will pay.

import type { Seeded } from './database.js';
import { parallelMap, type JsonClient } from './http.js';
import type { Options } from './options.js';

/** Stock and points large enough that only the flash sale ever runs out. */
const AMPLE = 1_000_000_000;
const HOT_PRICE = 100;
const IN_FLIGHT = 64;
/** Pays per second the engine was seen to sustain on this kind of machine: sizes the order pool when no --rate is given. */
const POOL_PAYS_PER_SECOND = 4000;

export interface SeedResult {
  readonly seeded: Seeded;
  readonly userIds: readonly string[];
  readonly productIds: readonly string[];
  readonly hotProductId: string;
  readonly orderIds: readonly string[];
  readonly seconds: number;
}

/** How many orders a pay scenario pre-creates: --orders, else enough for the duration at the rate (or a generous guess). */
export function poolSize(options: Options): number {
  if (options.scenario === 'mix') return 0;
  if (options.orders !== undefined) return options.orders;
  if (options.scenario === 'flash-sale') return options.stock * 3;
  const peak = Math.max(...options.stages.map((s) => s.rate ?? POOL_PAYS_PER_SECOND));
  return Math.ceil(options.durationS * peak * 1.2);
}

/** POSTs that the server may refuse for a moment under the seeding burst (503 OVERLOADED) are retried. */
async function create<T>(client: JsonClient, path: string, body: unknown): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const answer = await client.send<T>('POST', path, body);
    if (answer.status === 201) return answer.body;
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
    create<{ id: string; stock: number }>(client, '/products', {
      name: `bench-product-${i}`,
      price: i === 0 ? HOT_PRICE : 100 + ((i * 37) % 900),
      stock: i === 0 && flash ? options.stock : AMPLE,
    }),
  );
  const users = await parallelMap(Array.from({ length: options.users }), IN_FLIGHT, (_, i) =>
    create<{ id: string; points: number }>(client, '/users', { name: `bench-user-${i}`, points: AMPLE }),
  );
  say(`seeded ${products.length} products and ${users.length} users in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const hot = products[0] as { id: string };
  const count = poolSize(options);
  const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)] as T;
  const ordersStarted = performance.now();
  const orders = await parallelMap(Array.from({ length: count }), IN_FLIGHT, (_, i) => {
    // hot-product and flash-sale: every order buys one unit of the one product, buyers in turn;
    // uniform-pay: any buyer, any product.
    const uniform = options.scenario === 'uniform-pay';
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
    seconds: (performance.now() - started) / 1000,
  };
}
