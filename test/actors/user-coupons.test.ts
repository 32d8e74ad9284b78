// The UserActor's coupons: the claim saga that asks a CouponActor, and a held coupon used and given back with an order's points.

import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { couponModule, type CouponCommand, type CouponEvent, type CouponState, type CouponTerms, type CouponView } from '../../actors/coupon/index.js';
import type { DecideContext, Effect } from '../../actors/shared/entity.js';
import { accept, reject, type ErrorCode, type Rejection, type Result } from '../../actors/shared/result.js';
import { userModule, type ClaimStep, type HeldCoupon, type UserCommand, type UserEvent, type UserState } from '../../actors/user/index.js';
import { decided, givenWhenThen } from '../helpers/given-when-then.js';
import { prng } from '../helpers/prng.js';

const UserCoupons = suite('UserActor coupons');
const CouponClaims = suite('Coupon claims (property)');

const T0 = 1_700_000_000_000;
const NOW = T0 + 60_000;
const HOUR = 3_600_000;

const TERMS: CouponTerms = { name: 'Spring sale', discountType: 'FIXED', discountValue: 500, validFrom: null, validUntil: null };

const iso = (ms: number): string => new Date(ms).toISOString();

const couponCreated = (quantity: number): CouponEvent => ({ type: 'CouponCreated', id: 'c1', quantity, ...TERMS, at: T0 });

const { given, when, decide } = givenWhenThen(userModule, 'u1', NOW);

// --- the user's claims ------------------------------------------------------------------------

const userCreated = (points = 1000): UserEvent => ({ type: 'UserCreated', id: 'u1', name: 'Ada', points, at: T0 });
const claimStarted = (couponId = 'c1'): UserEvent => ({ type: 'CouponClaimStarted', couponId, at: T0 });
const asked = (attempt: number, couponId = 'c1'): UserEvent => ({ type: 'ClaimAsked', couponId, attempt });
const claimStalled = (couponId = 'c1'): UserEvent => ({ type: 'ClaimStalled', couponId });
const granted = (couponId = 'c1', terms: Partial<CouponTerms> = {}): UserEvent => ({ type: 'CouponGranted', couponId, ...TERMS, ...terms, at: T0 });
const debitedWith = (ref: string, amount: number, couponId?: string): UserEvent => ({ type: 'PointsDebited', ref, amount, ...(couponId ? { couponId } : {}), at: T0 });
const refundedWith = (ref: string, amount: number, couponId?: string): UserEvent => ({ type: 'PointsRefunded', ref, amount, ...(couponId ? { couponId } : {}), at: T0 });

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
const asking = (): UserState => given(userCreated(), claimStarted(), asked(1));
const stalledClaim = (): UserState => given(userCreated(), claimStarted(), asked(1), claimStalled());
const holding = (terms: Partial<CouponTerms> = {}): UserState => given(userCreated(), claimStarted(), asked(1), granted('c1', terms));

UserCoupons('ClaimCoupon starts a claim: CouponClaimStarted, ClaimAsked and one IssueCoupon, deferred on the coupon saga', () => {
  const decision = when(given(userCreated()), claim());

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
  const decision = when(given(), claim());
  assert.equal(decision.events, []);
  assert.equal(decision.reply, { ok: false, error: 'NOT_FOUND', message: 'user u1 not found' });
});

UserCoupons('the coupon issuing records CouponGranted with its terms and settles the claim with the view', () => {
  const terms = { discountType: 'PERCENT', discountValue: 20, validFrom: T0, validUntil: T0 + HOUR } as const;

  const decision = when(asking(), claimReplied(1, accept(couponView(terms))), { now: NOW + 5 });

  assert.equal(decision.events, [{ type: 'CouponGranted', couponId: 'c1', ...TERMS, ...terms, at: NOW + 5 }]);
  assert.is(decision.reply, 'view');
  assert.is(decision.settle, 'view');
  assert.is(decision.saga, 'c1');
  assert.equal(decision.effects ?? [], []);
  assert.equal(heldOf(decision.state), { status: 'ISSUED', ...TERMS, ...terms, issuedAt: NOW + 5 });
});

UserCoupons('a business rejection records CouponClaimFailed, settles with it and forgets the claim', () => {
  for (const rejection of [soldOut, reject('COUPON_EXPIRED', 'coupon c1 expired'), reject('NOT_FOUND', 'coupon c1 not found')]) {
    const decision = when(asking(), claimReplied(1, rejection));

    assert.equal(decision.events, [{ type: 'CouponClaimFailed', couponId: 'c1', error: rejection.error, at: NOW }], rejection.error);
    assert.is(decision.reply, 'view');
    assert.equal(decision.settle, rejection);
    assert.is(decision.saga, 'c1');
    assert.is(heldOf(decision.state), undefined, rejection.error);
  }
});

UserCoupons('after a failed claim the user may claim again: a fresh, unresumed first attempt', () => {
  const failed = when(asking(), claimReplied(1, soldOut)).state;

  const again = when(failed, claim());

  assert.equal(again.events.map((e) => e.type), ['CouponClaimStarted', 'ClaimAsked']);
  assert.equal(again.effects, [issueEffect(1, false)]);
  assert.is(again.reply, 'defer');
});

UserCoupons('an infrastructure error records ClaimStalled, settles with it, and keeps the claim open at the same attempt', () => {
  for (const error of ['DATABASE_UNAVAILABLE', 'OVERLOADED', 'TIMEOUT'] as const) {
    const rejection = reject(error, 'try again');
    const decision = when(asking(), claimReplied(1, rejection));

    assert.equal(decision.events, [{ type: 'ClaimStalled', couponId: 'c1' }], error);
    assert.is(decision.reply, 'view');
    assert.equal(decision.settle, rejection);
    assert.is(decision.saga, 'c1');
    assert.equal(heldOf(decision.state), { status: 'CLAIMING', attempt: 1, asking: false, since: T0 }, error);
  }
});

UserCoupons('ResumeClaims asks again for a stalled claim: attempt + 1, resumed, answering the view without a saga', () => {
  const decision = when(stalledClaim(), { type: 'ResumeClaims' });

  assert.equal(decision.events, [{ type: 'ClaimAsked', couponId: 'c1', attempt: 2 }]);
  assert.equal(decision.effects, [issueEffect(2, true)]);
  assert.is(decision.reply, 'view');
  assert.is(decision.settle, undefined);
  assert.equal(heldOf(decision.state), { status: 'CLAIMING', attempt: 2, asking: true, since: T0 });
});

UserCoupons('ResumeClaims asks only for claims not asking: not for one asking, nor held, nor used', () => {
  const state = given(
    userCreated(),
    claimStarted('c1'), asked(1, 'c1'), claimStalled('c1'),
    claimStarted('c2'), asked(1, 'c2'),
    claimStarted('c3'), asked(1, 'c3'), granted('c3'),
    claimStarted('c4'), asked(1, 'c4'), granted('c4'), debitedWith('o1', 10, 'c4'),
    claimStarted('c5'),
  );

  const decision = when(state, { type: 'ResumeClaims' });

  assert.equal(decision.events, [asked(2, 'c1'), asked(1, 'c5')]);
  assert.equal(decision.effects, [issueEffect(2, true, 'c1'), issueEffect(1, true, 'c5')]);
  assert.is(decision.reply, 'view');
});

UserCoupons('ResumeClaims with no open claim does nothing', () => {
  for (const state of [given(userCreated()), asking(), holding()]) {
    const decision = when(state, { type: 'ResumeClaims' });
    assert.equal(decision.events, []);
    assert.equal(decision.effects, []);
    assert.is(decision.reply, 'view');
  }
});

UserCoupons('a late answer to an older attempt is ignored, whatever it says', () => {
  const resumed = when(stalledClaim(), { type: 'ResumeClaims' }).state;

  for (const result of [accept(couponView()), soldOut, reject('TIMEOUT', 'late')]) {
    const decision = when(resumed, claimReplied(1, result));
    assert.equal(decision.events, [], JSON.stringify(result));
    assert.is(decision.reply, 'view');
    assert.is(decision.settle, undefined, 'the askers keep waiting for attempt 2');
    assert.equal(decision.state, resumed);
  }
  // And the current attempt still counts.
  assert.equal(when(resumed, claimReplied(2, accept(couponView()))).events.map((e) => e.type), ['CouponGranted']);
});

UserCoupons('an answer to a claim not asking, not open, or already decided is ignored', () => {
  const cases: Array<[string, UserState, UserCommand]> = [
    ['stalled', stalledClaim(), claimReplied(1, accept(couponView()))],
    ['no claim', given(userCreated()), claimReplied(1, accept(couponView()))],
    ['another coupon', asking(), claimReplied(1, accept(couponView()), 'c9')],
    ['a future attempt', asking(), claimReplied(2, accept(couponView()))],
    ['granted', holding(), claimReplied(1, soldOut)],
  ];
  for (const [name, state, command] of cases) {
    const decision = when(state, command);
    assert.equal(decision.events, [], name);
    assert.is(decision.settle, undefined, name);
    assert.equal(decision.state, state, name);
  }
});

// The brief described this as deferring on the same saga; actors/user/decide.ts:88 now refuses it.
UserCoupons('a second ClaimCoupon while asking is refused with COUPON_CLAIM_IN_PROGRESS and asks nothing more', () => {
  const decision = when(asking(), claim());

  assert.equal(decision.events, []);
  assert.equal(decision.effects ?? [], []);
  assert.equal(decision.reply, { ok: false, error: 'COUPON_CLAIM_IN_PROGRESS', message: 'user u1 is already claiming coupon c1' });
  assert.is(decision.settle, undefined);
  assert.equal(decision.state, asking());
});

UserCoupons('ClaimCoupon on a stalled claim asks again (resumed, attempt + 1) and waits on the saga', () => {
  const decision = when(stalledClaim(), claim());

  assert.equal(decision.events, [{ type: 'ClaimAsked', couponId: 'c1', attempt: 2 }]);
  assert.equal(decision.effects, [issueEffect(2, true)]);
  assert.is(decision.reply, 'defer');
  assert.is(decision.saga, 'c1');
});

UserCoupons('ClaimCoupon for a coupon held or used is rejected with COUPON_ALREADY_ISSUED', () => {
  for (const state of [holding(), given(userCreated(), claimStarted(), asked(1), granted(), debitedWith('o1', 10, 'c1'))]) {
    const decision = when(state, claim());
    assert.equal(decision.events, []);
    assert.equal(decision.effects ?? [], []);
    assert.equal(decision.reply, { ok: false, error: 'COUPON_ALREADY_ISSUED', message: 'user u1 already holds coupon c1' });
  }
});

UserCoupons('claims of two coupons run side by side, each settling only its own saga', () => {
  const both = when(asking(), claim('c2'));
  assert.is(both.saga, 'c2');
  assert.equal(both.effects, [issueEffect(1, false, 'c2')]);

  const second = when(both.state, claimReplied(1, soldOut, 'c2'));
  assert.is(second.saga, 'c2');
  assert.equal(second.settle, soldOut);
  assert.equal(heldOf(second.state, 'c1'), { status: 'CLAIMING', attempt: 1, asking: true, since: T0 });

  const first = when(second.state, claimReplied(1, accept(couponView())));
  assert.is(first.saga, 'c1');
  assert.is(first.settle, 'view');
  assert.is(heldOf(first.state, 'c1')?.status, 'ISSUED');
  assert.is(heldOf(first.state, 'c2'), undefined);
});

// --- coupons on an order's debit and refund -----------------------------------------------------

UserCoupons('DebitPoints with a held coupon marks it used by the order in PointsDebited', () => {
  const decision = when(holding(), { type: 'DebitPoints', ref: 'o1', amount: 600, resumed: false, couponId: 'c1' });

  assert.equal(decision.events, [{ type: 'PointsDebited', ref: 'o1', amount: 600, couponId: 'c1', at: NOW }]);
  assert.is(decision.reply, 'view');
  assert.is(pointsOf(decision.state), 400);
  assert.equal(heldOf(decision.state), { status: 'USED', ...TERMS, issuedAt: T0, orderId: 'o1' });
});

UserCoupons('DebitPoints without a coupon leaves held coupons alone and records no couponId', () => {
  const decision = when(holding(), { type: 'DebitPoints', ref: 'o1', amount: 600, resumed: false });

  assert.equal(decision.events, [{ type: 'PointsDebited', ref: 'o1', amount: 600, at: NOW }]);
  assert.is(heldOf(decision.state)?.status, 'ISSUED');
});

UserCoupons('DebitPoints with a coupon not held, still claiming, used, expired or not yet valid is rejected and records nothing', () => {
  const from = T0 + HOUR;
  const until = T0 + 2 * HOUR;
  const cases: Array<[UserState, number, Rejection]> = [
    [given(userCreated()), NOW, reject('COUPON_NOT_HELD', 'user u1 does not hold coupon c1')],
    [asking(), NOW, reject('COUPON_NOT_HELD', 'user u1 does not hold coupon c1')],
    [stalledClaim(), NOW, reject('COUPON_NOT_HELD', 'user u1 does not hold coupon c1')],
    [given(userCreated(), claimStarted(), asked(1), granted(), debitedWith('o0', 10, 'c1')), NOW, reject('COUPON_ALREADY_USED', 'coupon c1 was used on order o0')],
    [holding({ validUntil: until }), until + 1, reject('COUPON_EXPIRED', `coupon c1 expired at ${iso(until)}`)],
    [holding({ validFrom: from }), from - 1, reject('COUPON_NOT_YET_VALID', `coupon c1 is valid from ${iso(from)}`)],
  ];
  for (const [state, now, rejection] of cases) {
    const decision = when(state, { type: 'DebitPoints', ref: 'o1', amount: 10, resumed: false, couponId: 'c1' }, { now });
    assert.equal(decision.events, [], rejection.error);
    assert.equal(decision.reply, rejection);
  }
});

UserCoupons('DebitPoints with a held coupon at either bound of its validity window uses it: the bounds are inside', () => {
  const from = T0 + HOUR;
  const until = T0 + 2 * HOUR;
  for (const now of [from, until]) {
    const decision = when(holding({ validFrom: from, validUntil: until }), { type: 'DebitPoints', ref: 'o1', amount: 10, resumed: false, couponId: 'c1' }, { now });
    assert.equal(decision.events.map((e) => e.type), ['PointsDebited'], `at ${now}`);
  }
});

UserCoupons('a repeated debit of the order that used the coupon answers the view, not COUPON_ALREADY_USED', () => {
  const state = given(userCreated(), claimStarted(), asked(1), granted(), debitedWith('o1', 600, 'c1'));
  const command: UserCommand = { type: 'DebitPoints', ref: 'o1', amount: 600, resumed: true, couponId: 'c1' };

  assert.equal(decide(state, command), { recall: 'o1' });
  const decision = when(state, command, { seen: { o1: ['PointsDebited'] } });
  assert.equal(decision.events, []);
  assert.is(decision.reply, 'view');
});

UserCoupons('RefundPoints with the coupon the order used gives it back: ISSUED again, without the order', () => {
  const state = given(userCreated(), claimStarted(), asked(1), granted(), debitedWith('o1', 600, 'c1'));

  const decision = when(state, { type: 'RefundPoints', ref: 'o1', amount: 600, couponId: 'c1' }, { seen: { o1: ['PointsDebited'] } });

  assert.equal(decision.events, [{ type: 'PointsRefunded', ref: 'o1', amount: 600, couponId: 'c1', at: NOW }]);
  assert.is(pointsOf(decision.state), 1000);
  assert.equal(heldOf(decision.state), { status: 'ISSUED', ...TERMS, issuedAt: T0 });

  // Given back, it pays another order.
  const reused = when(decision.state, { type: 'DebitPoints', ref: 'o2', amount: 100, resumed: false, couponId: 'c1' });
  assert.equal(reused.events.map((e) => e.type), ['PointsDebited']);
  assert.equal(heldOf(reused.state), { status: 'USED', ...TERMS, issuedAt: T0, orderId: 'o2' });
});

UserCoupons('a refund gives the coupon back only if this order used it', () => {
  // c1 used by o2; o1 (debited without it) refunds naming c1: the points come back, the coupon stays with o2.
  const state = given(userCreated(), claimStarted(), asked(1), granted(), debitedWith('o1', 100), debitedWith('o2', 100, 'c1'));
  const decision = when(state, { type: 'RefundPoints', ref: 'o1', amount: 100, couponId: 'c1' }, { seen: { o1: ['PointsDebited'] } });
  assert.equal(decision.events.map((e) => e.type), ['PointsRefunded']);
  assert.is(pointsOf(decision.state), 900);
  assert.equal(heldOf(decision.state), { status: 'USED', ...TERMS, issuedAt: T0, orderId: 'o2' });

  // A coupon merely held (never used) is not touched by a refund naming it.
  const held = userModule.evolve(given(userCreated(), claimStarted(), asked(1), granted(), debitedWith('o1', 100)), refundedWith('o1', 100, 'c1'));
  assert.equal(heldOf(held), { status: 'ISSUED', ...TERMS, issuedAt: T0 });
  // Nor one never held.
  assert.is(heldOf(userModule.evolve(given(userCreated(), debitedWith('o1', 100)), refundedWith('o1', 100, 'c1'))), undefined);
});

UserCoupons('a refund already applied, or of an order never debited, gives nothing back twice', () => {
  const state = given(userCreated(), claimStarted(), asked(1), granted(), debitedWith('o1', 600, 'c1'), refundedWith('o1', 600, 'c1'), debitedWith('o2', 100, 'c1'));
  const again = when(state, { type: 'RefundPoints', ref: 'o1', amount: 600, couponId: 'c1' }, { seen: { o1: ['PointsDebited', 'PointsRefunded'] } });
  assert.equal(again.events, []);
  assert.equal(heldOf(again.state), { status: 'USED', ...TERMS, issuedAt: T0, orderId: 'o2' }, 'o2 keeps the coupon');

  const never = when(holding(), { type: 'RefundPoints', ref: 'o3', amount: 600, couponId: 'c1' }, { seen: { o3: [] } });
  assert.equal(never.events, []);
});

// --- module -----------------------------------------------------------------------------------

const claimEvents = (): UserEvent[] => [claimStarted(), asked(1), claimStalled(), granted(), { type: 'CouponClaimFailed', couponId: 'c1', error: 'COUPON_SOLD_OUT', at: T0 }];

UserCoupons('ClaimAsked and ClaimStalled are volatile; the rest of the claim is durable', () => {
  assert.equal(claimEvents().map(userModule.isDurable), [true, false, false, true, true]);
});

UserCoupons("a claim's events carry no ref", () => {
  assert.equal(claimEvents().map(userModule.refOf), [undefined, undefined, undefined, undefined, undefined]);
});

UserCoupons('a debit or refund naming a coupon still records its order as the ref', () => {
  assert.equal([debitedWith('o1', 1, 'c1'), refundedWith('o1', 1, 'c1')].map(userModule.refOf), ['o1', 'o1']);
});

UserCoupons('snapshot turns asking claims to not asking, keeping the attempt, and leaves the rest alone', () => {
  const state = given(userCreated(), claimStarted('c1'), asked(3, 'c1'), claimStarted('c2'), asked(1, 'c2'), claimStalled('c2'), claimStarted('c3'), asked(1, 'c3'), granted('c3'));

  const snap = userModule.snapshot(state);

  assert.equal(heldOf(snap, 'c1'), { status: 'CLAIMING', attempt: 3, asking: false, since: T0 });
  assert.equal(heldOf(snap, 'c2'), { status: 'CLAIMING', attempt: 1, asking: false, since: T0 });
  assert.equal(heldOf(snap, 'c3'), heldOf(state, 'c3'));
  assert.equal(heldOf(state, 'c1'), { status: 'CLAIMING', attempt: 3, asking: true, since: T0 }, 'the live state is not changed');
  const quiet = holding();
  assert.is(userModule.snapshot(quiet), quiet);
  const none = given();
  assert.is(userModule.snapshot(none), none);
});

UserCoupons('onRecovered asks ResumeClaims while a claim is open, nothing otherwise', () => {
  assert.equal(userModule.onRecovered?.(asking()), { type: 'ResumeClaims' });
  assert.equal(userModule.onRecovered?.(stalledClaim()), { type: 'ResumeClaims' });
  assert.equal(userModule.onRecovered?.(given(userCreated(), claimStarted())), { type: 'ResumeClaims' });
  for (const state of [given(), given(userCreated()), holding(), when(asking(), claimReplied(1, soldOut)).state]) {
    assert.is(userModule.onRecovered?.(state), undefined);
  }
});

UserCoupons('recovered from its journal alone, an interrupted claim resumes with a resumed ask', () => {
  const live = when(given(userCreated()), claim());
  const durable = live.events.filter(userModule.isDurable);
  assert.equal(durable.map((e) => e.type), ['CouponClaimStarted']);
  const recovered = given(userCreated(), ...durable);
  assert.equal(heldOf(recovered), { status: 'CLAIMING', attempt: 0, asking: false, since: NOW });

  const resume = userModule.onRecovered?.(recovered);
  assert.ok(resume);
  const decision = when(recovered, resume);
  assert.equal(decision.effects, [issueEffect(1, true)]);
  assert.equal(when(decision.state, claimReplied(1, accept(couponView()))).events.map((e) => e.type), ['CouponGranted']);
});

UserCoupons('replied builds the ClaimReplied the claim understands', () => {
  const result = accept(couponView());
  assert.equal(userModule.replied?.({ couponId: 'c1', attempt: 4 }, result), { type: 'ClaimReplied', step: { couponId: 'c1', attempt: 4 }, result });
});

UserCoupons('a user snapshotted before coupons existed (no coupons field) is restored holding none, then claims and debits', () => {
  const snapshot = { status: 'ACTIVE', id: 'u1', name: 'Ada', points: 1000, createdAt: T0, updatedAt: T0 } as unknown as UserState;
  const old = userModule.restore?.(snapshot) as UserState;

  assert.equal(old, { ...snapshot, coupons: {} });
  assert.equal(when(old, { type: 'DebitPoints', ref: 'o1', amount: 1, resumed: false, couponId: 'c1' }).reply, reject('COUPON_NOT_HELD', 'user u1 does not hold coupon c1'));
  assert.equal(when(old, { type: 'ResumeClaims' }).events, []);
  assert.is(userModule.onRecovered?.(old), undefined);
  const claimed = when(old, claim());
  assert.equal(heldOf(claimed.state), { status: 'CLAIMING', attempt: 1, asking: true, since: NOW });
});

UserCoupons("a user snapshot in today's shape is restored as it is", () => {
  const current = given(userCreated());
  assert.is(userModule.restore?.(current), current);
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
    this.coupon = couponModule.evolve(couponModule.initial('c1'), couponCreated(quantity));
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

UserCoupons.run();
CouponClaims.run();
