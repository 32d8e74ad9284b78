// The generic runtime: decide → evolve the pending state → append to the journal → reply when it commits.

import type { Address, Decision, DecideContext, EntityModule } from '../../actors/shared/entity.js';
import { accept, reject, type Rejection, type Result } from '../../actors/shared/result.js';
import type { Dependency } from '../journal/dependency.js';
import { appended, type AppendEntry, type AppendListener, type Journal, type OutboxMessage, type ReadModelRow, type SalesDelta, type StoredEvent } from '../journal/journal.js';
import type { Spans, TraceParent } from '../tracing/spans.js';
import { commandEnvelope, type Envelope, type Postman, type ReplyTo } from './envelope.js';
import { PendingDependencies } from './pending-dependencies.js';
import { encodeSnapshot, recover } from './recovery.js';
import { RefWindow } from './ref-window.js';
import { SagaWaiters } from './saga-waiters.js';

/** Any actor kind's module: the registry keeps every kind in one map, so the runtime erases their types here, once. */
export type AnyModule = EntityModule<any, any, any, any, any>;

export interface Hosted<M extends AnyModule = AnyModule> {
  readonly module: M;
  /** The read-model row for a state after a command's durable events, or undefined while the entity does not exist. */
  readonly project: (state: ReturnType<M['initial']>, events: ReadonlyArray<{ type: string }>) => ReadModelRow | undefined;
  /** What a command's durable events add to the daily sales, given the state before them. */
  readonly sales?: (before: ReturnType<M['initial']>, events: ReadonlyArray<{ type: string }>) => SalesDelta[];
  /** The messages a command's durable events publish through the outbox, given the state after them. */
  readonly outbox?: (key: string, state: ReturnType<M['initial']>, events: ReadonlyArray<Parameters<M['evolve']>[1]>, stored: readonly StoredEvent[]) => OutboxMessage[];
}

/** Where an actor keeps the views it answers and says which writes committed (the read cache). */
export interface ViewSink {
  fill(key: string, view: object): void;
  committed(key: string, sales: boolean): void;
}

export interface EntityOptions {
  readonly snapshotEvery: number;
  readonly windowSize: number;
  readonly replayPageSize: number;
  readonly views?: ViewSink;
  /** False when no sink takes the outbox's messages: they are then not built. */
  readonly publishing?: boolean;
  /** Hears an append's durable events once they committed (never the events replayed at recovery). */
  readonly onCommitted?: (address: Address, events: ReadonlyArray<{ type: string }>) => void;
  /** Tracing on: a span for each command that arrives with a trace context. */
  readonly spans?: Spans;
}

/** What the admin API shows of one live actor, read through its mailbox. */
export interface Inspection {
  readonly kind: string;
  readonly id: string;
  readonly sequenceNr: number;
  readonly committedSequenceNr: number;
  readonly mailboxDepth: number;
  readonly pendingAppends: number;
  readonly lastActivity: number;
  readonly committed: unknown;
  readonly pending: unknown;
}

const unavailable = (message = 'the database could not commit; try again'): Rejection => reject('DATABASE_UNAVAILABLE', message);

/** A saga step's answer has nobody to answer in turn. */
const replyToOf = (envelope: Envelope): ReplyTo | undefined => (envelope.type === 'reply' ? undefined : envelope.replyTo);

/**
 * One append of an actor on its way to the database: what the actor does when it commits or
 * fails, and the answers that wait for it. The journal's listener for that append, so that an
 * append costs this one object rather than a promise and its reactions.
 */
class PendingAppend implements AppendListener {
  outcome: 'pending' | 'committed' | 'failed' = 'pending';
  /** Answers sent once this append (and so everything before it) is durable. */
  answers: Array<{ readonly targets: ReadonlyArray<ReplyTo | undefined>; readonly result: Result<unknown> }> | undefined;
  /** Rare paths (recovery, a journal look-up, an explicit snapshot) that wait for it to settle. */
  settledWaiters: Array<() => void> | undefined;

  constructor(
    private readonly entity: Entity,
    readonly sequenceNr: number,
    readonly state: unknown,
    readonly salesChanged: boolean,
    readonly events: ReadonlyArray<{ type: string }>,
  ) {}

  committed(): void {
    this.outcome = 'committed';
    this.entity.appendCommitted(this);
    this.settle();
  }

  failed(): void {
    this.outcome = 'failed';
    this.entity.appendFailed();
    this.settle();
  }

  /** Resolves once the append has committed or failed. */
  settled(): Promise<void> {
    if (this.outcome !== 'pending') return Promise.resolve();
    return new Promise((resolve) => (this.settledWaiters ??= []).push(resolve));
  }

  private settle(): void {
    if (this.answers) {
      for (const { targets, result } of this.answers) this.entity.answerNow(targets, this.outcome === 'committed' ? result : unavailable());
    }
    if (this.settledWaiters) for (const resolve of this.settledWaiters) resolve();
  }
}

/** Unique in the process, so an answer meant for an earlier life of an actor never reaches a later one. */
let incarnations = 0;

export class Entity {
  readonly key: string;
  lastActivity = Date.now();
  private readonly inbox: Envelope[] = [];
  private scheduled = false;
  private committed: unknown;
  private pending: unknown;
  private sequenceNr = 0;
  private committedSequenceNr = 0;
  private snapshotSequenceNr = 0;
  private readonly window: RefWindow;
  /** The latest append, while it or an earlier one may still be on its way. */
  private lastAppend: PendingAppend | undefined;
  private pendingAppends = 0;
  private readonly waiters = new SagaWaiters();
  private recovered = false;
  private stale = false;
  private incarnation = 0;
  private busy = false;
  /** Uncommitted appends (this actor's and others') the pending state was decided on. */
  private readonly depends: PendingDependencies;
  private readonly decideContext: { now: number; readonly seen: DecideContext['seen'] };

  constructor(
    readonly address: Address,
    private readonly hosted: Hosted,
    private readonly journal: Journal,
    private readonly postman: Postman,
    private readonly options: EntityOptions,
  ) {
    this.key = `${address.kind}-${address.id}`;
    this.window = new RefWindow(options.windowSize);
    this.depends = new PendingDependencies(journal);
    this.decideContext = { now: 0, seen: (ref) => this.window.get(ref) };
    this.committed = this.pending = hosted.module.initial(address.id);
  }

  /**
   * Skips recovery for an id the engine has just generated: the journal cannot hold anything
   * for it, so reading it would only cost a query per new user, product or order.
   */
  markNew(): void {
    if (this.recovered || this.sequenceNr !== 0) return;
    this.recovered = true;
    this.incarnation = ++incarnations;
  }

  /** Nothing queued, nothing uncommitted, nobody waiting: safe to passivate. */
  get idle(): boolean {
    return !this.busy && this.inbox.length === 0 && this.pendingAppends === 0 && this.waiters.size === 0;
  }

  get mailboxDepth(): number {
    return this.inbox.length;
  }

  /** Queues a message; true when the actor must be woken (it is not already due to run). */
  enqueue(envelope: Envelope): boolean {
    this.inbox.push(envelope);
    if (this.scheduled) return false;
    this.scheduled = true;
    return true;
  }

  /**
   * Handles queued messages one at a time, at most `limit` in this turn of the nact mailbox;
   * true when more are waiting and the actor must be woken again. Taking many messages per
   * turn (Akka's "throughput") keeps a hot actor from being capped at one message per
   * event-loop iteration.
   */
  turn(limit: number): boolean | Promise<boolean> {
    for (let handled = 0; handled < limit; handled++) {
      const envelope = this.inbox.shift();
      if (envelope === undefined) break;
      this.postman.taken();
      const pending = this.receive(envelope);
      // Only recovery, a journal look-up or a snapshot waits: the rest of the turn waits with it.
      if (pending) return pending.then(() => this.turn(limit - handled - 1));
    }
    return this.rest();
  }

  /** True when messages are still waiting; otherwise the actor is no longer due to run. */
  private rest(): boolean {
    if (this.inbox.length > 0) return true;
    this.scheduled = false;
    return false;
  }

  get sequence(): number {
    return this.sequenceNr;
  }

  // The usual message is handled synchronously; only recovery, a journal look-up and an
  // explicit snapshot return a promise, so a hot actor does not pay a promise per message.
  private receive(envelope: Envelope): Promise<void> | undefined {
    this.lastActivity = Date.now();
    // A state built on appends that failed is rebuilt before anything more is decided on it.
    if (this.depends.failed) this.markStale();
    if (!this.recovered || this.stale) return this.recoverThenHandle(envelope);
    return this.handleSafely(envelope);
  }

  private async recoverThenHandle(envelope: Envelope): Promise<void> {
    this.busy = true;
    try {
      await this.recover();
    } catch {
      this.postman.deliver(replyToOf(envelope), unavailable('the actor could not be read from the journal; try again'));
      return;
    } finally {
      this.busy = false;
    }
    await this.handleSafely(envelope);
  }

  private handleSafely(envelope: Envelope): Promise<void> | undefined {
    // Busy even while handling synchronously: sending an effect can activate another actor,
    // and the eviction that may follow must not pick this one.
    this.busy = true;
    try {
      const pending = this.handle(envelope);
      if (!pending) {
        this.busy = false;
        return undefined;
      }
      return pending.then(
        () => {
          this.busy = false;
        },
        (error: unknown) => {
          this.busy = false;
          this.crashed(envelope, error);
        },
      );
    } catch (error) {
      this.busy = false;
      this.crashed(envelope, error);
      return undefined;
    }
  }

  private crashed(envelope: Envelope, error: unknown): void {
    this.postman.deliver(replyToOf(envelope), reject('DATABASE_UNAVAILABLE', `actor ${this.key} failed: ${String(error)}`));
    this.markStale();
  }

  private handle(envelope: Envelope): Promise<void> | undefined {
    const { module } = this.hosted;
    switch (envelope.type) {
      case 'read': {
        if (!module.exists(this.committed)) {
          this.postman.deliver(envelope.replyTo, reject('NOT_FOUND', `${this.address.kind} ${this.address.id} not found`));
          return undefined;
        }
        const view = module.view(this.committed);
        this.options.views?.fill(this.key, view);
        this.postman.deliver(envelope.replyTo, accept(view));
        return undefined;
      }
      case 'inspect':
        this.postman.deliver(envelope.replyTo, accept(this.inspection()));
        return undefined;
      case 'snapshot':
        return this.snapshotNow().then((result) => this.postman.deliver(envelope.replyTo, result));
      case 'command':
        if (envelope.incarnation !== undefined && envelope.incarnation !== this.incarnation) return undefined;
        // Sent on the strength of appends that have since failed: what it asks may rest on nothing.
        if (envelope.after && this.journal.outstanding(envelope.after) === 'failed') {
          this.postman.deliver(envelope.replyTo, unavailable('work this depends on was not committed; try again'));
          return undefined;
        }
        return this.command(envelope.command, envelope.mode, envelope.replyTo, envelope.after, envelope.trace);
      case 'reply': {
        if (envelope.incarnation !== this.incarnation) return undefined;
        // The step's events were lost with a failed batch: for the saga it did not happen.
        const lost = envelope.after !== undefined && this.journal.outstanding(envelope.after) === 'failed';
        const command = module.replied?.(envelope.step, lost ? unavailable('the step was not committed; try again') : envelope.result);
        if (command === undefined) return undefined;
        return this.command(command, 'decision', undefined, lost ? undefined : envelope.after, envelope.trace);
      }
    }
  }

  private command(command: unknown, mode: 'commit' | 'decision', replyTo: ReplyTo | undefined, after?: Dependency, parent?: TraceParent): Promise<void> | undefined {
    const { spans } = this.options;
    // Tracing off, or a message outside any trace: no span, nothing allocated for one.
    if (parent === undefined || spans === undefined) return this.decideAndApply(command, mode, replyTo, after, undefined);
    return spans.handle(parent, this.address, (command as { type: string }).type, (trace) => this.decideAndApply(command, mode, replyTo, after, trace));
  }

  private decideAndApply(command: unknown, mode: 'commit' | 'decision', replyTo: ReplyTo | undefined, after: Dependency | undefined, trace: TraceParent | undefined): Promise<void> | undefined {
    // Only new work from outside is refused when the journal is full: a saga's own messages
    // (steps and their answers) must get through, or the saga could wait for an answer forever.
    if (mode === 'commit' && !this.journal.hasCapacity()) {
      this.postman.deliver(replyTo, reject('OVERLOADED', 'the journal is full; try again shortly'));
      return undefined;
    }
    const decision = this.hosted.module.decide(this.pending, command, this.context()) as Decision<{ type: string }, unknown>;
    if ('recall' in decision) return this.recallThenApply(decision.recall, command, mode, replyTo, after, trace);
    this.apply(decision, mode, replyTo, after, trace);
    return undefined;
  }

  /** The command id is outside the window: ask the journal what it did, then decide again. */
  private async recallThenApply(
    ref: string,
    command: unknown,
    mode: 'commit' | 'decision',
    replyTo: ReplyTo | undefined,
    after: Dependency | undefined,
    trace: TraceParent | undefined,
  ): Promise<void> {
    // Everything appended so far must be durable before the journal can tell what this id did.
    await this.lastAppend?.settled();
    if (this.stale) return this.postman.deliver(replyTo, unavailable());
    const types = await this.journal.refTypes(this.key, ref);
    if (this.stale) return this.postman.deliver(replyTo, unavailable());
    this.window.set(ref, types);
    const decision = this.hosted.module.decide(this.pending, command, this.context()) as Decision<{ type: string }, unknown>;
    if ('recall' in decision) throw new Error(`${this.key} asked twice to recall ${ref}`);
    this.apply(decision, mode, replyTo, after, trace);
  }

  private apply(
    decision: Exclude<Decision<{ type: string }, unknown>, { recall: string }>,
    mode: 'commit' | 'decision',
    replyTo: ReplyTo | undefined,
    after: Dependency | undefined,
    trace: TraceParent | undefined,
  ): void {
    const { module } = this.hosted;
    // The state moves on from this message, so it rests on whatever the message rested on.
    if (after && (decision.events.length > 0 || (decision.effects?.length ?? 0) > 0)) this.depends.restOn(after);
    const before = this.pending;
    let state = before;
    const durable: Array<{ type: string }> = [];
    for (const event of decision.events) {
      state = module.evolve(state, event);
      if (module.isDurable(event)) durable.push(event);
    }
    this.pending = state;
    const commit = durable.length > 0 ? this.append(durable, before, state, trace) : undefined;
    const durableFor = commit ?? this.lastAppend;
    const token = this.depends.token();

    for (const effect of decision.effects ?? []) {
      this.postman.post(effect.to, commandEnvelope(effect.command, 'decision', { actor: this.address, step: effect.step, incarnation: this.incarnation }, token, trace));
    }

    if (decision.reply === 'defer') {
      if (replyTo) this.waiters.add(decision.saga ?? '', replyTo);
    } else if (replyTo !== undefined) {
      // A saga's own step answers nobody: its view is not built.
      const result = decision.reply === 'view' ? accept(module.view(state)) : decision.reply;
      if (mode === 'decision') this.postman.deliver(replyTo, result, token, trace);
      else this.answer([replyTo], result, durableFor);
    }
    if (decision.settle) {
      const result = decision.settle === 'view' ? accept(module.view(state)) : decision.settle;
      this.answer(this.waiters.take(decision.saga ?? ''), result, durableFor);
    }
  }

  /** Answers `targets` once `after` is durable (503 if it fails), or now when it has nothing to wait for. */
  private answer(targets: ReadonlyArray<ReplyTo | undefined>, result: Result<unknown>, after: PendingAppend | undefined): void {
    if (after === undefined || after.outcome === 'committed') return this.answerNow(targets, result);
    if (after.outcome === 'failed') return this.answerNow(targets, unavailable());
    (after.answers ??= []).push({ targets, result });
  }

  answerNow(targets: ReadonlyArray<ReplyTo | undefined>, result: Result<unknown>): void {
    for (const target of targets) this.postman.deliver(target, result);
  }

  /** The journal committed `append` (appends commit in order: everything before it has too). */
  appendCommitted(append: PendingAppend): void {
    this.pendingAppends--;
    if (this.lastAppend === append) this.lastAppend = undefined;
    if (append.sequenceNr > this.committedSequenceNr) {
      this.committed = append.state;
      this.committedSequenceNr = append.sequenceNr;
    }
    // Before any asker hears of the commit: their next read must not find the older view.
    this.options.views?.committed(this.key, append.salesChanged);
    this.options.onCommitted?.(this.address, append.events);
  }

  appendFailed(): void {
    this.pendingAppends--;
    this.markStale();
  }

  private append(events: ReadonlyArray<{ type: string }>, before: unknown, state: unknown, trace: TraceParent | undefined): PendingAppend {
    const { module } = this.hosted;
    const creates = this.sequenceNr === 0;
    const at = Date.now();
    const stored: StoredEvent[] = events.map((event) => {
      const ref = module.refOf(event) ?? null;
      if (ref !== null) this.window.note(ref, event.type);
      return { sequenceNr: ++this.sequenceNr, type: event.type, ref, payload: JSON.stringify(event), at };
    });
    const sequenceNr = this.sequenceNr;
    let snapshot: AppendEntry['snapshot'];
    if (sequenceNr - this.snapshotSequenceNr >= this.options.snapshotEvery) {
      snapshot = { sequenceNr, state: encodeSnapshot(module, state) };
      this.snapshotSequenceNr = sequenceNr;
    }
    const row = this.hosted.project(state, events);
    const sales = this.hosted.sales?.(before, events);
    const salesChanged = sales !== undefined && sales.length > 0;
    const outbox = this.options.publishing === false ? undefined : this.hosted.outbox?.(this.key, state, events, stored);
    const after = this.depends.token();
    const pending = new PendingAppend(this, sequenceNr, state, salesChanged, events);
    this.pendingAppends++;
    this.lastAppend = pending;
    // One shape for every entry (absent parts undefined): this runs for every append.
    this.journal.append(
      {
        key: this.key,
        events: stored,
        creates,
        after,
        snapshot,
        row,
        sales: salesChanged ? sales : undefined,
        outbox: outbox !== undefined && outbox.length > 0 ? outbox : undefined,
        trace,
      },
      pending,
    );
    this.depends.appended(after, this.journal.lastPosition);
    return pending;
  }

  /** This process no longer hosts the actor (its shard moved): callers waiting for a saga hear 503 now. */
  abandon(): void {
    this.markStale();
  }

  private markStale(): void {
    if (this.stale) return;
    this.stale = true;
    this.pending = this.committed;
    for (const w of this.waiters.takeAll()) this.postman.deliver(w, unavailable());
  }

  /** One context per actor, its clock set for each decision: `decide` reads it and keeps nothing of it. */
  private context(): DecideContext {
    this.decideContext.now = Date.now();
    return this.decideContext;
  }

  /** Rebuilds the actor from the journal, as a new incarnation resting on nothing uncommitted. */
  private async recover(): Promise<void> {
    // Appends of the last life still in flight land first, so the journal read has them.
    await this.lastAppend?.settled();
    this.incarnation = ++incarnations;
    this.depends.clear();
    const { state, sequenceNr, snapshotSequenceNr } = await recover(this.hosted.module, this.journal, this.key, this.address.id, this.options.replayPageSize, this.window);
    this.committed = this.pending = state;
    this.sequenceNr = this.committedSequenceNr = sequenceNr;
    this.snapshotSequenceNr = snapshotSequenceNr;
    this.lastAppend = undefined;
    this.recovered = true;
    this.stale = false;
    const resume = this.hosted.module.onRecovered?.(state);
    if (resume !== undefined) this.postman.post(this.address, commandEnvelope(resume, 'decision', undefined, undefined, undefined));
  }

  private async snapshotNow(): Promise<Result<unknown>> {
    if (this.sequenceNr === 0) return reject('NOT_FOUND', `${this.address.kind} ${this.address.id} not found`);
    await this.lastAppend?.settled();
    if (this.stale) return unavailable();
    const sequenceNr = this.committedSequenceNr;
    const state = this.committed;
    this.snapshotSequenceNr = sequenceNr;
    try {
      await appended(this.journal, { key: this.key, events: [], creates: false, snapshot: { sequenceNr, state: encodeSnapshot(this.hosted.module, state) } });
    } catch {
      return unavailable();
    }
    return accept({ sequenceNr });
  }

  private inspection(): Inspection {
    const { module } = this.hosted;
    return {
      kind: this.address.kind,
      id: this.address.id,
      sequenceNr: this.sequenceNr,
      committedSequenceNr: this.committedSequenceNr,
      mailboxDepth: this.mailboxDepth,
      pendingAppends: this.pendingAppends,
      lastActivity: this.lastActivity,
      committed: module.exists(this.committed) ? this.committed : null,
      pending: module.exists(this.pending) ? this.pending : null,
    };
  }
}
