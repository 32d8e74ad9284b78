// Coupons under faults: a coupon held by some buyers before a sale, and a claim rush for another one while the engine is being killed.

import * as assert from 'uvu/assert';
import { http } from './child.js';
import { until } from './until.js';

/** Creates a coupon of `quantity` and issues one to each of `holders` (every issue must succeed). */
export async function heldCoupon(url: string, holders: readonly string[]): Promise<string> {
  const coupon = await http(url, 'POST', '/coupons', { name: 'held', discountType: 'FIXED', discountValue: 5, quantity: holders.length });
  assert.is(coupon.status, 201, JSON.stringify(coupon.body));
  for (const userId of holders) assert.is((await http(url, 'POST', `/coupons/${coupon.body.id}/issue`, { userId })).status, 201);
  return coupon.body.id as string;
}

/** Creates a scarce coupon for a rush. */
export async function scarceCoupon(url: string, quantity: number): Promise<string> {
  const coupon = await http(url, 'POST', '/coupons', { name: 'rush', discountType: 'PERCENT', discountValue: 10, quantity });
  assert.is(coupon.status, 201, JSON.stringify(coupon.body));
  return coupon.body.id as string;
}

export interface ClaimLoad {
  /** Users whose claim was answered 201: they hold the coupon, whatever happens next. */
  readonly issued: Set<string>;
  /** Users answered 409 (sold out, already issued). */
  readonly refused: Set<string>;
  readonly inFlight: number;
  readonly done: Promise<void>;
}

/** Each of `users` claims the coupon once (503s retried after `retryDelayMs`); stops at the first request the engine does not answer. */
export function claimLoad(url: string, couponId: string, users: readonly string[], workers = 4, retryDelayMs = 25): ClaimLoad {
  const pool = [...users];
  const issued = new Set<string>();
  const refused = new Set<string>();
  let inFlight = 0;
  let gone = false;
  const worker = async () => {
    for (let userId = pool.shift(); userId !== undefined && !gone; userId = pool.shift()) {
      inFlight++;
      const answer = await http(url, 'POST', `/coupons/${couponId}/issue`, { userId }).catch(() => undefined);
      inFlight--;
      if (!answer) gone = true;
      else if (answer.status === 201) issued.add(userId);
      else if (answer.status === 409 && answer.body.error !== 'COUPON_CLAIM_IN_PROGRESS') refused.add(userId);
      else {
        await new Promise((r) => setTimeout(r, retryDelayMs));
        pool.push(userId);
      }
    }
  };
  const done = Promise.all(Array.from({ length: workers }, worker)).then(() => undefined);
  return {
    issued,
    refused,
    get inFlight() {
      return inFlight;
    },
    done,
  };
}

/** Who holds the coupon now, read through the engine. */
async function holders(url: string, couponId: string, users: readonly string[]): Promise<Set<string>> {
  const held = new Set<string>();
  for (const userId of users) {
    const page = await http(url, 'GET', `/users/${userId}/coupons?limit=100`);
    assert.is(page.status, 200);
    if ((page.body.items as Array<{ couponId: string }>).some((c) => c.couponId === couponId)) held.add(userId);
  }
  return held;
}

/**
 * Waits until every interrupted claim is finished (the coupon's issued count equals its holders),
 * then checks: issued ≤ quantity, and every claim answered 201 is held.
 */
export async function checkCoupon(url: string, couponId: string, users: readonly string[], acknowledged: ReadonlySet<string>): Promise<{ issued: number }> {
  let held = new Set<string>();
  let coupon: { issued: number; quantity: number } = { issued: -1, quantity: 0 };
  await until(async () => {
    coupon = (await http(url, 'GET', `/coupons/${couponId}`)).body;
    held = await holders(url, couponId, users);
    return coupon.issued === held.size;
  }, `claims of coupon ${couponId} are finished`, 30_000, 100);
  assert.ok(coupon.issued <= coupon.quantity, `coupon ${couponId}: ${coupon.issued} issued of ${coupon.quantity}`);
  for (const userId of acknowledged) assert.ok(held.has(userId), `user ${userId} was answered 201 for coupon ${couponId} and holds it`);
  return { issued: coupon.issued };
}
