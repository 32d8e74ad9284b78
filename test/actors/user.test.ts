// UserActor: points charged, debited and refunded per command id, never below zero.

import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { MAX_AMOUNT } from '../../actors/shared/result.js';
import { userModule, type UserCommand, type UserEvent, type UserState } from '../../actors/user/index.js';
import { decided, givenWhenThen } from '../helpers/given-when-then.js';
import { prng } from '../helpers/prng.js';

const UserActor = suite('UserActor');

const T0 = 1_700_000_000_000;
const NOW = T0 + 60_000;

const created = (points = 100): UserEvent => ({ type: 'UserCreated', id: 'u1', name: 'Ada', points, at: T0 });
const debited = (ref: string, amount: number): UserEvent => ({ type: 'PointsDebited', ref, amount, at: T0 });
const refunded = (ref: string, amount: number): UserEvent => ({ type: 'PointsRefunded', ref, amount, at: T0 });

const { given, when, decide } = givenWhenThen(userModule, 'u1', NOW);

const pointsOf = (state: UserState): number => userModule.view(state).points;

// --- creation -------------------------------------------------------------------------------

UserActor('CreateUser on a new id records UserCreated and answers the view', () => {
  const decision = when(given(), { type: 'CreateUser', name: 'Ada', points: 100 });

  assert.equal(decision.events, [{ type: 'UserCreated', id: 'u1', name: 'Ada', points: 100, at: NOW }]);
  assert.is(decision.reply, 'view');
  assert.equal(userModule.view(decision.state), { id: 'u1', name: 'Ada', points: 100 });
  assert.ok(userModule.exists(decision.state));
});

UserActor('CreateUser on an existing user is rejected with ALREADY_EXISTS', () => {
  const decision = when(given(created()), { type: 'CreateUser', name: 'Bob', points: 5 });

  assert.equal(decision.events, []);
  assert.equal(decision.reply, { ok: false, error: 'ALREADY_EXISTS', message: 'user u1 already exists' });
});

UserActor('every other command before creation is rejected with NOT_FOUND', () => {
  const commands: UserCommand[] = [
    { type: 'ChargePoints', ref: 'k1', amount: 1, keyed: false },
    { type: 'DebitPoints', ref: 'o1', amount: 1, resumed: false },
    { type: 'RefundPoints', ref: 'o1', amount: 1 },
  ];
  for (const command of commands) {
    const decision = when(given(), command, { seen: { k1: [], o1: ['PointsDebited'] } });
    assert.equal(decision.events, [], command.type);
    assert.equal(decision.reply, { ok: false, error: 'NOT_FOUND', message: 'user u1 not found' }, command.type);
  }
  assert.not.ok(userModule.exists(given()));
});

// --- charge ---------------------------------------------------------------------------------

UserActor('ChargePoints adds the amount under its ref', () => {
  const state = given(created(100));

  const decision = when(state, { type: 'ChargePoints', ref: 'k1', amount: 50, keyed: false });

  assert.equal(decision.events, [{ type: 'PointsCharged', ref: 'k1', amount: 50, at: NOW }]);
  assert.is(decision.reply, 'view');
  assert.is(pointsOf(decision.state), 150);
});

UserActor('ChargePoints with a ref already charged records nothing and answers the view', () => {
  const state = given(created(100), { type: 'PointsCharged', ref: 'k1', amount: 50, at: T0 });

  const decision = when(state, { type: 'ChargePoints', ref: 'k1', amount: 50, keyed: true }, { seen: { k1: ['PointsCharged'] } });

  assert.equal(decision.events, []);
  assert.is(decision.reply, 'view');
  assert.is(pointsOf(state), 150);
});

UserActor('keyed ChargePoints with a ref outside the window asks to recall it from the journal', () => {
  assert.equal(decide(given(created()), { type: 'ChargePoints', ref: 'k1', amount: 50, keyed: true }), { recall: 'k1' });
});

UserActor('keyed ChargePoints recalled as never applied charges', () => {
  const decision = when(given(created()), { type: 'ChargePoints', ref: 'k1', amount: 50, keyed: true }, { seen: { k1: [] } });

  assert.equal(decision.events.map((e) => e.type), ['PointsCharged']);
});

UserActor('unkeyed ChargePoints with an unknown ref charges without a recall', () => {
  const decision = when(given(created()), { type: 'ChargePoints', ref: 'r-1', amount: 1, keyed: false });

  assert.equal(decision.events.map((e) => e.type), ['PointsCharged']);
});

UserActor('ChargePoints beyond MAX_AMOUNT is rejected with POINTS_LIMIT_EXCEEDED', () => {
  const decision = when(given(created(MAX_AMOUNT)), { type: 'ChargePoints', ref: 'k1', amount: 1, keyed: false });

  assert.equal(decision.events, []);
  assert.ok(decision.reply !== 'view' && decision.reply !== 'defer' && decision.reply.error === 'POINTS_LIMIT_EXCEEDED');
});

// --- debit ----------------------------------------------------------------------------------

UserActor('DebitPoints with enough points records PointsDebited and lowers the balance', () => {
  const state = given(created(100));

  const decision = when(state, { type: 'DebitPoints', ref: 'o1', amount: 70, resumed: false });

  assert.equal(decision.events, [{ type: 'PointsDebited', ref: 'o1', amount: 70, at: NOW }]);
  assert.is(decision.reply, 'view');
  assert.is(pointsOf(decision.state), 30);
});

UserActor('DebitPoints of exactly the whole balance leaves zero', () => {
  const state = given(created(70));

  const decision = when(state, { type: 'DebitPoints', ref: 'o1', amount: 70, resumed: false });

  assert.is(pointsOf(decision.state), 0);
});

UserActor('DebitPoints beyond the balance is rejected with INSUFFICIENT_POINTS', () => {
  const decision = when(given(created(50)), { type: 'DebitPoints', ref: 'o1', amount: 70, resumed: false });

  assert.equal(decision.events, []);
  assert.equal(decision.reply, { ok: false, error: 'INSUFFICIENT_POINTS', message: 'user u1 has 50 points, the order needs 70' });
});

UserActor('DebitPoints with a ref already debited records nothing and answers the view', () => {
  const state = given(created(100), debited('o1', 70));

  const decision = when(state, { type: 'DebitPoints', ref: 'o1', amount: 70, resumed: false }, { seen: { o1: ['PointsDebited'] } });

  assert.equal(decision.events, []);
  assert.is(decision.reply, 'view');
  assert.is(pointsOf(state), 30);
});

UserActor('DebitPoints with a ref already refunded is rejected with ORDER_NOT_PAYABLE', () => {
  const state = given(created(100), debited('o1', 70), refunded('o1', 70));

  const decision = when(state, { type: 'DebitPoints', ref: 'o1', amount: 70, resumed: true }, { seen: { o1: ['PointsDebited', 'PointsRefunded'] } });

  assert.equal(decision.events, []);
  assert.equal(decision.reply, { ok: false, error: 'ORDER_NOT_PAYABLE', message: 'points of order o1 were already refunded' });
});

UserActor('resumed DebitPoints with a ref outside the window asks to recall it', () => {
  assert.equal(decide(given(created()), { type: 'DebitPoints', ref: 'o1', amount: 1, resumed: true }), { recall: 'o1' });
});

UserActor('resumed DebitPoints recalled as already debited records nothing', () => {
  const decision = when(given(created(100), debited('o1', 70)), { type: 'DebitPoints', ref: 'o1', amount: 70, resumed: true }, { seen: { o1: ['PointsDebited'] } });

  assert.equal(decision.events, []);
  assert.is(decision.reply, 'view');
});

UserActor('first DebitPoints with an unknown ref debits without a recall', () => {
  const decision = when(given(created(100)), { type: 'DebitPoints', ref: 'o1', amount: 1, resumed: false });

  assert.equal(decision.events.map((e) => e.type), ['PointsDebited']);
});

// --- refund ---------------------------------------------------------------------------------

UserActor('RefundPoints of a debited ref records PointsRefunded and restores the balance', () => {
  const state = given(created(100), debited('o1', 70));

  const decision = when(state, { type: 'RefundPoints', ref: 'o1', amount: 70 }, { seen: { o1: ['PointsDebited'] } });

  assert.equal(decision.events, [{ type: 'PointsRefunded', ref: 'o1', amount: 70, at: NOW }]);
  assert.is(decision.reply, 'view');
  assert.is(pointsOf(decision.state), 100);
});

UserActor('RefundPoints with a ref outside the window always asks to recall it', () => {
  assert.equal(decide(given(created(100), debited('o1', 70)), { type: 'RefundPoints', ref: 'o1', amount: 70 }), { recall: 'o1' });
});

UserActor('RefundPoints of a ref never debited (seen as []) records nothing', () => {
  const decision = when(given(created(100)), { type: 'RefundPoints', ref: 'o1', amount: 70 }, { seen: { o1: [] } });

  assert.equal(decision.events, []);
  assert.is(decision.reply, 'view');
});

UserActor('RefundPoints of a ref already refunded records nothing', () => {
  const state = given(created(100), debited('o1', 70), refunded('o1', 70));

  const decision = when(state, { type: 'RefundPoints', ref: 'o1', amount: 70 }, { seen: { o1: ['PointsDebited', 'PointsRefunded'] } });

  assert.equal(decision.events, []);
  assert.is(pointsOf(state), 100);
});

// --- module ---------------------------------------------------------------------------------

UserActor('every user event is durable and records its ref', () => {
  const events = [created(), debited('o1', 1), refunded('o1', 1), { type: 'PointsCharged', ref: 'k1', amount: 1, at: T0 } as const];
  assert.ok(events.every(userModule.isDurable));
  assert.equal(events.map(userModule.refOf), [undefined, 'o1', 'o1', 'k1']);
});

UserActor('snapshot keeps the whole state', () => {
  const state = given(created(100), debited('o1', 70));
  assert.equal(userModule.snapshot(state), state);
});

// --- invariant ------------------------------------------------------------------------------


UserActor('points never go negative and charged = balance + spent − refunded over random sequences', () => {
  const exercised = { debited: 0, refunded: 0, rejected: 0, recalled: 0 };
  for (let seed = 1; seed <= 200; seed++) {
    const random = prng(seed);
    const pick = (n: number) => Math.floor(random() * n);
    const initial = pick(100);
    let state = given(created(initial));
    // The journal keeps every ref's event types; the window forgets them now and then.
    const journal = new Map<string, string[]>();
    let window = new Map<string, string[]>();
    const amounts = new Map<string, number>();
    const totals = { charged: initial, spent: 0, refunded: 0 };

    for (let step = 0; step < 200; step++) {
      const ref = `o${pick(15)}`;
      const amount = amounts.get(ref) ?? 1 + pick(40);
      const roll = random();
      // Only a saga's first attempt sends a ref unresumed; once the ref is journaled, a debit is a resumed one.
      const command: UserCommand =
        roll < 0.45
          ? { type: 'DebitPoints', ref, amount, resumed: journal.has(ref) || random() < 0.2 }
          : roll < 0.85
            ? { type: 'RefundPoints', ref, amount }
            : { type: 'ChargePoints', ref: `k${step}`, amount: 1 + pick(30), keyed: random() < 0.5 };
      if (random() < 0.1) window = new Map();

      let decision = userModule.decide(state, command, { now: NOW, seen: (r) => window.get(r) });
      if ('recall' in decision) {
        exercised.recalled++;
        window.set(decision.recall, journal.get(decision.recall) ?? []);
        decision = userModule.decide(state, command, { now: NOW, seen: (r) => window.get(r) });
      }
      const applied = decided(decision);
      if (applied.reply !== 'view') exercised.rejected++;

      for (const event of applied.events) {
        state = userModule.evolve(state, event);
        const r = userModule.refOf(event);
        if (r !== undefined) {
          journal.set(r, [...(journal.get(r) ?? []), event.type]);
          window.set(r, [...(window.get(r) ?? []), event.type]);
        }
        if (event.type === 'PointsCharged') totals.charged += event.amount;
        if (event.type === 'PointsDebited') {
          totals.spent += event.amount;
          amounts.set(event.ref, event.amount);
          exercised.debited++;
        }
        if (event.type === 'PointsRefunded') {
          totals.refunded += event.amount;
          exercised.refunded++;
        }
      }

      const points = pointsOf(state);
      const where = `seed ${seed}, step ${step}, ${JSON.stringify(command)}`;
      assert.ok(points >= 0, `points ${points} went negative at ${where}`);
      assert.is(totals.charged, points + totals.spent - totals.refunded, `accounting broke at ${where}`);
    }

    for (const [ref, types] of journal) {
      if (!ref.startsWith('o')) continue;
      const debits = types.filter((t) => t === 'PointsDebited').length;
      const refunds = types.filter((t) => t === 'PointsRefunded').length;
      assert.ok(debits <= 1 && refunds <= debits, `seed ${seed}: ref ${ref} recorded ${types.join(', ')}`);
      if (refunds === 1) assert.is(types.indexOf('PointsDebited') < types.indexOf('PointsRefunded'), true);
    }
  }
  // The sequences must actually reach every branch, or the property says nothing.
  assert.ok(Object.values(exercised).every((n) => n > 100), JSON.stringify(exercised));
});

UserActor.run();
