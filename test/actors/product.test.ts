// ProductActor: stock reserved, released and restocked per command id, never below zero.

import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { productModule, type ProductCommand, type ProductEvent, type ProductState } from '../../actors/product/index.js';
import { MAX_AMOUNT } from '../../actors/shared/result.js';
import { decided, givenWhenThen } from '../helpers/given-when-then.js';
import { prng } from '../helpers/prng.js';

const ProductActor = suite('ProductActor');

const T0 = 1_700_000_000_000;
const NOW = T0 + 60_000;

const created = (stock = 10): ProductEvent => ({ type: 'ProductCreated', id: 'p1', name: 'Green tea', price: 350, stock, at: T0 });
const reserved = (ref: string, quantity: number): ProductEvent => ({ type: 'StockReserved', ref, quantity, at: T0 });
const released = (ref: string, quantity: number): ProductEvent => ({ type: 'StockReleased', ref, quantity, at: T0 });

const { given, when, decide } = givenWhenThen(productModule, 'p1', NOW);

const stockOf = (state: ProductState): number => productModule.view(state).stock;

// --- creation -------------------------------------------------------------------------------

ProductActor('CreateProduct on a new id records ProductCreated and answers the view', () => {
  const decision = when(given(), { type: 'CreateProduct', name: 'Green tea', price: 350, stock: 10 });

  assert.equal(decision.events, [{ type: 'ProductCreated', id: 'p1', name: 'Green tea', price: 350, stock: 10, at: NOW }]);
  assert.is(decision.reply, 'view');
  assert.equal(productModule.view(decision.state), { id: 'p1', name: 'Green tea', price: 350, stock: 10 });
  assert.ok(productModule.exists(decision.state));
});

ProductActor('CreateProduct on an existing product is rejected with ALREADY_EXISTS', () => {
  const decision = when(given(created()), { type: 'CreateProduct', name: 'Other', price: 1, stock: 1 });

  assert.equal(decision.events, []);
  assert.equal(decision.reply, { ok: false, error: 'ALREADY_EXISTS', message: 'product p1 already exists' });
});

ProductActor('every other command before creation is rejected with NOT_FOUND naming the product', () => {
  const commands: ProductCommand[] = [
    { type: 'Restock', ref: 'k1', quantity: 1, keyed: false },
    { type: 'ReserveStock', ref: 'o1', quantity: 1, resumed: false },
    { type: 'ReleaseStock', ref: 'o1', quantity: 1 },
  ];
  for (const command of commands) {
    const decision = when(given(), command, { seen: { k1: [], o1: ['StockReserved'] } });
    assert.equal(decision.events, [], command.type);
    assert.equal(decision.reply, { ok: false, error: 'NOT_FOUND', message: 'product p1 not found', productId: 'p1' }, command.type);
  }
  assert.not.ok(productModule.exists(given()));
});

// --- restock --------------------------------------------------------------------------------

ProductActor('Restock adds the quantity under its ref', () => {
  const decision = when(given(created(10)), { type: 'Restock', ref: 'k1', quantity: 5, keyed: false });

  assert.equal(decision.events, [{ type: 'Restocked', ref: 'k1', quantity: 5, at: NOW }]);
  assert.is(decision.reply, 'view');
  assert.is(stockOf(decision.state), 15);
});

ProductActor('Restock with a ref already restocked records nothing and answers the view', () => {
  const state = given(created(10), { type: 'Restocked', ref: 'k1', quantity: 5, at: T0 });

  const decision = when(state, { type: 'Restock', ref: 'k1', quantity: 5, keyed: true }, { seen: { k1: ['Restocked'] } });

  assert.equal(decision.events, []);
  assert.is(decision.reply, 'view');
  assert.is(stockOf(state), 15);
});

ProductActor('keyed Restock with a ref outside the window asks to recall it from the journal', () => {
  assert.equal(decide(given(created()), { type: 'Restock', ref: 'k1', quantity: 5, keyed: true }), { recall: 'k1' });
});

ProductActor('keyed Restock recalled as never applied restocks', () => {
  const decision = when(given(created(10)), { type: 'Restock', ref: 'k1', quantity: 5, keyed: true }, { seen: { k1: [] } });

  assert.equal(decision.events, [{ type: 'Restocked', ref: 'k1', quantity: 5, at: NOW }]);
});

ProductActor('unkeyed Restock with an unknown ref restocks without a recall', () => {
  const decision = when(given(created(10)), { type: 'Restock', ref: 'r-1', quantity: 1, keyed: false });

  assert.equal(decision.events.map((e) => e.type), ['Restocked']);
});

ProductActor('Restock beyond MAX_AMOUNT is rejected with STOCK_LIMIT_EXCEEDED', () => {
  const decision = when(given(created(MAX_AMOUNT - 1)), { type: 'Restock', ref: 'k1', quantity: 2, keyed: false });

  assert.equal(decision.events, []);
  assert.ok(decision.reply !== 'view' && decision.reply !== 'defer' && decision.reply.error === 'STOCK_LIMIT_EXCEEDED');
});

// --- reserve --------------------------------------------------------------------------------

ProductActor('ReserveStock with enough stock records StockReserved and lowers the stock', () => {
  const state = given(created(10));

  const decision = when(state, { type: 'ReserveStock', ref: 'o1', quantity: 4, resumed: false });

  assert.equal(decision.events, [{ type: 'StockReserved', ref: 'o1', quantity: 4, at: NOW }]);
  assert.is(decision.reply, 'view');
  assert.is(stockOf(decision.state), 6);
});

ProductActor('ReserveStock of exactly the whole stock leaves zero', () => {
  const state = given(created(3));

  const decision = when(state, { type: 'ReserveStock', ref: 'o1', quantity: 3, resumed: false });

  assert.is(stockOf(decision.state), 0);
});

ProductActor('ReserveStock beyond the stock is rejected with INSUFFICIENT_STOCK naming the product', () => {
  const decision = when(given(created(2)), { type: 'ReserveStock', ref: 'o1', quantity: 3, resumed: false });

  assert.equal(decision.events, []);
  assert.equal(decision.reply, {
    ok: false,
    error: 'INSUFFICIENT_STOCK',
    message: 'product p1 has 2 in stock, the order needs 3',
    productId: 'p1',
  });
});

ProductActor('ReserveStock with a ref already reserved records nothing and answers the view', () => {
  const state = given(created(10), reserved('o1', 4));

  const decision = when(state, { type: 'ReserveStock', ref: 'o1', quantity: 4, resumed: false }, { seen: { o1: ['StockReserved'] } });

  assert.equal(decision.events, []);
  assert.is(decision.reply, 'view');
  assert.is(stockOf(state), 6);
});

ProductActor('ReserveStock with a ref already released is rejected with RESERVATION_RELEASED', () => {
  const state = given(created(10), reserved('o1', 4), released('o1', 4));

  const decision = when(state, { type: 'ReserveStock', ref: 'o1', quantity: 4, resumed: true }, { seen: { o1: ['StockReserved', 'StockReleased'] } });

  assert.equal(decision.events, []);
  assert.equal(decision.reply, {
    ok: false,
    error: 'RESERVATION_RELEASED',
    message: 'stock for order o1 was already released',
    productId: 'p1',
  });
});

ProductActor('resumed ReserveStock with a ref outside the window asks to recall it', () => {
  assert.equal(decide(given(created()), { type: 'ReserveStock', ref: 'o1', quantity: 1, resumed: true }), { recall: 'o1' });
});

ProductActor('resumed ReserveStock recalled as already reserved records nothing', () => {
  const decision = when(given(created(10), reserved('o1', 4)), { type: 'ReserveStock', ref: 'o1', quantity: 4, resumed: true }, { seen: { o1: ['StockReserved'] } });

  assert.equal(decision.events, []);
  assert.is(decision.reply, 'view');
});

ProductActor('first ReserveStock with an unknown ref reserves without a recall', () => {
  const decision = when(given(created(10)), { type: 'ReserveStock', ref: 'o1', quantity: 1, resumed: false });

  assert.equal(decision.events.map((e) => e.type), ['StockReserved']);
});

// --- release --------------------------------------------------------------------------------

ProductActor('ReleaseStock of a reserved ref records StockReleased and restores the stock', () => {
  const state = given(created(10), reserved('o1', 4));

  const decision = when(state, { type: 'ReleaseStock', ref: 'o1', quantity: 4 }, { seen: { o1: ['StockReserved'] } });

  assert.equal(decision.events, [{ type: 'StockReleased', ref: 'o1', quantity: 4, at: NOW }]);
  assert.is(decision.reply, 'view');
  assert.is(stockOf(decision.state), 10);
});

ProductActor('ReleaseStock with a ref outside the window always asks to recall it', () => {
  assert.equal(decide(given(created(10), reserved('o1', 4)), { type: 'ReleaseStock', ref: 'o1', quantity: 4 }), { recall: 'o1' });
});

ProductActor('ReleaseStock of a ref never reserved (seen as []) records nothing', () => {
  const decision = when(given(created(10)), { type: 'ReleaseStock', ref: 'o1', quantity: 4 }, { seen: { o1: [] } });

  assert.equal(decision.events, []);
  assert.is(decision.reply, 'view');
});

ProductActor('ReleaseStock of a ref already released records nothing', () => {
  const state = given(created(10), reserved('o1', 4), released('o1', 4));

  const decision = when(state, { type: 'ReleaseStock', ref: 'o1', quantity: 4 }, { seen: { o1: ['StockReserved', 'StockReleased'] } });

  assert.equal(decision.events, []);
  assert.is(stockOf(state), 10);
});

// --- module ---------------------------------------------------------------------------------

ProductActor('every product event is durable and records its ref', () => {
  const events = [created(), reserved('o1', 1), released('o1', 1), { type: 'Restocked', ref: 'k1', quantity: 1, at: T0 } as const];
  assert.ok(events.every(productModule.isDurable));
  assert.equal(events.map(productModule.refOf), [undefined, 'o1', 'o1', 'k1']);
});

ProductActor('snapshot keeps the whole state', () => {
  const state = given(created(10), reserved('o1', 4));
  assert.equal(productModule.snapshot(state), state);
});

// --- invariant ------------------------------------------------------------------------------


ProductActor('stock never goes negative and equals initial + restocks − reserved + released over random sequences', () => {
  const exercised = { reserved: 0, released: 0, rejected: 0, recalled: 0 };
  for (let seed = 1; seed <= 200; seed++) {
    const random = prng(seed);
    const pick = (n: number) => Math.floor(random() * n);
    const initial = pick(20);
    let state = given(created(initial));
    // The journal keeps every ref's event types; the window forgets them now and then.
    const journal = new Map<string, string[]>();
    let window = new Map<string, string[]>();
    const quantities = new Map<string, number>();
    const totals = { restocked: 0, reserved: 0, released: 0 };

    for (let step = 0; step < 200; step++) {
      const ref = `o${pick(15)}`;
      const quantity = quantities.get(ref) ?? 1 + pick(8);
      const roll = random();
      // Only a saga's first attempt sends a ref unresumed; once the ref is journaled, a reserve is a resumed one.
      const command: ProductCommand =
        roll < 0.45
          ? { type: 'ReserveStock', ref, quantity, resumed: journal.has(ref) || random() < 0.2 }
          : roll < 0.85
            ? { type: 'ReleaseStock', ref, quantity }
            : { type: 'Restock', ref: `k${step}`, quantity: 1 + pick(5), keyed: random() < 0.5 };
      if (random() < 0.1) window = new Map();

      let decision = productModule.decide(state, command, { now: NOW, seen: (r) => window.get(r) });
      if ('recall' in decision) {
        exercised.recalled++;
        const types = journal.get(decision.recall) ?? [];
        window.set(decision.recall, types);
        decision = productModule.decide(state, command, { now: NOW, seen: (r) => window.get(r) });
      }
      const applied = decided(decision);
      if (applied.reply !== 'view') exercised.rejected++;

      for (const event of applied.events) {
        state = productModule.evolve(state, event);
        const r = productModule.refOf(event);
        if (r !== undefined) {
          journal.set(r, [...(journal.get(r) ?? []), event.type]);
          window.set(r, [...(window.get(r) ?? []), event.type]);
        }
        if (event.type === 'Restocked') totals.restocked += event.quantity;
        if (event.type === 'StockReserved') {
          totals.reserved += event.quantity;
          quantities.set(event.ref, event.quantity);
          exercised.reserved++;
        }
        if (event.type === 'StockReleased') {
          totals.released += event.quantity;
          exercised.released++;
        }
      }

      const stock = stockOf(state);
      const where = `seed ${seed}, step ${step}, ${JSON.stringify(command)}`;
      assert.ok(stock >= 0, `stock ${stock} went negative at ${where}`);
      assert.is(stock, initial + totals.restocked - totals.reserved + totals.released, `accounting broke at ${where}`);
    }

    for (const [ref, types] of journal) {
      if (!ref.startsWith('o')) continue;
      const reserves = types.filter((t) => t === 'StockReserved').length;
      const releases = types.filter((t) => t === 'StockReleased').length;
      assert.ok(reserves <= 1 && releases <= reserves, `seed ${seed}: ref ${ref} recorded ${types.join(', ')}`);
      if (releases === 1) assert.is(types.indexOf('StockReserved') < types.indexOf('StockReleased'), true);
    }
  }
  // The sequences must actually reach every branch, or the property says nothing.
  assert.ok(Object.values(exercised).every((n) => n > 100), JSON.stringify(exercised));
});

ProductActor.run();
