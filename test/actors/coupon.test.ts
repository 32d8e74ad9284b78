// Coupons: the CouponActor (first come, first served, once per user), the user's claim saga that
// asks it, the coupon's use and return with an order's points, and the order's discount.

import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { couponModule, discountOn, outsideWindow, type CouponCommand, type CouponEvent, type CouponState, type CouponTerms, type CouponView } from '../../actors/coupon/index.js';
import { invalidTerms } from '../../actors/coupon/terms.js';
import { orderModule, type OrderCommand, type OrderEvent, type OrderItem, type OrderState, type SagaStep } from '../../actors/order/index.js';
import type { DecideContext, Decision, Effect } from '../../actors/shared/entity.js';
import { accept, reject, type ErrorCode, type Rejection, type Result } from '../../actors/shared/result.js';
import { userModule, type ClaimStep, type HeldCoupon, type UserCommand, type UserEvent, type UserState } from '../../actors/user/index.js';
import { prng } from '../helpers/prng.js';

const CouponActor = suite('CouponActor');
const CouponTermsSuite = suite('CouponTerms');
const UserCoupons = suite('UserActor coupons');
const OrderCoupons = suite('OrderActor coupons');
const CouponClaims = suite('Coupon claims (property)');

const T0 = 1_700_000_000_000;
const NOW = T0 + 60_000;
const HOUR = 3_600_000;
const TTL = 15 * 60_000;

const TERMS: CouponTerms = { name: 'Spring sale', discountType: 'FIXED', discountValue: 500, validFrom: null, validUntil: null };

/** What the actor remembers: command id → event types; an id not listed is outside the window. */
const ctx = (seen: Record<string, readonly string[]> = {}, now = NOW): DecideContext => ({ now, seen: (ref) => seen[ref] });

type Decided<E, Step> = Exclude<Decision<E, Step>, { recall: string }>;

function decided<E, Step>(decision: Decision<E, Step>): Decided<E, Step> {
  if ('recall' in decision) throw new assert.Assertion({ message: `expected a decision, got a recall of ${decision.recall}`, operator: 'decided', expects: 'events', actual: decision });
  return decision;
}

/** The rejection a decision answers with, or undefined when it answers the view or defers. */
const refusal = (reply: 'view' | 'defer' | Rejection): Rejection | undefined => (reply === 'view' || reply === 'defer' ? undefined : reply);

const iso = (ms: number): string => new Date(ms).toISOString();

// --- the coupon actor -------------------------------------------------------------------------

const couponCreated = (quantity = 2, terms: Partial<CouponTerms> = {}): CouponEvent => ({ type: 'CouponCreated', id: 'c1', quantity, ...TERMS, ...terms, at: T0 });
const issuedTo = (userId: string): CouponEvent => ({ type: 'CouponIssued', ref: userId, at: T0 });

/** The coupon after these events, folded from nothing. */
const coupon = (...events: CouponEvent[]): CouponState => events.reduce(couponModule.evolve, couponModule.initial('c1'));

function couponWhen(state: CouponState, command: CouponCommand, seen?: Record<string, readonly string[]>, now = NOW) {
  const decision = decided(couponModule.decide(state, command, ctx(seen, now)));
  return { ...decision, state: decision.events.reduce(couponModule.evolve, state) };
}

const issue = (userId = 'u1', resumed = false): CouponCommand => ({ type: 'IssueCoupon', userId, resumed });
const create = (quantity = 2, terms: Partial<CouponTerms> = {}): CouponCommand => ({ type: 'CreateCoupon', quantity, ...TERMS, ...terms });

CouponActor('CreateCoupon on a new id records CouponCreated with the terms and answers the view', () => {
  const decision = couponWhen(coupon(), create(3, { validFrom: T0, validUntil: T0 + HOUR }));

  assert.equal(decision.events, [{ type: 'CouponCreated', id: 'c1', quantity: 3, ...TERMS, validFrom: T0, validUntil: T0 + HOUR, at: NOW }]);
  assert.is(decision.reply, 'view');
  assert.ok(couponModule.exists(decision.state));
  assert.equal(couponModule.view(decision.state), { id: 'c1', ...TERMS, validFrom: T0, validUntil: T0 + HOUR, quantity: 3, issued: 0 });
});

CouponActor('CreateCoupon on an existing coupon is rejected with ALREADY_EXISTS', () => {
  const decision = couponWhen(coupon(couponCreated()), create());

  assert.equal(decision.events, []);
  assert.equal(decision.reply, { ok: false, error: 'ALREADY_EXISTS', message: 'coupon c1 already exists' });
});

CouponActor('CreateCoupon with invalid terms is rejected with INVALID_COUPON and records nothing', () => {
  const cases: Array<[number, Partial<CouponTerms>, string]> = [
    [0, {}, 'quantity must be a positive integer'],
    [-1, {}, 'quantity must be a positive integer'],
    [1.5, {}, 'quantity must be a positive integer'],
    [Number.NaN, {}, 'quantity must be a positive integer'],
    [2 ** 53, {}, 'quantity must be a positive integer'],
    [1, { discountValue: 0 }, 'discountValue must be a positive integer'],
    [1, { discountValue: -5 }, 'discountValue must be a positive integer'],
    [1, { discountValue: 2.5 }, 'discountValue must be a positive integer'],
    [1, { discountType: 'PERCENT', discountValue: 101 }, 'a PERCENT discount is at most 100'],
    [1, { validFrom: T0 + 1, validUntil: T0 }, 'validUntil is before validFrom'],
  ];
  for (const [quantity, terms, message] of cases) {
    const decision = couponWhen(coupon(), create(quantity, terms));
    const where = `${quantity} ${JSON.stringify(terms)}`;
    assert.equal(decision.events, [], where);
    assert.equal(decision.reply, { ok: false, error: 'INVALID_COUPON', message }, where);
  }
});

CouponActor('CreateCoupon accepts the edges: 100 percent, a one-instant window, an open-ended window', () => {
  for (const terms of [{ discountType: 'PERCENT', discountValue: 100 }, { validFrom: T0, validUntil: T0 }, { validFrom: T0 }, { validUntil: T0 }] as const) {
    const decision = couponWhen(coupon(), create(1, terms));
    assert.equal(decision.events.map((e) => e.type), ['CouponCreated'], JSON.stringify(terms));
  }
});

CouponActor('IssueCoupon before creation is rejected with NOT_FOUND', () => {
  for (const resumed of [false, true]) {
    const decision = couponWhen(coupon(), issue('u1', resumed), { u1: [] });
    assert.equal(decision.events, []);
    assert.equal(decision.reply, { ok: false, error: 'NOT_FOUND', message: 'coupon c1 not found' });
  }
  assert.not.ok(couponModule.exists(coupon()));
});

CouponActor('IssueCoupon issues one under the user id and counts it', () => {
  const decision = couponWhen(coupon(couponCreated(2)), issue('u1'));

  assert.equal(decision.events, [{ type: 'CouponIssued', ref: 'u1', at: NOW }]);
  assert.is(decision.reply, 'view');
  assert.is(couponModule.view(decision.state).issued, 1);
  assert.is(decision.state.status === 'ACTIVE' ? decision.state.updatedAt : 0, NOW);
});

CouponActor('IssueCoupon to a user already issued one records nothing and answers the view, even sold out', () => {
  const state = coupon(couponCreated(1), issuedTo('u1'));

  for (const resumed of [false, true]) {
    const decision = couponWhen(state, issue('u1', resumed), { u1: ['CouponIssued'] });
    assert.equal(decision.events, []);
    assert.is(decision.reply, 'view');
  }
  assert.is(couponModule.view(state).issued, 1);
});

CouponActor('resumed IssueCoupon with a user outside the window asks to recall it, then decides on the journal', () => {
  const state = coupon(couponCreated(1), issuedTo('u1'));
  assert.equal(couponModule.decide(state, issue('u1', true), ctx()), { recall: 'u1' });

  const already = couponWhen(state, issue('u1', true), { u1: ['CouponIssued'] });
  assert.equal(already.events, []);
  assert.is(already.reply, 'view');

  const fresh = couponWhen(coupon(couponCreated(1)), issue('u2', true), { u2: [] });
  assert.equal(fresh.events, [{ type: 'CouponIssued', ref: 'u2', at: NOW }]);
});

CouponActor('unresumed IssueCoupon with a user outside the window issues without a recall', () => {
  const decision = couponWhen(coupon(couponCreated(2)), issue('u1', false));
  assert.equal(decision.events.map((e) => e.type), ['CouponIssued']);
});

CouponActor('IssueCoupon once all are issued is rejected with COUPON_SOLD_OUT', () => {
  const state = coupon(couponCreated(2), issuedTo('u1'), issuedTo('u2'));

  const decision = couponWhen(state, issue('u3'), { u3: [] });

  assert.equal(decision.events, []);
  assert.equal(decision.reply, { ok: false, error: 'COUPON_SOLD_OUT', message: 'all 2 of coupon c1 are issued' });
  assert.is(couponModule.view(state).issued, 2);
});

CouponActor('IssueCoupon outside the validity window is rejected, the bounds themselves are inside', () => {
  const from = T0 + HOUR;
  const until = T0 + 2 * HOUR;
  const state = coupon(couponCreated(5, { validFrom: from, validUntil: until }));

  const early = couponWhen(state, issue(), {}, from - 1);
  assert.equal(early.events, []);
  assert.equal(early.reply, { ok: false, error: 'COUPON_NOT_YET_VALID', message: `coupon c1 is valid from ${iso(from)}` });

  const late = couponWhen(state, issue(), {}, until + 1);
  assert.equal(late.events, []);
  assert.equal(late.reply, { ok: false, error: 'COUPON_EXPIRED', message: `coupon c1 expired at ${iso(until)}` });

  for (const now of [from, until]) assert.equal(couponWhen(state, issue(), {}, now).events.map((e) => e.type), ['CouponIssued'], `at ${now}`);
});

CouponActor('a user already issued one still gets the view after the window closed', () => {
  const state = coupon(couponCreated(5, { validUntil: T0 + HOUR }), issuedTo('u1'));

  const decision = couponWhen(state, issue('u1', true), { u1: ['CouponIssued'] }, T0 + 2 * HOUR);

  assert.equal(decision.events, []);
  assert.is(decision.reply, 'view');
});

CouponActor('an expired coupon answers COUPON_EXPIRED before COUPON_SOLD_OUT', () => {
  const state = coupon(couponCreated(1, { validUntil: T0 + HOUR }), issuedTo('u1'));
  assert.equal(refusal(couponWhen(state, issue('u2'), {}, T0 + 2 * HOUR).reply)?.error, 'COUPON_EXPIRED');
});

CouponActor('issued never exceeds quantity over random unresumed and resumed asks', () => {
  for (let seed = 1; seed <= 50; seed++) {
    const random = prng(seed);
    const quantity = 1 + Math.floor(random() * 5);
    let state = coupon(couponCreated(quantity));
    const journal = new Map<string, string[]>();
    for (let step = 0; step < 60; step++) {
      const userId = `u${Math.floor(random() * 10)}`;
      // A user asks unresumed only while the coupon holds nothing for it (the user actor's rule).
      const resumed = journal.has(userId) || random() < 0.3;
      const window = random() < 0.5 ? Object.fromEntries(journal) : {};
      let decision = couponModule.decide(state, issue(userId, resumed), ctx(window));
      if ('recall' in decision) decision = couponModule.decide(state, issue(userId, resumed), ctx({ ...window, [userId]: journal.get(userId) ?? [] }));
      for (const event of decided(decision).events) {
        state = couponModule.evolve(state, event);
        journal.set(userId, [...(journal.get(userId) ?? []), event.type]);
      }
      const { issued } = couponModule.view(state);
      assert.ok(issued <= quantity, `seed ${seed}: ${issued} issued of ${quantity}`);
      assert.is(issued, journal.size, `seed ${seed}: issued = users holding one`);
      assert.ok([...journal.values()].every((types) => types.length === 1), `seed ${seed}: a user issued twice`);
    }
  }
});

CouponActor('module: every event durable, CouponIssued records the user, snapshot keeps the state, NONE has an empty view', () => {
  const events = [couponCreated(), issuedTo('u7')];
  assert.ok(events.every(couponModule.isDurable));
  assert.equal(events.map(couponModule.refOf), [undefined, 'u7']);
  const state = coupon(...events);
  assert.is(couponModule.snapshot(state), state);
  assert.equal(couponModule.view(coupon()), { id: 'c1', name: '', discountType: 'FIXED', discountValue: 0, validFrom: null, validUntil: null, quantity: 0, issued: 0 });
  assert.equal(couponModule.evolve(coupon(), issuedTo('u1')), coupon(), 'an issue before creation changes nothing');
});

// --- terms ------------------------------------------------------------------------------------

CouponTermsSuite('discountOn FIXED takes the value off, never more than the subtotal', () => {
  assert.is(discountOn(1100, { discountType: 'FIXED', discountValue: 500 }), 500);
  assert.is(discountOn(500, { discountType: 'FIXED', discountValue: 500 }), 500);
  assert.is(discountOn(300, { discountType: 'FIXED', discountValue: 500 }), 300);
  assert.is(discountOn(0, { discountType: 'FIXED', discountValue: 500 }), 0);
});

CouponTermsSuite('discountOn PERCENT rounds down to a whole unit', () => {
  assert.is(discountOn(1100, { discountType: 'PERCENT', discountValue: 15 }), 165);
  assert.is(discountOn(999, { discountType: 'PERCENT', discountValue: 10 }), 99, '99.9 rounds down');
  assert.is(discountOn(99, { discountType: 'PERCENT', discountValue: 1 }), 0, '0.99 rounds down');
  assert.is(discountOn(1, { discountType: 'PERCENT', discountValue: 99 }), 0);
  assert.is(discountOn(1234, { discountType: 'PERCENT', discountValue: 100 }), 1234);
  for (let subtotal = 0; subtotal <= 2_000; subtotal += 7) {
    for (const percent of [1, 3, 33, 50, 67, 99, 100]) {
      const off = discountOn(subtotal, { discountType: 'PERCENT', discountValue: percent });
      assert.is(off, Math.floor((subtotal * percent) / 100), `${percent}% of ${subtotal}`);
      assert.ok(off >= 0 && off <= subtotal);
    }
  }
});

// subtotal × percent passes 2^53 well below MAX_AMOUNT: floating point would round it one unit either way.
CouponTermsSuite('discountOn PERCENT is exact (rounded down) for subtotals up to MAX_AMOUNT', () => {
  const exact = (subtotal: number, percent: number) => Number((BigInt(subtotal) * BigInt(percent)) / 100n);
  assert.is(discountOn(100_000_000_000_001, { discountType: 'PERCENT', discountValue: 99 }), exact(100_000_000_000_001, 99));
  assert.is(discountOn(999_999_999_999_000, { discountType: 'PERCENT', discountValue: 75 }), exact(999_999_999_999_000, 75));
  for (let s = 2 ** 50 - 500; s <= 2 ** 50; s += 7) {
    for (const p of [1, 3, 33, 67, 99, 100]) assert.is(discountOn(s, { discountType: 'PERCENT', discountValue: p }), exact(s, p), `${p}% of ${s}`);
  }
});

CouponTermsSuite('outsideWindow: open bounds never refuse, the bounds are inclusive', () => {
  assert.is(outsideWindow('c1', { validFrom: null, validUntil: null }, 0), undefined);
  assert.is(outsideWindow('c1', { validFrom: T0, validUntil: null }, T0), undefined);
  assert.is(outsideWindow('c1', { validFrom: null, validUntil: T0 }, T0), undefined);
  assert.equal(outsideWindow('c1', { validFrom: T0, validUntil: null }, T0 - 1), reject('COUPON_NOT_YET_VALID', `coupon c1 is valid from ${iso(T0)}`));
  assert.equal(outsideWindow('c1', { validFrom: null, validUntil: T0 }, T0 + 1), reject('COUPON_EXPIRED', `coupon c1 expired at ${iso(T0)}`));
});

CouponTermsSuite('invalidTerms accepts valid terms and names the first problem', () => {
  assert.is(invalidTerms({ ...TERMS, quantity: 1 }), undefined);
  assert.is(invalidTerms({ ...TERMS, discountType: 'PERCENT', discountValue: 100, quantity: 1_000_000 }), undefined);
  assert.equal(invalidTerms({ ...TERMS, quantity: 0, discountValue: 0 })?.message, 'quantity must be a positive integer');
  assert.equal(invalidTerms({ ...TERMS, discountType: 'PERCENT', discountValue: 0, quantity: 1 })?.message, 'discountValue must be a positive integer');
  // A FIXED discount above 100 is fine: it is minor units, not percent.
  assert.is(invalidTerms({ ...TERMS, discountValue: 10_000, quantity: 1 }), undefined);
});

// --- the user's claims ------------------------------------------------------------------------

const userCreated = (points = 1000): UserEvent => ({ type: 'UserCreated', id: 'u1', name: 'Ada', points, at: T0 });
const claimStarted = (couponId = 'c1'): UserEvent => ({ type: 'CouponClaimStarted', couponId, at: T0 });
const asked = (attempt: number, couponId = 'c1'): UserEvent => ({ type: 'ClaimAsked', couponId, attempt });
const claimStalled = (couponId = 'c1'): UserEvent => ({ type: 'ClaimStalled', couponId });
const granted = (couponId = 'c1', terms: Partial<CouponTerms> = {}): UserEvent => ({ type: 'CouponGranted', couponId, ...TERMS, ...terms, at: T0 });
const debitedWith = (ref: string, amount: number, couponId?: string): UserEvent => ({ type: 'PointsDebited', ref, amount, ...(couponId ? { couponId } : {}), at: T0 });
const refundedWith = (ref: string, amount: number, couponId?: string): UserEvent => ({ type: 'PointsRefunded', ref, amount, ...(couponId ? { couponId } : {}), at: T0 });

/** The user after these events, folded from nothing. */
const user = (...events: UserEvent[]): UserState => events.reduce(userModule.evolve, userModule.initial('u1'));

function userWhen(state: UserState, command: UserCommand, seen?: Record<string, readonly string[]>, now = NOW) {
  const decision = decided(userModule.decide(state, command, ctx(seen, now)));
  return { ...decision, state: decision.events.reduce(userModule.evolve, state) };
}

const heldOf = (state: UserState, couponId = 'c1'): HeldCoupon | undefined => (state.status === 'ACTIVE' ? state.coupons[couponId] : undefined);
const pointsOf = (state: UserState): number => userModule.view(state).points;

const claim = (couponId = 'c1'): UserCommand => ({ type: 'ClaimCoupon', couponId });
const claimReplied = (attempt: number, result: Result<unknown>, couponId = 'c1'): UserCommand => ({ type: 'ClaimReplied', step: { couponId, attempt }, result });
const issueEffect = (attempt: number, resumed: boolean, couponId = 'c1'): Effect<ClaimStep> => ({
  to: { kind: 'coupon', id: couponId },
  command: { type: 'IssueCoupon', userId: 'u1', resumed },
  step: { couponId, attempt },
});
const couponView = (terms: Partial<CouponTerms> = {}): CouponView => ({ id: 'c1', ...TERMS, ...terms, quantity: 2, issued: 1 });
const soldOut = reject('COUPON_SOLD_OUT', 'all 2 of coupon c1 are issued');

// The claims every test starts from, each folded from its events.
const asking = (): UserState => user(userCreated(), claimStarted(), asked(1));
const stalledClaim = (): UserState => user(userCreated(), claimStarted(), asked(1), claimStalled());
const holding = (terms: Partial<CouponTerms> = {}): UserState => user(userCreated(), claimStarted(), asked(1), granted('c1', terms));

UserCoupons('ClaimCoupon starts a claim: CouponClaimStarted, ClaimAsked and one IssueCoupon, deferred on the coupon saga', () => {
  const decision = userWhen(user(userCreated()), claim());

  assert.equal(decision.events, [
    { type: 'CouponClaimStarted', couponId: 'c1', at: NOW },
    { type: 'ClaimAsked', couponId: 'c1', attempt: 1 },
  ]);
  assert.equal(decision.effects, [issueEffect(1, false)]);
  assert.is(decision.reply, 'defer');
  assert.is(decision.saga, 'c1');
  assert.is(decision.settle, undefined);
  assert.equal(heldOf(decision.state), { status: 'CLAIMING', attempt: 1, asking: true, since: NOW });
  assert.is(pointsOf(decision.state), 1000, 'a claim costs no points');
});

UserCoupons('ClaimCoupon on a user that does not exist is rejected with NOT_FOUND', () => {
  const decision = userWhen(user(), claim());
  assert.equal(decision.events, []);
  assert.equal(decision.reply, { ok: false, error: 'NOT_FOUND', message: 'user u1 not found' });
});

UserCoupons('the coupon issuing records CouponGranted with its terms and settles the claim with the view', () => {
  const terms = { discountType: 'PERCENT', discountValue: 20, validFrom: T0, validUntil: T0 + HOUR } as const;

  const decision = userWhen(asking(), claimReplied(1, accept(couponView(terms))), {}, NOW + 5);

  assert.equal(decision.events, [{ type: 'CouponGranted', couponId: 'c1', ...TERMS, ...terms, at: NOW + 5 }]);
  assert.is(decision.reply, 'view');
  assert.is(decision.settle, 'view');
  assert.is(decision.saga, 'c1');
  assert.equal(decision.effects ?? [], []);
  assert.equal(heldOf(decision.state), { status: 'ISSUED', ...TERMS, ...terms, issuedAt: NOW + 5 });
});

UserCoupons('a business rejection records CouponClaimFailed, settles with it and forgets the claim', () => {
  for (const rejection of [soldOut, reject('COUPON_EXPIRED', 'coupon c1 expired'), reject('NOT_FOUND', 'coupon c1 not found')]) {
    const decision = userWhen(asking(), claimReplied(1, rejection));

    assert.equal(decision.events, [{ type: 'CouponClaimFailed', couponId: 'c1', error: rejection.error, at: NOW }], rejection.error);
    assert.is(decision.reply, 'view');
    assert.equal(decision.settle, rejection);
    assert.is(decision.saga, 'c1');
    assert.is(heldOf(decision.state), undefined, rejection.error);
  }
});

UserCoupons('after a failed claim the user may claim again: a fresh, unresumed first attempt', () => {
  const failed = userWhen(asking(), claimReplied(1, soldOut)).state;

  const again = userWhen(failed, claim());

  assert.equal(again.events.map((e) => e.type), ['CouponClaimStarted', 'ClaimAsked']);
  assert.equal(again.effects, [issueEffect(1, false)]);
  assert.is(again.reply, 'defer');
});

UserCoupons('an infrastructure error records ClaimStalled, settles with it, and keeps the claim open at the same attempt', () => {
  for (const error of ['DATABASE_UNAVAILABLE', 'OVERLOADED', 'TIMEOUT'] as const) {
    const rejection = reject(error, 'try again');
    const decision = userWhen(asking(), claimReplied(1, rejection));

    assert.equal(decision.events, [{ type: 'ClaimStalled', couponId: 'c1' }], error);
    assert.is(decision.reply, 'view');
    assert.equal(decision.settle, rejection);
    assert.is(decision.saga, 'c1');
    assert.equal(heldOf(decision.state), { status: 'CLAIMING', attempt: 1, asking: false, since: T0 }, error);
  }
});

UserCoupons('ResumeClaims asks again for a stalled claim: attempt + 1, resumed, answering the view without a saga', () => {
  const decision = userWhen(stalledClaim(), { type: 'ResumeClaims' });

  assert.equal(decision.events, [{ type: 'ClaimAsked', couponId: 'c1', attempt: 2 }]);
  assert.equal(decision.effects, [issueEffect(2, true)]);
  assert.is(decision.reply, 'view');
  assert.is(decision.settle, undefined);
  assert.equal(heldOf(decision.state), { status: 'CLAIMING', attempt: 2, asking: true, since: T0 });
});

UserCoupons('ResumeClaims asks only for claims not asking: not for one asking, nor held, nor used', () => {
  const state = user(
    userCreated(),
    claimStarted('c1'), asked(1, 'c1'), claimStalled('c1'),
    claimStarted('c2'), asked(1, 'c2'),
    claimStarted('c3'), asked(1, 'c3'), granted('c3'),
    claimStarted('c4'), asked(1, 'c4'), granted('c4'), debitedWith('o1', 10, 'c4'),
    claimStarted('c5'),
  );

  const decision = userWhen(state, { type: 'ResumeClaims' });

  assert.equal(decision.events, [asked(2, 'c1'), asked(1, 'c5')]);
  assert.equal(decision.effects, [issueEffect(2, true, 'c1'), issueEffect(1, true, 'c5')]);
  assert.is(decision.reply, 'view');
});

UserCoupons('ResumeClaims with no open claim does nothing', () => {
  for (const state of [user(userCreated()), asking(), holding()]) {
    const decision = userWhen(state, { type: 'ResumeClaims' });
    assert.equal(decision.events, []);
    assert.equal(decision.effects, []);
    assert.is(decision.reply, 'view');
  }
});

UserCoupons('a late answer to an older attempt is ignored, whatever it says', () => {
  const resumed = userWhen(stalledClaim(), { type: 'ResumeClaims' }).state;

  for (const result of [accept(couponView()), soldOut, reject('TIMEOUT', 'late')]) {
    const decision = userWhen(resumed, claimReplied(1, result));
    assert.equal(decision.events, [], JSON.stringify(result));
    assert.is(decision.reply, 'view');
    assert.is(decision.settle, undefined, 'the askers keep waiting for attempt 2');
    assert.equal(decision.state, resumed);
  }
  // And the current attempt still counts.
  assert.equal(userWhen(resumed, claimReplied(2, accept(couponView()))).events.map((e) => e.type), ['CouponGranted']);
});

UserCoupons('an answer to a claim not asking, not open, or already decided is ignored', () => {
  const cases: Array<[string, UserState, UserCommand]> = [
    ['stalled', stalledClaim(), claimReplied(1, accept(couponView()))],
    ['no claim', user(userCreated()), claimReplied(1, accept(couponView()))],
    ['another coupon', asking(), claimReplied(1, accept(couponView()), 'c9')],
    ['a future attempt', asking(), claimReplied(2, accept(couponView()))],
    ['granted', holding(), claimReplied(1, soldOut)],
  ];
  for (const [name, state, command] of cases) {
    const decision = userWhen(state, command);
    assert.equal(decision.events, [], name);
    assert.is(decision.settle, undefined, name);
    assert.equal(decision.state, state, name);
  }
});

// The brief described this as deferring on the same saga; actors/user/decide.ts:88 now refuses it.
UserCoupons('a second ClaimCoupon while asking is refused with COUPON_CLAIM_IN_PROGRESS and asks nothing more', () => {
  const decision = userWhen(asking(), claim());

  assert.equal(decision.events, []);
  assert.equal(decision.effects ?? [], []);
  assert.equal(decision.reply, { ok: false, error: 'COUPON_CLAIM_IN_PROGRESS', message: 'user u1 is already claiming coupon c1' });
  assert.is(decision.settle, undefined);
  assert.equal(decision.state, asking());
});

UserCoupons('ClaimCoupon on a stalled claim asks again (resumed, attempt + 1) and waits on the saga', () => {
  const decision = userWhen(stalledClaim(), claim());

  assert.equal(decision.events, [{ type: 'ClaimAsked', couponId: 'c1', attempt: 2 }]);
  assert.equal(decision.effects, [issueEffect(2, true)]);
  assert.is(decision.reply, 'defer');
  assert.is(decision.saga, 'c1');
});

UserCoupons('ClaimCoupon for a coupon held or used is rejected with COUPON_ALREADY_ISSUED', () => {
  for (const state of [holding(), user(userCreated(), claimStarted(), asked(1), granted(), debitedWith('o1', 10, 'c1'))]) {
    const decision = userWhen(state, claim());
    assert.equal(decision.events, []);
    assert.equal(decision.effects ?? [], []);
    assert.equal(decision.reply, { ok: false, error: 'COUPON_ALREADY_ISSUED', message: 'user u1 already holds coupon c1' });
  }
});

UserCoupons('claims of two coupons run side by side, each settling only its own saga', () => {
  const both = userWhen(asking(), claim('c2'));
  assert.is(both.saga, 'c2');
  assert.equal(both.effects, [issueEffect(1, false, 'c2')]);

  const second = userWhen(both.state, claimReplied(1, soldOut, 'c2'));
  assert.is(second.saga, 'c2');
  assert.equal(second.settle, soldOut);
  assert.equal(heldOf(second.state, 'c1'), { status: 'CLAIMING', attempt: 1, asking: true, since: T0 });

  const first = userWhen(second.state, claimReplied(1, accept(couponView())));
  assert.is(first.saga, 'c1');
  assert.is(first.settle, 'view');
  assert.is(heldOf(first.state, 'c1')?.status, 'ISSUED');
  assert.is(heldOf(first.state, 'c2'), undefined);
});

// --- coupons on an order's debit and refund -----------------------------------------------------

UserCoupons('DebitPoints with a held coupon marks it used by the order in PointsDebited', () => {
  const decision = userWhen(holding(), { type: 'DebitPoints', ref: 'o1', amount: 600, resumed: false, couponId: 'c1' });

  assert.equal(decision.events, [{ type: 'PointsDebited', ref: 'o1', amount: 600, couponId: 'c1', at: NOW }]);
  assert.is(decision.reply, 'view');
  assert.is(pointsOf(decision.state), 400);
  assert.equal(heldOf(decision.state), { status: 'USED', ...TERMS, issuedAt: T0, orderId: 'o1' });
});

UserCoupons('DebitPoints without a coupon leaves held coupons alone and records no couponId', () => {
  const decision = userWhen(holding(), { type: 'DebitPoints', ref: 'o1', amount: 600, resumed: false });

  assert.equal(decision.events, [{ type: 'PointsDebited', ref: 'o1', amount: 600, at: NOW }]);
  assert.is(heldOf(decision.state)?.status, 'ISSUED');
});

UserCoupons('DebitPoints with a coupon not held, still claiming, used, expired or not yet valid is rejected and records nothing', () => {
  const from = T0 + HOUR;
  const until = T0 + 2 * HOUR;
  const cases: Array<[UserState, number, Rejection]> = [
    [user(userCreated()), NOW, reject('COUPON_NOT_HELD', 'user u1 does not hold coupon c1')],
    [asking(), NOW, reject('COUPON_NOT_HELD', 'user u1 does not hold coupon c1')],
    [stalledClaim(), NOW, reject('COUPON_NOT_HELD', 'user u1 does not hold coupon c1')],
    [user(userCreated(), claimStarted(), asked(1), granted(), debitedWith('o0', 10, 'c1')), NOW, reject('COUPON_ALREADY_USED', 'coupon c1 was used on order o0')],
    [holding({ validUntil: until }), until + 1, reject('COUPON_EXPIRED', `coupon c1 expired at ${iso(until)}`)],
    [holding({ validFrom: from }), from - 1, reject('COUPON_NOT_YET_VALID', `coupon c1 is valid from ${iso(from)}`)],
  ];
  for (const [state, now, rejection] of cases) {
    const decision = userWhen(state, { type: 'DebitPoints', ref: 'o1', amount: 10, resumed: false, couponId: 'c1' }, {}, now);
    assert.equal(decision.events, [], rejection.error);
    assert.equal(decision.reply, rejection);
  }
  // Inside the window, bounds included, the coupon is usable.
  for (const now of [from, until]) {
    const decision = userWhen(holding({ validFrom: from, validUntil: until }), { type: 'DebitPoints', ref: 'o1', amount: 10, resumed: false, couponId: 'c1' }, {}, now);
    assert.equal(decision.events.map((e) => e.type), ['PointsDebited'], `at ${now}`);
  }
});

UserCoupons('a repeated debit of the order that used the coupon answers the view, not COUPON_ALREADY_USED', () => {
  const state = user(userCreated(), claimStarted(), asked(1), granted(), debitedWith('o1', 600, 'c1'));
  const command: UserCommand = { type: 'DebitPoints', ref: 'o1', amount: 600, resumed: true, couponId: 'c1' };

  assert.equal(userModule.decide(state, command, ctx()), { recall: 'o1' });
  const decision = userWhen(state, command, { o1: ['PointsDebited'] });
  assert.equal(decision.events, []);
  assert.is(decision.reply, 'view');
});

UserCoupons('RefundPoints with the coupon the order used gives it back: ISSUED again, without the order', () => {
  const state = user(userCreated(), claimStarted(), asked(1), granted(), debitedWith('o1', 600, 'c1'));

  const decision = userWhen(state, { type: 'RefundPoints', ref: 'o1', amount: 600, couponId: 'c1' }, { o1: ['PointsDebited'] });

  assert.equal(decision.events, [{ type: 'PointsRefunded', ref: 'o1', amount: 600, couponId: 'c1', at: NOW }]);
  assert.is(pointsOf(decision.state), 1000);
  assert.equal(heldOf(decision.state), { status: 'ISSUED', ...TERMS, issuedAt: T0 });

  // Given back, it pays another order.
  const reused = userWhen(decision.state, { type: 'DebitPoints', ref: 'o2', amount: 100, resumed: false, couponId: 'c1' });
  assert.equal(reused.events.map((e) => e.type), ['PointsDebited']);
  assert.equal(heldOf(reused.state), { status: 'USED', ...TERMS, issuedAt: T0, orderId: 'o2' });
});

UserCoupons('a refund gives the coupon back only if this order used it', () => {
  // c1 used by o2; o1 (debited without it) refunds naming c1: the points come back, the coupon stays with o2.
  const state = user(userCreated(), claimStarted(), asked(1), granted(), debitedWith('o1', 100), debitedWith('o2', 100, 'c1'));
  const decision = userWhen(state, { type: 'RefundPoints', ref: 'o1', amount: 100, couponId: 'c1' }, { o1: ['PointsDebited'] });
  assert.equal(decision.events.map((e) => e.type), ['PointsRefunded']);
  assert.is(pointsOf(decision.state), 900);
  assert.equal(heldOf(decision.state), { status: 'USED', ...TERMS, issuedAt: T0, orderId: 'o2' });

  // A coupon merely held (never used) is not touched by a refund naming it.
  const held = userModule.evolve(user(userCreated(), claimStarted(), asked(1), granted(), debitedWith('o1', 100)), refundedWith('o1', 100, 'c1'));
  assert.equal(heldOf(held), { status: 'ISSUED', ...TERMS, issuedAt: T0 });
  // Nor one never held.
  assert.is(heldOf(userModule.evolve(user(userCreated(), debitedWith('o1', 100)), refundedWith('o1', 100, 'c1'))), undefined);
});

UserCoupons('a refund already applied, or of an order never debited, gives nothing back twice', () => {
  const state = user(userCreated(), claimStarted(), asked(1), granted(), debitedWith('o1', 600, 'c1'), refundedWith('o1', 600, 'c1'), debitedWith('o2', 100, 'c1'));
  const again = userWhen(state, { type: 'RefundPoints', ref: 'o1', amount: 600, couponId: 'c1' }, { o1: ['PointsDebited', 'PointsRefunded'] });
  assert.equal(again.events, []);
  assert.equal(heldOf(again.state), { status: 'USED', ...TERMS, issuedAt: T0, orderId: 'o2' }, 'o2 keeps the coupon');

  const never = userWhen(holding(), { type: 'RefundPoints', ref: 'o3', amount: 600, couponId: 'c1' }, { o3: [] });
  assert.equal(never.events, []);
});

// --- module -----------------------------------------------------------------------------------

UserCoupons('ClaimAsked and ClaimStalled are volatile; the rest of the claim is durable and carries no ref', () => {
  const events: UserEvent[] = [claimStarted(), asked(1), claimStalled(), granted(), { type: 'CouponClaimFailed', couponId: 'c1', error: 'COUPON_SOLD_OUT', at: T0 }];
  assert.equal(events.map(userModule.isDurable), [true, false, false, true, true]);
  assert.equal(events.map(userModule.refOf), [undefined, undefined, undefined, undefined, undefined]);
  assert.equal([debitedWith('o1', 1, 'c1'), refundedWith('o1', 1, 'c1')].map(userModule.refOf), ['o1', 'o1']);
});

UserCoupons('snapshot turns asking claims to not asking, keeping the attempt, and leaves the rest alone', () => {
  const state = user(userCreated(), claimStarted('c1'), asked(3, 'c1'), claimStarted('c2'), asked(1, 'c2'), claimStalled('c2'), claimStarted('c3'), asked(1, 'c3'), granted('c3'));

  const snap = userModule.snapshot(state);

  assert.equal(heldOf(snap, 'c1'), { status: 'CLAIMING', attempt: 3, asking: false, since: T0 });
  assert.equal(heldOf(snap, 'c2'), { status: 'CLAIMING', attempt: 1, asking: false, since: T0 });
  assert.equal(heldOf(snap, 'c3'), heldOf(state, 'c3'));
  assert.equal(heldOf(state, 'c1'), { status: 'CLAIMING', attempt: 3, asking: true, since: T0 }, 'the live state is not changed');
  const quiet = holding();
  assert.is(userModule.snapshot(quiet), quiet);
  const none = user();
  assert.is(userModule.snapshot(none), none);
});

UserCoupons('onRecovered asks ResumeClaims while a claim is open, nothing otherwise', () => {
  assert.equal(userModule.onRecovered?.(asking()), { type: 'ResumeClaims' });
  assert.equal(userModule.onRecovered?.(stalledClaim()), { type: 'ResumeClaims' });
  assert.equal(userModule.onRecovered?.(user(userCreated(), claimStarted())), { type: 'ResumeClaims' });
  for (const state of [user(), user(userCreated()), holding(), userWhen(asking(), claimReplied(1, soldOut)).state]) {
    assert.is(userModule.onRecovered?.(state), undefined);
  }
});

UserCoupons('recovered from its journal alone, an interrupted claim resumes with a resumed ask', () => {
  const live = userWhen(user(userCreated()), claim());
  const durable = live.events.filter(userModule.isDurable);
  assert.equal(durable.map((e) => e.type), ['CouponClaimStarted']);
  const recovered = user(userCreated(), ...durable);
  assert.equal(heldOf(recovered), { status: 'CLAIMING', attempt: 0, asking: false, since: NOW });

  const resume = userModule.onRecovered?.(recovered);
  assert.ok(resume);
  const decision = userWhen(recovered, resume);
  assert.equal(decision.effects, [issueEffect(1, true)]);
  assert.equal(userWhen(decision.state, claimReplied(1, accept(couponView()))).events.map((e) => e.type), ['CouponGranted']);
});

UserCoupons('replied builds the ClaimReplied the claim understands', () => {
  const result = accept(couponView());
  assert.equal(userModule.replied?.({ couponId: 'c1', attempt: 4 }, result), { type: 'ClaimReplied', step: { couponId: 'c1', attempt: 4 }, result });
});

UserCoupons('a user snapshotted before coupons existed (no coupons field) is restored holding none, then claims and debits', () => {
  const snapshot = { status: 'ACTIVE', id: 'u1', name: 'Ada', points: 1000, createdAt: T0, updatedAt: T0 } as unknown as UserState;
  const old = userModule.restore?.(snapshot) as UserState;

  assert.equal(old, { ...snapshot, coupons: {} });
  assert.equal(userWhen(old, { type: 'DebitPoints', ref: 'o1', amount: 1, resumed: false, couponId: 'c1' }).reply, reject('COUPON_NOT_HELD', 'user u1 does not hold coupon c1'));
  assert.equal(userWhen(old, { type: 'ResumeClaims' }).events, []);
  assert.is(userModule.onRecovered?.(old), undefined);
  const claimed = userWhen(old, claim());
  assert.equal(heldOf(claimed.state), { status: 'CLAIMING', attempt: 1, asking: true, since: NOW });
  const current = user(userCreated());
  assert.is(userModule.restore?.(current), current, 'a snapshot in today\'s shape is kept as it is');
});

UserCoupons('an order snapshotted before coupons existed is restored with no coupon and no discount', () => {
  const snapshot = { status: 'PAID', id: 'o1', userId: 'u1', items: [], total: 5, createdAt: T0, updatedAt: T0, expiresAt: T0 } as unknown as OrderState;
  const restored = orderModule.restore?.(snapshot) as OrderState;
  assert.equal(restored, { ...snapshot, couponId: null, discount: 0 });
  assert.is(orderModule.view(restored as Exclude<OrderState, { status: 'NONE' }>).couponId, null);
});

// --- the order's discount and the coupon in its sagas -------------------------------------------

const ITEMS: readonly OrderItem[] = [
  { productId: 'p1', quantity: 2, unitPrice: 300 },
  { productId: 'p2', quantity: 1, unitPrice: 500 },
];
const SUBTOTAL = 1100;

/** The order after these events, folded from nothing. */
const order = (...events: OrderEvent[]): OrderState => events.reduce(orderModule.evolve, orderModule.initial('o1'));

function orderWhen(state: OrderState, command: OrderCommand, now = NOW) {
  const decision = decided(orderModule.decide(state, command, ctx({}, now)));
  return { ...decision, state: decision.events.reduce(orderModule.evolve, state) };
}

function orderAfter(state: OrderState, ...commands: OrderCommand[]) {
  let last = orderWhen(state, commands[0] ?? { type: 'ResumeSaga' });
  for (const command of commands.slice(1)) last = orderWhen(last.state, command);
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
const withCoupon = (): OrderState => orderWhen(order(), createWith('FIXED', 500)).state;

OrderCoupons('CreateOrder with a FIXED coupon records the coupon and the discount, and the total less it', () => {
  const decision = orderWhen(order(), createWith('FIXED', 500));

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
  const decision = orderWhen(order(), createWith('FIXED', 5_000));
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
    const view = orderModule.view(orderWhen(order(), createWith('PERCENT', percent, items)).state);
    assert.is(view.discount, discount, `${percent}% of ${subtotal}`);
    assert.is(view.total, subtotal - discount, `${percent}% of ${subtotal}`);
  }
});

OrderCoupons('CreateOrder without a coupon records no coupon: couponId null, discount 0 in the view', () => {
  const decision = orderWhen(order(), { type: 'CreateOrder', userId: 'u1', items: ITEMS, ttlMs: TTL });
  assert.ok(decision.events[0] && !('couponId' in decision.events[0]) && !('discount' in decision.events[0]));
  const view = orderModule.view(decision.state);
  assert.is(view.total, SUBTOTAL);
  assert.is(view.couponId, null);
  assert.is(view.discount, 0);
});

OrderCoupons('an invalid order with a coupon is still rejected before any discount', () => {
  const decision = orderWhen(order(), createWith('FIXED', 500, []));
  assert.equal(decision.events, []);
  assert.equal(refusal(decision.reply)?.error, 'INVALID_ORDER');
});

OrderCoupons("the pay saga's DebitPoints carries the discounted total and the order's coupon", () => {
  const paying = orderWhen(withCoupon(), { type: 'PayOrder' });
  const reserved = orderAfter(paying.state, stepReplied(reserveStep('p1')), stepReplied(reserveStep('p2')));

  assert.equal(reserved.effects, [
    { to: { kind: 'user', id: 'u1' }, command: { type: 'DebitPoints', ref: 'o1', amount: 600, resumed: false, couponId: 'c1' }, step: { action: 'debit', attempt: 1 } },
  ]);

  const paid = orderWhen(reserved.state, stepReplied({ action: 'debit', attempt: 1 }));
  assert.is(paid.state.status, 'PAID');
  assert.is(paid.settle, 'view');
  assert.is(orderModule.view(paid.state).couponId, 'c1');
});

OrderCoupons("a resumed pay saga's DebitPoints is resumed and still carries the coupon", () => {
  const paying = orderWhen(withCoupon(), { type: 'PayOrder' });
  const stalled = orderWhen(paying.state, stepReplied(reserveStep('p1'), reject('DATABASE_UNAVAILABLE', 'down')));
  const resumed = orderWhen(stalled.state, { type: 'ResumeSaga' });
  const reserved = orderAfter(resumed.state, stepReplied(reserveStep('p1', 2)), stepReplied(reserveStep('p2', 2)));

  assert.equal(reserved.effects, [
    { to: { kind: 'user', id: 'u1' }, command: { type: 'DebitPoints', ref: 'o1', amount: 600, resumed: true, couponId: 'c1' }, step: { action: 'debit', attempt: 2 } },
  ]);
});

OrderCoupons("the cancel saga's RefundPoints carries the discounted total and the order's coupon", () => {
  const paid = order(
    { type: 'OrderCreated', id: 'o1', userId: 'u1', items: ITEMS, total: 600, expiresAt: T0 + TTL, at: T0, couponId: 'c1', discount: 500 },
    { type: 'PaymentStarted', at: T0 },
    { type: 'OrderPaid', at: T0 },
  );

  const cancelling = orderWhen(paid, { type: 'CancelOrder' });

  const refunds = (cancelling.effects ?? []).filter((e) => e.to.kind === 'user');
  assert.equal(refunds, [{ to: { kind: 'user', id: 'u1' }, command: { type: 'RefundPoints', ref: 'o1', amount: 600, couponId: 'c1' }, step: { action: 'refund', attempt: 1 } }]);
  assert.is(cancelling.reply, 'defer');
});

OrderCoupons('an order without a coupon sends DebitPoints and RefundPoints without a couponId', () => {
  const plain = orderWhen(order(), { type: 'CreateOrder', userId: 'u1', items: ITEMS, ttlMs: TTL }).state;
  const reserved = orderAfter(orderWhen(plain, { type: 'PayOrder' }).state, stepReplied(reserveStep('p1')), stepReplied(reserveStep('p2')));
  const debit = reserved.effects?.[0]?.command as UserCommand;
  assert.ok(debit.type === 'DebitPoints' && !('couponId' in debit), JSON.stringify(debit));

  const paid = orderWhen(reserved.state, stepReplied({ action: 'debit', attempt: 1 })).state;
  const refund = orderWhen(paid, { type: 'CancelOrder' }).effects?.find((e) => e.to.kind === 'user')?.command as UserCommand;
  assert.ok(refund.type === 'RefundPoints' && !('couponId' in refund), JSON.stringify(refund));
});

OrderCoupons('a debit refused for the coupon releases the stock and fails the order with that reason', () => {
  const paying = orderWhen(withCoupon(), { type: 'PayOrder' });
  const reserved = orderAfter(paying.state, stepReplied(reserveStep('p1')), stepReplied(reserveStep('p2')));
  const used = reject('COUPON_ALREADY_USED', 'coupon c1 was used on order o0');

  const releasing = orderWhen(reserved.state, stepReplied({ action: 'debit', attempt: 1 }, used));
  assert.equal(releasing.effects?.map((e) => e.step), [releaseStep('p1'), releaseStep('p2')]);

  const failed = orderAfter(releasing.state, stepReplied(releaseStep('p1')), stepReplied(releaseStep('p2')));
  assert.is(failed.state.status, 'FAILED');
  assert.equal(failed.settle, used);
  assert.is(orderModule.view(failed.state).failureReason, 'COUPON_ALREADY_USED');
});

OrderCoupons('pay, cancel and pay again against a real user: the coupon is used once, given back, used again', () => {
  let userState = holding();
  const journal = new Map<string, string[]>();
  const handleUser = (command: UserCommand): Result<unknown> => {
    const window = Object.fromEntries(journal);
    let decision = userModule.decide(userState, command, ctx(window));
    if ('recall' in decision) decision = userModule.decide(userState, command, ctx({ ...window, [decision.recall]: journal.get(decision.recall) ?? [] }));
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
    let last = orderWhen(state, command);
    const pending = [...(last.effects ?? [])];
    for (let effect = pending.shift(); effect; effect = pending.shift()) {
      const result = effect.to.kind === 'user' ? handleUser(effect.command as UserCommand) : stepOk;
      last = orderWhen(last.state, stepReplied(effect.step, result));
      pending.push(...(last.effects ?? []));
    }
    return last.state;
  };

  const o1 = run(withCoupon(), { type: 'PayOrder' });
  assert.is(o1.status, 'PAID');
  assert.is(pointsOf(userState), 400);
  assert.equal(heldOf(userState), { status: 'USED', ...TERMS, issuedAt: T0, orderId: 'o1' });

  // A second order with the same coupon cannot pay while o1 holds it.
  const o2 = orderWhen(orderModule.initial('o2'), createWith('FIXED', 500)).state;
  const refused = run(o2, { type: 'PayOrder' });
  assert.is(refused.status, 'FAILED');
  assert.is(orderModule.view(refused).failureReason, 'COUPON_ALREADY_USED');
  assert.is(pointsOf(userState), 400);

  const cancelled = run(o1, { type: 'CancelOrder' });
  assert.is(cancelled.status, 'CANCELLED');
  assert.is(pointsOf(userState), 1000);
  assert.equal(heldOf(userState), { status: 'ISSUED', ...TERMS, issuedAt: T0 });

  const o3 = orderWhen(orderModule.initial('o3'), createWith('FIXED', 500)).state;
  assert.is(run(o3, { type: 'PayOrder' }).status, 'PAID');
  assert.equal(heldOf(userState), { status: 'USED', ...TERMS, issuedAt: T0, orderId: 'o3' });
});

// --- property: many users claiming one coupon ---------------------------------------------------

type Message =
  | { readonly kind: 'ask'; readonly to: string; readonly command: UserCommand; readonly asker: boolean }
  | { readonly kind: 'step'; readonly from: string; readonly incarnation: number; readonly effect: Effect<ClaimStep> }
  | { readonly kind: 'reply'; readonly to: string; readonly incarnation: number; readonly step: ClaimStep; readonly result: Result<unknown> };

interface SimUser {
  state: UserState;
  /** The user's journal: every durable event, in order. */
  readonly durable: UserEvent[];
  /** The latest snapshot and how many journal events it covers. */
  snapshot: { readonly state: UserState; readonly upTo: number } | undefined;
  /** Answers meant for an earlier life of the actor are dropped, as the runtime does. */
  incarnation: number;
  /** Askers waiting for a claim's end, by saga. */
  readonly waiting: Map<string, number>;
  /** Every answer an asker got. */
  readonly answers: Result<unknown>[];
  /** How many times a client asked. */
  asks: number;
}

const INFRA: readonly ErrorCode[] = ['DATABASE_UNAVAILABLE', 'OVERLOADED', 'TIMEOUT'];

/**
 * Users and one coupon exchanging messages: FIFO between each sender and receiver, in any order
 * otherwise. A step to the coupon may fail on infrastructure before it is applied, or be applied
 * and its answer lost; the coupon forgets its window now and then; a user crashes now and then,
 * recovering from its snapshot and journal and dropping answers meant for its earlier life.
 */
class ClaimWorld {
  coupon: CouponState;
  readonly couponJournal = new Map<string, string[]>();
  couponWindow = new Map<string, string[]>();
  readonly users = new Map<string, SimUser>();
  private readonly channels = new Map<string, Message[]>();
  readonly trouble = { faults: 0, stalls: 0, crashes: 0, dropped: 0, recalls: 0, resumes: 0, inProgress: 0, alreadyIssued: 0, soldOut: 0 };
  now = NOW;

  constructor(
    private readonly random: () => number,
    readonly quantity: number,
    private readonly faults: number,
  ) {
    this.coupon = coupon(couponCreated(quantity));
  }

  user(id: string): void {
    const created: UserEvent = { type: 'UserCreated', id, name: id, points: 0, at: T0 };
    this.users.set(id, { state: userModule.evolve(userModule.initial(id), created), durable: [created], snapshot: undefined, incarnation: 1, waiting: new Map(), answers: [], asks: 0 });
  }

  claim(userId: string): void {
    const u = this.users.get(userId);
    if (u) u.asks++;
    this.post(`client->${userId}`, { kind: 'ask', to: userId, command: { type: 'ClaimCoupon', couponId: 'c1' }, asker: true });
  }

  live(): boolean {
    return [...this.channels.values()].some((queue) => queue.length > 0);
  }

  /** Users with a claim neither answered nor asking: what a retry or the runtime's sweep resumes. */
  open(): string[] {
    return [...this.users].filter(([, u]) => {
      const held = heldOf(u.state);
      return held?.status === 'CLAIMING' && !held.asking;
    }).map(([id]) => id);
  }

  /** Runs one message, or a resume when a claim is open; false when there is nothing left to do. */
  tick(): boolean {
    this.now++;
    const live = [...this.channels].filter(([, queue]) => queue.length > 0).map(([name]) => name);
    const open = this.open();
    if (live.length === 0 && open.length === 0) return false;
    if (open.length > 0 && (live.length === 0 || this.random() < 0.05)) {
      const id = open[Math.floor(this.random() * open.length)] ?? '';
      this.trouble.resumes++;
      if (this.random() < 0.5) this.claim(id);
      else this.post(`sweep->${id}`, { kind: 'ask', to: id, command: { type: 'ResumeClaims' }, asker: false });
      return true;
    }
    if (this.random() < 0.05) this.couponWindow = new Map();
    if (this.random() < 0.03) this.crash([...this.users.keys()][Math.floor(this.random() * this.users.size)] ?? '');
    const name = live[Math.floor(this.random() * live.length)] ?? '';
    const message = this.channels.get(name)?.shift();
    if (message) this.deliver(message);
    return true;
  }

  private post(channel: string, message: Message): void {
    const queue = this.channels.get(channel);
    if (queue) queue.push(message);
    else this.channels.set(channel, [message]);
  }

  /** The runtime's crash: askers get DATABASE_UNAVAILABLE, the state is rebuilt, a resume follows. */
  private crash(id: string): void {
    const u = this.users.get(id);
    if (!u) return;
    this.trouble.crashes++;
    for (const count of u.waiting.values()) for (let i = 0; i < count; i++) u.answers.push(reject('DATABASE_UNAVAILABLE', 'crashed'));
    u.waiting.clear();
    u.incarnation++;
    const from = u.snapshot ? (JSON.parse(JSON.stringify(u.snapshot.state)) as UserState) : userModule.initial(id);
    u.state = u.durable.slice(u.snapshot?.upTo ?? 0).reduce(userModule.evolve, from);
    const resume = userModule.onRecovered?.(u.state);
    if (resume) this.post(`self->${id}`, { kind: 'ask', to: id, command: resume, asker: false });
  }

  private deliver(message: Message): void {
    switch (message.kind) {
      case 'ask':
        return this.decideUser(message.to, message.command, message.asker);
      case 'step': {
        const roll = this.random();
        let result: Result<unknown>;
        if (roll < this.faults / 2) {
          result = reject(INFRA[Math.floor(this.random() * INFRA.length)] ?? 'TIMEOUT', 'not applied');
        } else {
          result = this.issue(message.effect.command as CouponCommand);
          if (roll < this.faults) result = reject('TIMEOUT', 'applied, but the answer was lost');
        }
        if (roll < this.faults) this.trouble.faults++;
        this.post(`coupon->${message.from}`, { kind: 'reply', to: message.from, incarnation: message.incarnation, step: message.effect.step, result });
        return;
      }
      case 'reply': {
        const u = this.users.get(message.to);
        if (u && u.incarnation !== message.incarnation) {
          this.trouble.dropped++;
          return;
        }
        return this.decideUser(message.to, userModule.replied?.(message.step, message.result) ?? { type: 'ResumeClaims' }, false);
      }
    }
  }

  /** What the runtime does with an IssueCoupon: decide, recall from the journal if asked, evolve, answer. */
  private issue(command: CouponCommand): Result<unknown> {
    const context: DecideContext = { now: this.now, seen: (ref) => this.couponWindow.get(ref) };
    let decision = couponModule.decide(this.coupon, command, context);
    if ('recall' in decision) {
      this.trouble.recalls++;
      this.couponWindow.set(decision.recall, this.couponJournal.get(decision.recall) ?? []);
      decision = couponModule.decide(this.coupon, command, context);
    }
    const applied = decided(decision);
    for (const event of applied.events) {
      this.coupon = couponModule.evolve(this.coupon, event);
      const ref = couponModule.refOf(event);
      if (ref === undefined) continue;
      this.couponJournal.set(ref, [...(this.couponJournal.get(ref) ?? []), event.type]);
      this.couponWindow.set(ref, [...(this.couponWindow.get(ref) ?? []), event.type]);
    }
    if (applied.reply === 'defer') throw new Error('a coupon never defers');
    return applied.reply === 'view' ? accept(couponModule.view(this.coupon)) : applied.reply;
  }

  private decideUser(id: string, command: UserCommand, asker: boolean): void {
    const u = this.users.get(id);
    if (!u) throw new Error(`no user ${id}`);
    const decision = decided(userModule.decide(u.state, command, { now: this.now, seen: () => undefined }));
    let appended = false;
    for (const event of decision.events) {
      u.state = userModule.evolve(u.state, event);
      if (userModule.isDurable(event)) {
        u.durable.push(event);
        appended = true;
      }
      if (event.type === 'ClaimStalled') this.trouble.stalls++;
    }
    if (appended && this.random() < 0.2) u.snapshot = { state: JSON.parse(JSON.stringify(userModule.snapshot(u.state))) as UserState, upTo: u.durable.length };
    for (const effect of decision.effects ?? []) this.post(`${id}->coupon`, { kind: 'step', from: id, incarnation: u.incarnation, effect });
    const saga = decision.saga ?? '';
    if (decision.reply === 'defer') {
      if (asker) {
        u.waiting.set(saga, (u.waiting.get(saga) ?? 0) + 1);
      }
    } else if (asker) {
      const answer = decision.reply === 'view' ? accept(userModule.view(u.state)) : decision.reply;
      if (!answer.ok && answer.error === 'COUPON_ALREADY_ISSUED') this.trouble.alreadyIssued++;
      if (!answer.ok && answer.error === 'COUPON_CLAIM_IN_PROGRESS') this.trouble.inProgress++;
      u.answers.push(answer);
    }
    if (decision.settle) {
      const answer = decision.settle === 'view' ? accept(userModule.view(u.state)) : decision.settle;
      if (!answer.ok && answer.error === 'COUPON_SOLD_OUT') this.trouble.soldOut++;
      for (let i = 0; i < (u.waiting.get(saga) ?? 0); i++) u.answers.push(answer);
      u.waiting.delete(saga);
    }
  }
}

CouponClaims('users claiming a coupon of quantity Q, with duplicates, faults and crashes: min(Q, claimants) hold one each, issued = holders ≤ Q', () => {
  const total = { faults: 0, stalls: 0, crashes: 0, dropped: 0, recalls: 0, resumes: 0, inProgress: 0, alreadyIssued: 0, soldOut: 0 };
  for (let seed = 1; seed <= 300; seed++) {
    const random = prng(seed);
    const pick = (n: number) => Math.floor(random() * n);
    const quantity = 1 + pick(5);
    const world = new ClaimWorld(random, quantity, 0.25);
    const population = 1 + pick(8);
    for (let i = 0; i < population; i++) world.user(`u${i}`);
    // Each user asks 0 to 3 times, the asks spread over the run.
    const asks: string[] = [];
    for (let i = 0; i < population; i++) for (let n = pick(4); n > 0; n--) asks.push(`u${i}`);
    for (let i = asks.length - 1; i > 0; i--) {
      const j = pick(i + 1);
      [asks[i], asks[j]] = [asks[j] ?? '', asks[i] ?? ''];
    }
    const claimants = new Set(asks);
    const where = `seed ${seed} (Q ${quantity}, ${claimants.size} claimants)`;

    for (let tick = 0; ; tick++) {
      assert.ok(tick < 100_000, `${where}: the world did not settle`);
      if (asks.length > 0 && (!world.live() || random() < 0.3)) world.claim(asks.pop() ?? '');
      const busy = world.tick();
      if (!busy && asks.length === 0) break;
      // A claim asking with nothing in flight would wait forever.
      if (!world.live()) {
        for (const [id, u] of world.users) assert.ok(!(heldOf(u.state)?.status === 'CLAIMING' && (heldOf(u.state) as { asking: boolean }).asking), `${where}: ${id} waits forever`);
      }
    }

    const { issued } = couponModule.view(world.coupon);
    const holders = [...world.users].filter(([, u]) => heldOf(u.state)?.status === 'ISSUED').map(([id]) => id).sort();
    const issuedTo = [...world.couponJournal].filter(([, types]) => types.includes('CouponIssued')).map(([ref]) => ref).sort();
    assert.ok(issued <= quantity, `${where}: ${issued} issued`);
    assert.is(holders.length, Math.min(quantity, claimants.size), `${where}: holders ${holders.join(',')}`);
    assert.is(issued, holders.length, `${where}: issued = holders`);
    assert.equal(issuedTo, holders, `${where}: the coupon issued to exactly the holders`);
    for (const [ref, types] of world.couponJournal) assert.equal(types, ['CouponIssued'], `${where}: coupon journal for ${ref}`);
    for (const [id, u] of world.users) {
      const at = `${where}, ${id}`;
      assert.ok(heldOf(u.state)?.status !== 'CLAIMING', `${at}: a claim stayed open`);
      assert.ok(u.durable.filter((e) => e.type === 'CouponGranted').length <= 1, `${at}: granted twice`);
      assert.ok(!claimants.has(id) ? heldOf(u.state) === undefined : true, `${at}: holds a coupon it never claimed`);
      assert.is([...u.waiting.values()].reduce((a, b) => a + b, 0), 0, `${at}: askers left waiting`);
      // The journal alone rebuilds what the user holds.
      const replayed = u.durable.reduce(userModule.evolve, userModule.initial(id));
      assert.equal(heldOf(replayed), heldOf(u.state), `${at}: the journal disagrees with the live state`);
      // Every answer is one a client can act on, and none contradicts the outcome.
      const held = heldOf(u.state)?.status === 'ISSUED';
      for (const answer of u.answers) {
        if (answer.ok) assert.ok(held, `${at}: answered ok but holds nothing`);
        else if (answer.error === 'COUPON_SOLD_OUT') assert.not.ok(held, `${at}: answered sold out but holds one`);
        else if (answer.error === 'COUPON_ALREADY_ISSUED') assert.ok(held, `${at}: answered already issued but holds nothing`);
        else if (answer.error === 'COUPON_CLAIM_IN_PROGRESS') continue;
        else assert.ok(INFRA.includes(answer.error), `${at}: answered ${answer.error}`);
      }
      assert.is(u.answers.length, u.asks, `${at}: every ask answered once`);
    }
    for (const key of Object.keys(total) as Array<keyof typeof total>) total[key] += world.trouble[key];
  }
  // The runs must reach every path, or the property says nothing.
  assert.ok(Object.values(total).every((n) => n > 20), JSON.stringify(total));
});

CouponActor.run();
CouponTermsSuite.run();
UserCoupons.run();
OrderCoupons.run();
CouponClaims.run();
