// A journal in memory whose commits the test holds and releases (or fails), for the runtime's own unit tests.

import type { Dependency } from '../../src/journal/dependency.js';
import type { AppendEntry, AppendListener, Journal, Latest, Snapshot, StoredEvent } from '../../src/journal/journal.js';

interface Held {
  readonly entry: AppendEntry;
  readonly position: number;
  readonly listener: AppendListener;
}

export class FakeJournal implements Journal {
  lastPosition = 0;
  readonly events = new Map<string, StoredEvent[]>();
  readonly snapshots = new Map<string, Snapshot>();
  /** Appends not committed yet, in append order. */
  readonly held: Held[] = [];
  readonly failed = new Set<number>();
  /** When false, appends wait for `commitAll`/`failAll`; when true they commit at once. */
  constructor(public autoCommit = true) {}

  append(entry: AppendEntry, listener: AppendListener): void {
    if (entry.after && this.outstanding(entry.after) === 'failed') {
      queueMicrotask(() => listener.failed(new Error('rests on a failed append')));
      return;
    }
    const position = ++this.lastPosition;
    const held: Held = { entry, position, listener };
    if (this.autoCommit) queueMicrotask(() => this.commit(held));
    else this.held.push(held);
  }

  commitAll(): void {
    for (const h of this.held.splice(0)) this.commit(h);
  }

  failAll(): void {
    for (const h of this.held.splice(0)) {
      this.failed.add(h.position);
      h.listener.failed(new Error('the batch failed'));
    }
  }

  outstanding(dependency: Dependency): Dependency | undefined | 'failed' {
    for (let p = dependency.from; p <= dependency.to; p++) if (this.failed.has(p)) return 'failed';
    const open = this.held.filter((h) => h.position >= dependency.from && h.position <= dependency.to).map((h) => h.position);
    return open.length === 0 ? undefined : { from: Math.min(...open), to: Math.max(...open) };
  }

  async whenResolved(dependency: Dependency): Promise<boolean> {
    for (;;) {
      const now = this.outstanding(dependency);
      if (now === undefined) return true;
      if (now === 'failed') return false;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  hasCapacity(): boolean {
    return true;
  }

  async loadLatest(key: string, limit: number): Promise<Latest> {
    const snapshot = this.snapshots.get(key);
    return { snapshot, events: await this.readEvents(key, snapshot?.sequenceNr ?? 0, limit) };
  }

  async readEvents(key: string, afterSequenceNr: number, limit: number): Promise<StoredEvent[]> {
    return (this.events.get(key) ?? []).filter((e) => e.sequenceNr > afterSequenceNr).slice(0, limit);
  }

  async refTypes(key: string, ref: string): Promise<string[]> {
    return (this.events.get(key) ?? []).filter((e) => e.ref === ref).map((e) => e.type);
  }

  async untilIdle(): Promise<void> {}

  private commit(held: Held): void {
    const { entry } = held;
    this.events.set(entry.key, [...(this.events.get(entry.key) ?? []), ...entry.events]);
    if (entry.snapshot) this.snapshots.set(entry.key, entry.snapshot);
    held.listener.committed();
  }
}
