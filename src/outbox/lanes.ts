// The relay's rows in memory: one lane per order, only a lane's head may be out, so one order's events go in order.

import type { OutboxTable } from '../db/schema.js';

/** A row on its way to a sink, with the failures it has had so far. */
export interface Delivery {
  readonly row: OutboxTable;
  attempts: number;
  lastError: string | null;
}

/** A first-in first-out queue of keys that never shifts the array it keeps. */
class KeyQueue {
  private items: string[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(key: string): void {
    this.items.push(key);
  }

  shift(): string | undefined {
    if (this.head >= this.items.length) return undefined;
    const key = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return key;
  }
}

/**
 * Rows grouped by order key, each lane in position order. `take` hands out the head of a lane
 * that is ready; that lane stays busy until the head is `release`d (delivered or dead-lettered,
 * and the next row becomes ready) or `putBack` (it goes again later, still first of its lane).
 * Lanes become ready in the order their heads became eligible, so no order is starved.
 */
export class Lanes {
  private readonly lanes = new Map<string, Delivery[]>();
  private readonly ready = new KeyQueue();
  private readonly busy = new Set<string>();
  /** Every row held, in position order (rows are added in position order). */
  private readonly rows = new Map<number, Delivery>();

  /** Rows held, out or not. */
  get size(): number {
    return this.rows.size;
  }

  /** Lanes whose head is out. */
  get out(): number {
    return this.busy.size;
  }

  has(position: number): boolean {
    return this.rows.has(position);
  }

  add(row: OutboxTable): void {
    const delivery: Delivery = { row, attempts: row.attempts, lastError: row.last_error };
    this.rows.set(row.position, delivery);
    const lane = this.lanes.get(row.order_key);
    if (lane) {
      lane.push(delivery);
      return;
    }
    this.lanes.set(row.order_key, [delivery]);
    this.ready.push(row.order_key);
  }

  /** The head of the next ready lane, now out; undefined when every lane is out or empty. */
  take(): Delivery | undefined {
    for (;;) {
      const key = this.ready.shift();
      if (key === undefined) return undefined;
      const head = this.lanes.get(key)?.[0];
      if (!head || this.busy.has(key)) continue;
      this.busy.add(key);
      return head;
    }
  }

  /** The head is done with: the lane's next row may go. */
  release(delivery: Delivery): void {
    const key = delivery.row.order_key;
    const lane = this.lanes.get(key);
    if (lane?.[0] !== delivery) throw new Error(`outbox row ${delivery.row.position} released while not the head of its lane`);
    lane.shift();
    this.rows.delete(delivery.row.position);
    this.busy.delete(key);
    if (lane.length === 0) this.lanes.delete(key);
    else this.ready.push(key);
  }

  /** The head goes again later; its lane waits behind the lanes already ready. */
  putBack(delivery: Delivery): void {
    const key = delivery.row.order_key;
    if (!this.busy.delete(key)) return;
    this.ready.push(key);
  }

  /**
   * Lets go of the rows of the lanes `leaving` picks (a shard this process no longer serves): a
   * lane whose head is out keeps only its head, the rest go at once.
   */
  drop(leaving: (row: OutboxTable) => boolean): void {
    for (const [key, lane] of this.lanes) {
      if (!leaving(lane[0]!.row)) continue;
      const kept = this.busy.has(key) ? lane.splice(0, 1) : [];
      for (const d of lane) this.rows.delete(d.row.position);
      if (kept.length > 0) this.lanes.set(key, kept);
      else this.lanes.delete(key);
    }
  }

  /** The row held longest (the lowest position): what the lag is measured on. */
  oldest(): Delivery | undefined {
    for (const delivery of this.rows.values()) return delivery;
    return undefined;
  }
}
