// The OrderActor's coupon: the discount it takes off the total, and the coupon its pay and cancel sagas hand to the user.

import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import type { CouponTerms } from '../../actors/coupon/index.js';
import { orderModule, type OrderCommand, type OrderItem, type OrderState, type SagaStep } from '../../actors/order/index.js';
import { accept, reject, type Rejection, type Result } from '../../actors/shared/result.js';
import { userModule, type HeldCoupon, type UserCommand, type UserEvent, type UserState } from '../../actors/user/index.js';
import { decided, givenWhenThen } from '../helpers/given-when-then.js';

const OrderCoupons = suite('OrderActor coupons');

const T0 = 1_700_000_000_000;
const NOW = T0 + 60_000;
const TTL = 15 * 60_000;

const TERMS: CouponTerms = { name: 'Spring sale', discountType: 'FIXED', discountValue: 500, validFrom: null, validUntil: null };

/** The rejection a decision answers with, or undefined when it answers the view or defers. */
const refusal = (reply: 'view' | 'defer' | Rejection): Rejection | undefined => (reply === 'view' || reply === 'defer' ? undefined : reply);

const ITEMS: readonly OrderItem[] = [
  { productId: 'p1', quantity: 2, unitPrice: 300 },
  { productId: 'p2', quantity: 1, unitPrice: 500 },
];
const SUBTOTAL = 1100;

const { given, when } = givenWhenThen(orderModule, 'o1', NOW);

/** Feeds each command to the state in turn; the last decision and the state after all of them. */
function after(state: OrderState, first: OrderCommand, ...rest: OrderCommand[]): ReturnType<typeof when> {
  let last = when(state, first);
  for (const command of rest) last = when(last.state, command);
  return last;
}

const createWith = (discountType: 'FIXED' | 'PERCENT', discountValue: number, items: readonly OrderItem[] = ITEMS): OrderCommand => ({
  type: 'CreateOrder',
  userId: 'u1',
  items,
  ttlMs: TTL,
  coupon: { couponId: 'c1', discountType, discountValue },
});

const stepOk: Result<unknown> = accept({});
const stepReplied = (step: SagaStep, result: Result<unknown> = stepOk): OrderCommand => ({ type: 'StepReplied', step, result });
const reserveStep = (productId: string, attempt = 1): SagaStep => ({ action: 'reserve', productId, attempt });
const releaseStep = (productId: string, attempt = 1): SagaStep => ({ action: 'release', productId, attempt });

/** An order o1 for ITEMS with a FIXED 500 coupon c1: total 600. */
const withCoupon = (): OrderState => when(given(), createWith('FIXED', 500)).state;

OrderCoupons('an order snapshotted before coupons existed is restored with no coupon and no discount', () => {
  const snapshot = { status: 'PAID', id: 'o1', userId: 'u1', items: [], total: 5, createdAt: T0, updatedAt: T0, expiresAt: T0 } as unknown as OrderState;
  const restored = orderModule.restore?.(snapshot) as OrderState;
  assert.equal(restored, { ...snapshot, couponId: null, discount: 0, saga: null, attempt: 0, failure: null });
  assert.is(orderModule.view(restored as Exclude<OrderState, { status: 'NONE' }>).couponId, null);
});

OrderCoupons('CreateOrder with a FIXED coupon records the coupon and the discount, and the total less it', () => {
  const decision = when(given(), createWith('FIXED', 500));

  assert.equal(decision.events, [
    { type: 'OrderCreated', id: 'o1', userId: 'u1', items: ITEMS, total: 600, expiresAt: NOW + TTL, at: NOW, couponId: 'c1', discount: 500 },
  ]);
  assert.is(decision.reply, 'view');
  const view = orderModule.view(decision.state);
  assert.is(view.total, 600);
  assert.is(view.couponId, 'c1');
  assert.is(view.discount, 500);
});

OrderCoupons('a FIXED discount above the subtotal is capped at it: the order costs nothing', () => {
  const decision = when(given(), createWith('FIXED', 5_000));
  const view = orderModule.view(decision.state);
  assert.is(view.discount, SUBTOTAL);
  assert.is(view.total, 0);
});

OrderCoupons('a PERCENT discount is rounded down, the total rounded up accordingly', () => {
  const cases: Array<[number, readonly OrderItem[], number]> = [
    [15, ITEMS, 165],
    [33, ITEMS, 363],
    [100, ITEMS, SUBTOTAL],
    [10, [{ productId: 'p1', quantity: 1, unitPrice: 999 }], 99],
    [50, [{ productId: 'p1', quantity: 1, unitPrice: 1 }], 0],
  ];
  for (const [percent, items, discount] of cases) {
    const subtotal = items.reduce((sum, item) => sum + item.quantity * item.unitPrice, 0);
    const view = orderModule.view(when(given(), createWith('PERCENT', percent, items)).state);
    assert.is(view.discount, discount, `${percent}% of ${subtotal}`);
    assert.is(view.total, subtotal - discount, `${percent}% of ${subtotal}`);
  }
});

OrderCoupons('CreateOrder without a coupon records no coupon: couponId null, discount 0 in the view', () => {
  const decision = when(given(), { type: 'CreateOrder', userId: 'u1', items: ITEMS, ttlMs: TTL });
  assert.ok(decision.events[0] && !('couponId' in decision.events[0]) && !('discount' in decision.events[0]));
  const view = orderModule.view(decision.state);
  assert.is(view.total, SUBTOTAL);
  assert.is(view.couponId, null);
  assert.is(view.discount, 0);
});

OrderCoupons('an invalid order with a coupon is still rejected before any discount', () => {
  const decision = when(given(), createWith('FIXED', 500, []));
  assert.equal(decision.events, []);
  assert.equal(refusal(decision.reply)?.error, 'INVALID_ORDER');
});

OrderCoupons("the pay saga's DebitPoints carries the discounted total and the order's coupon", () => {
  const paying = when(withCoupon(), { type: 'PayOrder' });
  const reserved = after(paying.state, stepReplied(reserveStep('p1')), stepReplied(reserveStep('p2')));

  assert.equal(reserved.effects, [
    { to: { kind: 'user', id: 'u1' }, command: { type: 'DebitPoints', ref: 'o1', amount: 600, resumed: false, couponId: 'c1' }, step: { action: 'debit', attempt: 1 } },
  ]);

  const paid = when(reserved.state, stepReplied({ action: 'debit', attempt: 1 }));
  assert.is(paid.state.status, 'PAID');
  assert.is(paid.settle, 'view');
  assert.is(orderModule.view(paid.state).couponId, 'c1');
});

OrderCoupons("a resumed pay saga's DebitPoints is resumed and still carries the coupon", () => {
  const paying = when(withCoupon(), { type: 'PayOrder' });
  const stalled = when(paying.state, stepReplied(reserveStep('p1'), reject('DATABASE_UNAVAILABLE', 'down')));
  const resumed = when(stalled.state, { type: 'ResumeSaga' });
  const reserved = after(resumed.state, stepReplied(reserveStep('p1', 2)), stepReplied(reserveStep('p2', 2)));

  assert.equal(reserved.effects, [
    { to: { kind: 'user', id: 'u1' }, command: { type: 'DebitPoints', ref: 'o1', amount: 600, resumed: true, couponId: 'c1' }, step: { action: 'debit', attempt: 2 } },
  ]);
});

OrderCoupons("the cancel saga's RefundPoints carries the discounted total and the order's coupon", () => {
  const paid = given(
    { type: 'OrderCreated', id: 'o1', userId: 'u1', items: ITEMS, total: 600, expiresAt: T0 + TTL, at: T0, couponId: 'c1', discount: 500 },
    { type: 'PaymentStarted', at: T0 },
    { type: 'OrderPaid', at: T0 },
  );

  const cancelling = when(paid, { type: 'CancelOrder' });

  const refunds = (cancelling.effects ?? []).filter((e) => e.to.kind === 'user');
  assert.equal(refunds, [{ to: { kind: 'user', id: 'u1' }, command: { type: 'RefundPoints', ref: 'o1', amount: 600, couponId: 'c1' }, step: { action: 'refund', attempt: 1 } }]);
  assert.is(cancelling.reply, 'defer');
});

OrderCoupons('an order without a coupon sends DebitPoints and RefundPoints without a couponId', () => {
  const plain = when(given(), { type: 'CreateOrder', userId: 'u1', items: ITEMS, ttlMs: TTL }).state;
  const reserved = after(when(plain, { type: 'PayOrder' }).state, stepReplied(reserveStep('p1')), stepReplied(reserveStep('p2')));
  const debit = reserved.effects?.[0]?.command as UserCommand;
  assert.ok(debit.type === 'DebitPoints' && !('couponId' in debit), JSON.stringify(debit));

  const paid = when(reserved.state, stepReplied({ action: 'debit', attempt: 1 })).state;
  const refund = when(paid, { type: 'CancelOrder' }).effects?.find((e) => e.to.kind === 'user')?.command as UserCommand;
  assert.ok(refund.type === 'RefundPoints' && !('couponId' in refund), JSON.stringify(refund));
});

OrderCoupons('a debit refused for the coupon releases the stock and fails the order with that reason', () => {
  const paying = when(withCoupon(), { type: 'PayOrder' });
  const reserved = after(paying.state, stepReplied(reserveStep('p1')), stepReplied(reserveStep('p2')));
  const used = reject('COUPON_ALREADY_USED', 'coupon c1 was used on order o0');

  const releasing = when(reserved.state, stepReplied({ action: 'debit', attempt: 1 }, used));
  assert.equal(releasing.effects?.map((e) => e.step), [releaseStep('p1'), releaseStep('p2')]);

  const failed = after(releasing.state, stepReplied(releaseStep('p1')), stepReplied(releaseStep('p2')));
  assert.is(failed.state.status, 'FAILED');
  assert.equal(failed.settle, used);
  assert.is(orderModule.view(failed.state).failureReason, 'COUPON_ALREADY_USED');
});

// The user the sagas of the last test debit and refund: it holds coupon c1 and 1000 points.
const user = givenWhenThen(userModule, 'u1', NOW);
const userCreated: UserEvent = { type: 'UserCreated', id: 'u1', name: 'Ada', points: 1000, at: T0 };
const holding = (): UserState =>
  user.given(userCreated, { type: 'CouponClaimStarted', couponId: 'c1', at: T0 }, { type: 'ClaimAsked', couponId: 'c1', attempt: 1 }, { type: 'CouponGranted', couponId: 'c1', ...TERMS, at: T0 });
const heldOf = (state: UserState): HeldCoupon | undefined => (state.status === 'ACTIVE' ? state.coupons.c1 : undefined);
const pointsOf = (state: UserState): number => userModule.view(state).points;

OrderCoupons('pay, cancel and pay again against a real user: the coupon is used once, given back, used again', () => {
  let userState = holding();
  const journal = new Map<string, string[]>();
  const handleUser = (command: UserCommand): Result<unknown> => {
    const window = Object.fromEntries(journal);
    let decision = user.decide(userState, command, { seen: window });
    if ('recall' in decision) decision = user.decide(userState, command, { seen: { ...window, [decision.recall]: journal.get(decision.recall) ?? [] } });
    const applied = decided(decision);
    for (const event of applied.events) {
      userState = userModule.evolve(userState, event);
      const ref = userModule.refOf(event);
      if (ref !== undefined) journal.set(ref, [...(journal.get(ref) ?? []), event.type]);
    }
    return applied.reply === 'view' ? accept(userModule.view(userState)) : (applied.reply as Rejection);
  };
  /** Runs an order command and its saga to the end, products always agreeing. */
  const run = (state: OrderState, command: OrderCommand): OrderState => {
    let last = when(state, command);
    const pending = [...(last.effects ?? [])];
    for (let effect = pending.shift(); effect; effect = pending.shift()) {
      const result = effect.to.kind === 'user' ? handleUser(effect.command as UserCommand) : stepOk;
      last = when(last.state, stepReplied(effect.step, result));
      pending.push(...(last.effects ?? []));
    }
    return last.state;
  };

  const o1 = run(withCoupon(), { type: 'PayOrder' });
  assert.is(o1.status, 'PAID');
  assert.is(pointsOf(userState), 400);
  assert.equal(heldOf(userState), { status: 'USED', ...TERMS, issuedAt: T0, orderId: 'o1' });

  // A second order with the same coupon cannot pay while o1 holds it.
  const o2 = when(orderModule.initial('o2'), createWith('FIXED', 500)).state;
  const refused = run(o2, { type: 'PayOrder' });
  assert.is(refused.status, 'FAILED');
  assert.is(orderModule.view(refused).failureReason, 'COUPON_ALREADY_USED');
  assert.is(pointsOf(userState), 400);

  const cancelled = run(o1, { type: 'CancelOrder' });
  assert.is(cancelled.status, 'CANCELLED');
  assert.is(pointsOf(userState), 1000);
  assert.equal(heldOf(userState), { status: 'ISSUED', ...TERMS, issuedAt: T0 });

  const o3 = when(orderModule.initial('o3'), createWith('FIXED', 500)).state;
  assert.is(run(o3, { type: 'PayOrder' }).status, 'PAID');
  assert.equal(heldOf(userState), { status: 'USED', ...TERMS, issuedAt: T0, orderId: 'o3' });
});

OrderCoupons.run();
