// The CouponActor (first come, first served, once per user) and the terms it issues under: discount, validity window.

import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { couponModule, discountOn, outsideWindow, type CouponCommand, type CouponEvent, type CouponTerms } from '../../actors/coupon/index.js';
import { invalidTerms } from '../../actors/coupon/terms.js';
import { reject, type Rejection } from '../../actors/shared/result.js';
import { decided, givenWhenThen } from '../helpers/given-when-then.js';
import { prng } from '../helpers/prng.js';

const CouponActor = suite('CouponActor');
const CouponTermsSuite = suite('CouponTerms');

const T0 = 1_700_000_000_000;
const NOW = T0 + 60_000;
const HOUR = 3_600_000;

const TERMS: CouponTerms = { name: 'Spring sale', discountType: 'FIXED', discountValue: 500, validFrom: null, validUntil: null };

/** The rejection a decision answers with, or undefined when it answers the view or defers. */
const refusal = (reply: 'view' | 'defer' | Rejection): Rejection | undefined => (reply === 'view' || reply === 'defer' ? undefined : reply);

const iso = (ms: number): string => new Date(ms).toISOString();

const couponCreated = (quantity = 2, terms: Partial<CouponTerms> = {}): CouponEvent => ({ type: 'CouponCreated', id: 'c1', quantity, ...TERMS, ...terms, at: T0 });
const issuedTo = (userId: string): CouponEvent => ({ type: 'CouponIssued', ref: userId, at: T0 });

const { given, when, decide } = givenWhenThen(couponModule, 'c1', NOW);

const issue = (userId = 'u1', resumed = false): CouponCommand => ({ type: 'IssueCoupon', userId, resumed });
const create = (quantity = 2, terms: Partial<CouponTerms> = {}): CouponCommand => ({ type: 'CreateCoupon', quantity, ...TERMS, ...terms });

CouponActor('CreateCoupon on a new id records CouponCreated with the terms and answers the view', () => {
  const decision = when(given(), create(3, { validFrom: T0, validUntil: T0 + HOUR }));

  assert.equal(decision.events, [{ type: 'CouponCreated', id: 'c1', quantity: 3, ...TERMS, validFrom: T0, validUntil: T0 + HOUR, at: NOW }]);
  assert.is(decision.reply, 'view');
  assert.ok(couponModule.exists(decision.state));
  assert.equal(couponModule.view(decision.state), { id: 'c1', ...TERMS, validFrom: T0, validUntil: T0 + HOUR, quantity: 3, issued: 0 });
});

CouponActor('CreateCoupon on an existing coupon is rejected with ALREADY_EXISTS', () => {
  const decision = when(given(couponCreated()), create());

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
    const decision = when(given(), create(quantity, terms));
    const where = `${quantity} ${JSON.stringify(terms)}`;
    assert.equal(decision.events, [], where);
    assert.equal(decision.reply, { ok: false, error: 'INVALID_COUPON', message }, where);
  }
});

CouponActor('CreateCoupon accepts the edges: 100 percent, a one-instant window, an open-ended window', () => {
  for (const terms of [{ discountType: 'PERCENT', discountValue: 100 }, { validFrom: T0, validUntil: T0 }, { validFrom: T0 }, { validUntil: T0 }] as const) {
    const decision = when(given(), create(1, terms));
    assert.equal(decision.events.map((e) => e.type), ['CouponCreated'], JSON.stringify(terms));
  }
});

CouponActor('IssueCoupon before creation is rejected with NOT_FOUND', () => {
  for (const resumed of [false, true]) {
    const decision = when(given(), issue('u1', resumed), { seen: { u1: [] } });
    assert.equal(decision.events, []);
    assert.equal(decision.reply, { ok: false, error: 'NOT_FOUND', message: 'coupon c1 not found' });
  }
  assert.not.ok(couponModule.exists(given()));
});

CouponActor('IssueCoupon issues one under the user id and counts it', () => {
  const decision = when(given(couponCreated(2)), issue('u1'));

  assert.equal(decision.events, [{ type: 'CouponIssued', ref: 'u1', at: NOW }]);
  assert.is(decision.reply, 'view');
  assert.is(couponModule.view(decision.state).issued, 1);
  assert.is(decision.state.status === 'ACTIVE' ? decision.state.updatedAt : 0, NOW);
});

CouponActor('IssueCoupon to a user already issued one records nothing and answers the view, even sold out', () => {
  const state = given(couponCreated(1), issuedTo('u1'));

  for (const resumed of [false, true]) {
    const decision = when(state, issue('u1', resumed), { seen: { u1: ['CouponIssued'] } });
    assert.equal(decision.events, []);
    assert.is(decision.reply, 'view');
  }
  assert.is(couponModule.view(state).issued, 1);
});

CouponActor('resumed IssueCoupon with a user outside the window asks to recall it', () => {
  assert.equal(decide(given(couponCreated(1), issuedTo('u1')), issue('u1', true)), { recall: 'u1' });
});

CouponActor('resumed IssueCoupon recalled as already issued records nothing and answers the view', () => {
  const decision = when(given(couponCreated(1), issuedTo('u1')), issue('u1', true), { seen: { u1: ['CouponIssued'] } });

  assert.equal(decision.events, []);
  assert.is(decision.reply, 'view');
});

CouponActor('resumed IssueCoupon recalled as never issued issues', () => {
  const decision = when(given(couponCreated(1)), issue('u2', true), { seen: { u2: [] } });

  assert.equal(decision.events, [{ type: 'CouponIssued', ref: 'u2', at: NOW }]);
});

CouponActor('unresumed IssueCoupon with a user outside the window issues without a recall', () => {
  const decision = when(given(couponCreated(2)), issue('u1', false));
  assert.equal(decision.events.map((e) => e.type), ['CouponIssued']);
});

CouponActor('IssueCoupon once all are issued is rejected with COUPON_SOLD_OUT', () => {
  const state = given(couponCreated(2), issuedTo('u1'), issuedTo('u2'));

  const decision = when(state, issue('u3'), { seen: { u3: [] } });

  assert.equal(decision.events, []);
  assert.equal(decision.reply, { ok: false, error: 'COUPON_SOLD_OUT', message: 'all 2 of coupon c1 are issued' });
  assert.is(couponModule.view(state).issued, 2);
});

const FROM = T0 + HOUR;
const UNTIL = T0 + 2 * HOUR;
/** A coupon valid from FROM until UNTIL. */
const windowed = () => given(couponCreated(5, { validFrom: FROM, validUntil: UNTIL }));

CouponActor('IssueCoupon before the validity window is rejected with COUPON_NOT_YET_VALID', () => {
  const decision = when(windowed(), issue(), { now: FROM - 1 });

  assert.equal(decision.events, []);
  assert.equal(decision.reply, { ok: false, error: 'COUPON_NOT_YET_VALID', message: `coupon c1 is valid from ${iso(FROM)}` });
});

CouponActor('IssueCoupon after the validity window is rejected with COUPON_EXPIRED', () => {
  const decision = when(windowed(), issue(), { now: UNTIL + 1 });

  assert.equal(decision.events, []);
  assert.equal(decision.reply, { ok: false, error: 'COUPON_EXPIRED', message: `coupon c1 expired at ${iso(UNTIL)}` });
});

CouponActor('IssueCoupon at either bound of the validity window issues: the bounds are inside', () => {
  for (const now of [FROM, UNTIL]) assert.equal(when(windowed(), issue(), { now }).events.map((e) => e.type), ['CouponIssued'], `at ${now}`);
});

CouponActor('a user already issued one still gets the view after the window closed', () => {
  const state = given(couponCreated(5, { validUntil: T0 + HOUR }), issuedTo('u1'));

  const decision = when(state, issue('u1', true), { seen: { u1: ['CouponIssued'] }, now: T0 + 2 * HOUR });

  assert.equal(decision.events, []);
  assert.is(decision.reply, 'view');
});

CouponActor('an expired coupon answers COUPON_EXPIRED before COUPON_SOLD_OUT', () => {
  const state = given(couponCreated(1, { validUntil: T0 + HOUR }), issuedTo('u1'));
  assert.equal(refusal(when(state, issue('u2'), { now: T0 + 2 * HOUR }).reply)?.error, 'COUPON_EXPIRED');
});

CouponActor('issued never exceeds quantity over random unresumed and resumed asks', () => {
  for (let seed = 1; seed <= 50; seed++) {
    const random = prng(seed);
    const quantity = 1 + Math.floor(random() * 5);
    let state = given(couponCreated(quantity));
    const journal = new Map<string, string[]>();
    for (let step = 0; step < 60; step++) {
      const userId = `u${Math.floor(random() * 10)}`;
      // A user asks unresumed only while the coupon holds nothing for it (the user actor's rule).
      const resumed = journal.has(userId) || random() < 0.3;
      const window = random() < 0.5 ? Object.fromEntries(journal) : {};
      let decision = decide(state, issue(userId, resumed), { seen: window });
      if ('recall' in decision) decision = decide(state, issue(userId, resumed), { seen: { ...window, [userId]: journal.get(userId) ?? [] } });
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

CouponActor('every coupon event is durable, and CouponIssued records the user as its ref', () => {
  const events = [couponCreated(), issuedTo('u7')];
  assert.ok(events.every(couponModule.isDurable));
  assert.equal(events.map(couponModule.refOf), [undefined, 'u7']);
});

CouponActor('snapshot keeps the whole state', () => {
  const state = given(couponCreated(), issuedTo('u7'));
  assert.is(couponModule.snapshot(state), state);
});

CouponActor('a coupon never created has an empty view', () => {
  assert.equal(couponModule.view(given()), { id: 'c1', name: '', discountType: 'FIXED', discountValue: 0, validFrom: null, validUntil: null, quantity: 0, issued: 0 });
});

CouponActor('a CouponIssued before creation changes nothing', () => {
  assert.equal(couponModule.evolve(given(), issuedTo('u1')), given());
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

CouponActor.run();
CouponTermsSuite.run();
