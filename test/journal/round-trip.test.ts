// Every value a batch writes comes back exactly: awkward text, nulls and integers up to 2^53, on each database.

import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import type { OutboxTable } from '../../src/db/schema.js';
import { arrayLiteral } from '../../src/journal/array-statements.js';
import type { AppendEntry } from '../../src/journal/journal.js';
import { databaseKinds } from '../helpers/databases.js';
import { journalStoreSuite } from '../helpers/journal-store-suite.js';

const BIG = 2 ** 53;
/** Text that array literals and JSON treat specially, none of it a control character. */
const PRINTABLE = ['', ' ', '"', '\\', '\\"', '{}', '{', '}', ',', '{"a","b"}', 'null', 'NULL', "it's", '\\n', 'é ü ß 中文 한국어', '😀 🇰🇷 👩‍👩‍👧', '\u2028\u2029', '\u007f', ' lead', 'trail '];
/** Control characters, which JSON escapes differently from an array literal. */
const CONTROL = ['line\nbreak', 'tab\there', 'cr\r\n', '\u0001\u001f', '\b\f'];

const event = (sequenceNr: number, payload: string, ref: string | null, at: number) => ({ sequenceNr, type: 'Noted', ref, payload, at });

for (const kind of databaseKinds()) {
  const it = journalStoreSuite(`batch round trip on ${kind.name}`, kind);

  for (const [name, texts] of [
    ['printable', PRINTABLE],
    ['control', CONTROL],
    ['mixed', [...PRINTABLE, ...CONTROL]],
  ] as const) {
    it(`events, snapshots and outbox rows of ${name} text, with nulls and big integers, read back exactly`, async ({ store, database }) => {
      const key = `k-${name}-"{\\,}"`;
      const payloads = texts.map((t) => JSON.stringify({ t, nested: { t } }) + t);
      const refs = texts.map((t, i) => (i % 3 === 0 ? null : t));
      const ats = texts.map((_, i) => (i % 2 === 0 ? BIG - i : -BIG + i));
      const entries: AppendEntry[] = [
        {
          key,
          events: texts.map((_, i) => event(BIG - texts.length + i, payloads[i] as string, refs[i] as string | null, ats[i] as number)),
          creates: false,
          snapshot: { sequenceNr: BIG - 1, state: texts.join('|') },
        },
      ];
      const outbox: OutboxTable[] = texts.map((t, i) => ({
        position: BIG - 1000 + i + (name === 'printable' ? 0 : name === 'control' ? 100 : 200),
        sink: 'webhook',
        event_id: `${key}:${i}`,
        order_key: t,
        event_type: t.slice(0, 40),
        payload: payloads[i] as string,
        created_at: ats[i] as number,
        attempts: 0,
        last_error: null,
        shard: 0,
        trace_parent: i % 2 === 0 ? null : `00-${'a'.repeat(32)}-${i.toString(16).padStart(16, '0')}-01`,
      }));
      await store.writeBatch(entries, outbox);

      const events = await store.readEvents(key, 0, 1000);
      assert.equal(
        events.map((e) => [e.sequenceNr, e.ref, e.payload, e.at]),
        texts.map((_, i) => [BIG - texts.length + i, refs[i], payloads[i], ats[i]]),
      );
      assert.equal(await store.loadLatest(key, 10), { snapshot: { sequenceNr: BIG - 1, state: texts.join('|') }, events: [] });
      const rows = await database.db
        .selectFrom('outbox')
        .select(['position', 'order_key', 'event_type', 'payload', 'created_at', 'last_error', 'trace_parent'])
        .where('event_id', 'like', `k-${name}-%`)
        .orderBy('position')
        .execute();
      assert.equal(
        rows.map((r) => [Number(r.position), r.order_key, r.event_type, r.payload, Number(r.created_at), r.last_error, r.trace_parent]),
        outbox.map((r) => [r.position, r.order_key, r.event_type, r.payload, r.created_at, null, r.trace_parent]),
      );
    });
  }

  it('read-model rows of awkward text, with nulls and big integers, read back exactly, inserted and updated', async ({ store, database }) => {
    const { db } = database;
    const texts = [...PRINTABLE, ...CONTROL];
    const short = (t: string) => t.slice(0, 16);
    const entries: AppendEntry[] = texts.flatMap((t, i): AppendEntry[] => [
      { key: `user:${i}`, events: [], creates: true, row: { table: 'users', row: { id: `u${i}${short(t)}`, name: t, points: BIG - i, created_at: BIG, updated_at: i } } },
      { key: `product:${i}`, events: [], creates: true, row: { table: 'products', row: { id: `p${i}${short(t)}`, name: t, price: BIG, stock: i, created_at: 0, updated_at: BIG } } },
      {
        key: `order:${i}`,
        events: [],
        creates: true,
        row: {
          table: 'orders',
          row: {
            id: `o${i}${short(t)}`,
            user_id: t,
            status: short(t),
            total: BIG - 1,
            coupon_id: i % 2 === 0 ? null : t,
            discount: 0,
            failure_reason: i % 3 === 0 ? null : short(t),
            created_at: BIG,
            updated_at: 0,
          },
          items: [{ order_id: `o${i}${short(t)}`, product_id: t, quantity: BIG - 2, unit_price: 1 }],
        },
        sales: [{ productId: `p${i}${short(t)}`, day: 20_000, units: BIG - 3 }],
      },
    ]);
    await store.writeBatch(entries);
    const after = (i: number) => (i % 2 === 0 ? null : `${short(texts[i] as string)}!`);
    await store.writeBatch(
      texts.map((t, i): AppendEntry => ({
        key: `order:${i}`,
        events: [],
        creates: false,
        row: {
          table: 'orders',
          row: { id: `o${i}${short(t)}`, user_id: t, status: short(`${t}\\`), total: 0, coupon_id: null, discount: 0, failure_reason: after(i), created_at: 0, updated_at: BIG },
          items: [],
        },
      })),
    );

    const users = await db.selectFrom('users').select(['id', 'name', 'points']).execute();
    const orders = await db.selectFrom('orders').select(['id', 'user_id', 'status', 'total', 'coupon_id', 'failure_reason', 'updated_at']).execute();
    const items = await db.selectFrom('order_items').select(['order_id', 'product_id', 'quantity']).execute();
    const sales = await db.selectFrom('product_sales_daily').select(['product_id', 'units']).execute();
    const byId = <R extends { id: string }>(rows: R[]) => new Map(rows.map((r) => [r.id, r]));
    const userRows = byId(users);
    const orderRows = byId(orders);
    texts.forEach((t, i) => {
      const u = userRows.get(`u${i}${short(t)}`);
      assert.equal(u && [u.name, Number(u.points)], [t, BIG - i], `user ${JSON.stringify(t)}`);
      const o = orderRows.get(`o${i}${short(t)}`);
      assert.equal(
        o && [o.user_id, o.status, Number(o.total), o.coupon_id, o.failure_reason, Number(o.updated_at)],
        [t, short(`${t}\\`), BIG - 1, i % 2 === 0 ? null : t, after(i), BIG],
        `order ${JSON.stringify(t)}`,
      );
      assert.ok(items.some((r) => r.order_id === `o${i}${short(t)}` && r.product_id === t && Number(r.quantity) === BIG - 2));
      assert.ok(sales.some((r) => r.product_id === `p${i}${short(t)}` && Number(r.units) === BIG - 3));
    });
  });

  it.run();
}

const it = suite('arrayLiteral');

it('writes a column of printable text as an array literal, and leaves one with control characters to the driver', () => {
  assert.is(arrayLiteral(['a"b', 'c\\d', null, '{,}']), '{"a\\"b","c\\\\d",null,"{,}"}');
  assert.is(arrayLiteral([1, -2, 2 ** 53, null]), '{1,-2,9007199254740992,null}');
  assert.is(arrayLiteral([]), '{}');
  for (const t of CONTROL) assert.equal(arrayLiteral(['x', t]), ['x', t]);
  assert.equal(arrayLiteral(['\ud800']), ['\ud800']);
  assert.type(arrayLiteral(PRINTABLE), 'string');
});

it.run();
