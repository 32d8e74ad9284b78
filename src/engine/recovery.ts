// Rebuilding an actor from its latest snapshot and the events after it, and the snapshot's encoding.

import type { AnyModule } from './entity.js';
import type { Journal } from '../journal/journal.js';
import type { RefWindow } from './ref-window.js';

export interface Recovered {
  readonly state: unknown;
  readonly sequenceNr: number;
  readonly snapshotSequenceNr: number;
}

/**
 * A snapshot holds the state without in-memory saga progress. Not the window of command ids: a
 * hot product's would be a thousand ids (60 KB) written every few batches. A restored actor's
 * window holds the ids of the events after its snapshot; an older id is checked in the journal,
 * as any id beyond the window is.
 */
export function encodeSnapshot(module: AnyModule, state: unknown): string {
  return JSON.stringify({ state: module.snapshot(state) });
}

/**
 * Reads the actor of `key` back: its latest snapshot (brought to today's shape by the module's
 * `restore`) and its later events, in pages of `pageSize`, the first page in the snapshot's read.
 * Fills `window` with the command ids seen.
 */
export async function recover(module: AnyModule, journal: Journal, key: string, id: string, pageSize: number, window: RefWindow): Promise<Recovered> {
  window.clear();
  let state: unknown = module.initial(id);
  let sequenceNr = 0;
  const { snapshot, events } = await journal.loadLatest(key, pageSize);
  if (snapshot) {
    // Snapshots written before they left the window out still carry it.
    const decoded = JSON.parse(snapshot.state) as { state: unknown; window?: Array<[string, string[]]> };
    state = module.restore ? module.restore(decoded.state) : decoded.state;
    for (const [ref, types] of decoded.window ?? []) window.set(ref, types);
    sequenceNr = snapshot.sequenceNr;
  }
  let page = events;
  for (;;) {
    for (const event of page) {
      state = module.evolve(state, JSON.parse(event.payload));
      if (event.ref !== null) window.note(event.ref, event.type);
      sequenceNr = event.sequenceNr;
    }
    if (page.length < pageSize) break;
    page = await journal.readEvents(key, sequenceNr, pageSize);
  }
  return { state, sequenceNr, snapshotSequenceNr: snapshot?.sequenceNr ?? 0 };
}
