// The only place that knows where an actor lives: activation by key, passivation, the live-actor cap, request/reply.

import type { ActorKind, Address } from '../../actors/shared/entity.js';
import { reject, type Result } from '../../actors/shared/result.js';
import type { Dependency } from '../journal/dependency.js';
import type { Journal } from '../journal/journal.js';
import type { TraceParent } from '../tracing/spans.js';
import { Entity, type EntityOptions, type Hosted, type Inspection } from './entity.js';
import { commandEnvelope, replyEnvelope, type Envelope, type Postman, type ReplyTo } from './envelope.js';
import type { AddressOf, CommandOf, ViewOf } from './kinds.js';
import { dispatch, spawnActor, stopActor, type ActorRef, type ActorSystem } from './nact.js';

export interface RegistryOptions extends EntityOptions {
  readonly maxLive: number;
  /**
   * Messages an actor may have queued before requests from outside are refused at once
   * (MAILBOX_FULL); a saga's own messages always get through, or a saga could wait forever.
   */
  readonly mailboxMax: number;
  readonly idleMs: number;
  readonly askTimeoutMs: number;
  /** Where actors this process does not host are reached; without it every actor is hosted here. */
  readonly remote?: Remote;
}

/** Carries envelopes to actors that live in another process, and answers to callers waiting in another process, as plain data. */
export interface Transport {
  post(to: Address, envelope: Envelope): void;
  reply(node: string, correlationId: number, result: Result<unknown>): void;
}

/** Which actors this process hosts, and how the others are reached. */
export interface Remote {
  /** This process's name: answers for its callers come back to it. */
  readonly node: string;
  hosts(to: Address): boolean;
  readonly transport: Transport;
}

export interface RegistryObserver {
  activated(kind: ActorKind): void;
  passivated(kind: ActorKind): void;
  /** Cluster mode: a message to an actor here (`false`) or in another process (`true`). */
  posted?(remote: boolean): void;
  /** Cluster mode: a request to an actor in another process was answered after `seconds`. */
  answeredFromAfar?(seconds: number): void;
}

interface Live {
  readonly entity: Entity;
  readonly ref: ActorRef<Wake>;
  /** The registry's tick when a message last came for it. */
  used: number;
  /** The tick when it was last put at the recent end of the order. */
  placed: number;
}

/** The only nact message: the entity has queued envelopes to handle. */
type Wake = 'wake';

/** Envelopes an actor handles per turn of its nact mailbox before yielding to others. */
const THROUGHPUT = 256;

/** Turns run after a nact turn in the same turn of the event loop, at most, before others wait for nact. */
const FOLLOW_TURNS = 1024;

interface Waiting {
  resolve(result: Result<unknown>): void;
  readonly to: Address;
  readonly deadline: number;
}

/** How often waiting callers are checked against their deadline (one timer, not one per request); also the clock of `Live.used`. */
const EXPIRY_TICK_MS = 250;

export interface LiveActorSummary {
  readonly kind: ActorKind;
  readonly id: string;
  readonly mailboxDepth: number;
  readonly sequenceNr: number;
  readonly lastActivity: number;
}

export class Registry implements Postman {
  /**
   * Every live actor by key, in the order it was last placed: eviction walks it from the start and
   * gives an actor used since it was placed a second chance at the end (CLOCK, an approximate
   * LRU). A message costs a field write, not a move in a map of a hundred thousand entries.
   */
  private readonly live = new Map<string, Live>();
  /** Counts expiry ticks: the coarse clock of `Live.used` and `Live.placed`. */
  private ticks = 0;
  /**
   * The same actors by kind and id: a message's address finds its actor without building the
   * `kind-id` key string (and hashing it afresh) for every message.
   */
  private readonly byId: Record<ActorKind, Map<string, Live>> = { user: new Map(), product: new Map(), order: new Map(), coupon: new Map() };
  private readonly waiting = new Map<number, Waiting>();
  /** Steps of sagas here sent to actors in other processes, awaiting their answers (in send order). */
  private readonly farSteps = new Map<string, { replyTo: { readonly actor: Address; readonly step: unknown; readonly incarnation: number }; readonly to: Address; deadline: number }>();
  /** Actors woken during the turns now running, to run after them; undefined outside a turn. */
  private following: Live[] | undefined;
  private nextCorrelationId = 1;
  /** Envelopes sent and not yet taken from an inbox. */
  private queued = 0;
  private spawned = 0;
  private readonly expiry: NodeJS.Timeout;

  constructor(
    private readonly system: ActorSystem,
    private readonly hosted: Record<ActorKind, Hosted>,
    private readonly journal: Journal,
    private readonly options: RegistryOptions,
    private readonly observer?: RegistryObserver,
  ) {
    this.expiry = setInterval(() => {
      this.ticks++;
      this.expire(Date.now());
    }, EXPIRY_TICK_MS);
    this.expiry.unref();
  }

  post(to: Address, envelope: Envelope): void {
    const remote = this.options.remote;
    if (remote) {
      const far = !remote.hosts(to);
      this.observer?.posted?.(far);
      if (far) {
        if (envelope.type === 'command' && envelope.replyTo && 'actor' in envelope.replyTo) this.awaitFarStep(envelope.replyTo, to);
        return this.postRemote(remote, to, envelope);
      }
      if (envelope.type === 'reply' && this.farSteps.size > 0) this.farSteps.delete(farStepKey(to, envelope.step, envelope.incarnation));
    }
    const live = this.activate(to);
    this.queued++;
    if (live.entity.enqueue(envelope)) this.wake(live);
  }

  /**
   * Wakes an actor with queued envelopes. Within another actor's turn it is not given a turn of
   * the event loop of its own: it runs right after, in the same one (up to `FOLLOW_TURNS`), so
   * a payment's saga moves through its order, product and user at once and its events reach
   * the same batch.
   */
  private wake(live: Live): void {
    if (this.following !== undefined && this.following.length < FOLLOW_TURNS) this.following.push(live);
    else dispatch(live.ref, 'wake');
  }

  /** nact's turn of `live`, then the turns of the actors it (and they) woke. */
  private run(live: Live): void | Promise<void> {
    const following: Live[] = (this.following = []);
    let next = 0;
    try {
      const first = this.turnOf(live);
      while (next < following.length) this.turnOf(following[next++]!);
      return first;
    } finally {
      this.following = undefined;
      // Only if a turn threw: those not run yet still wait for theirs.
      while (next < following.length) dispatch(following[next++]!.ref, 'wake');
    }
  }

  private turnOf(live: Live): void | Promise<void> {
    // Usually handled at once; a promise only when the actor waited for the journal.
    const more = live.entity.turn(THROUGHPUT);
    if (typeof more === 'boolean') {
      // An actor with more than a turn's worth queued waits for nact: others get the event loop first.
      if (more) dispatch(live.ref, 'wake');
      return;
    }
    return more.then((again) => {
      if (again) dispatch(live.ref, 'wake');
    });
  }

  taken(): void {
    this.queued--;
  }

  /**
   * True while some actor has envelopes it has not taken yet: a saga is still moving in memory
   * and will append more. The journal holds its next batch (a little) for that.
   */
  get hasQueuedEnvelopes(): boolean {
    return this.queued > 0;
  }

  /** Sends a command and resolves with the actor's answer once its events commit, or TIMEOUT after the ask timeout. */
  ask<K extends ActorKind>(to: AddressOf<K>, command: CommandOf<K>): Promise<Result<ViewOf<K>>> {
    // The caller's trace (the HTTP request's span) goes with the command, so the actor's span joins it.
    return this.request<ViewOf<K>>(to, (replyTo) => commandEnvelope(command, 'commit', replyTo, undefined, this.options.spans?.current()));
  }

  /** Sends a command nobody waits for (the sweeper's pokes). */
  tell<K extends ActorKind>(to: AddressOf<K>, command: CommandOf<K>): void {
    this.post(to, commandEnvelope(command, 'decision', undefined, undefined, undefined));
  }

  /** Asks an actor whose id was generated just now, so it starts empty without reading the journal. */
  create<K extends ActorKind>(to: AddressOf<K>, command: CommandOf<K>): Promise<Result<ViewOf<K>>> {
    if ((!this.options.remote || this.options.remote.hosts(to)) && !this.byId[to.kind].has(to.id)) this.activate(to).entity.markNew();
    return this.ask(to, command);
  }

  /** The actor's committed view. */
  read<K extends ActorKind>(to: AddressOf<K>): Promise<Result<ViewOf<K>>> {
    return this.request<ViewOf<K>>(to, (replyTo) => ({ type: 'read', replyTo }));
  }

  inspect(to: Address): Promise<Result<Inspection>> {
    return this.request<Inspection>(to, (replyTo) => ({ type: 'inspect', replyTo }));
  }

  snapshot(to: Address): Promise<Result<unknown>> {
    return this.request<unknown>(to, (replyTo) => ({ type: 'snapshot', replyTo }));
  }

  deliver(replyTo: ReplyTo | undefined, result: Result<unknown>, after?: Dependency, trace?: TraceParent): void {
    if (!replyTo) return;
    if ('correlationId' in replyTo) {
      const remote = this.options.remote;
      if (remote && replyTo.node !== undefined && replyTo.node !== remote.node) {
        // The caller waits in another process, which knows nothing of this journal: answer once what the answer rests on is durable.
        void this.resolved(after).then((committed) => remote.transport.reply(replyTo.node!, replyTo.correlationId, committed ? result : unavailableStep));
        return;
      }
      const waiting = this.waiting.get(replyTo.correlationId);
      if (!waiting) return;
      this.waiting.delete(replyTo.correlationId);
      waiting.resolve(result);
      return;
    }
    this.post(replyTo.actor, replyEnvelope(replyTo.step, result, replyTo.incarnation, after, trace));
  }

  /** Stops an idle actor; false when it is busy (queued messages, uncommitted events, waiting callers). */
  passivate(to: Address): boolean {
    const live = this.byId[to.kind].get(to.id);
    if (!live || !live.entity.idle) return false;
    this.stop(live.entity.key, live);
    return true;
  }

  /**
   * Stops every live actor `leaving` picks, busy or not (its shard has moved): callers waiting
   * for them are answered 503 at once; what they had committed is in the journal for the next owner.
   */
  drop(leaving: (to: Address) => boolean): number {
    const dropped = new Set<string>();
    for (const [key, live] of this.live) {
      if (!leaving(live.entity.address)) continue;
      live.entity.abandon();
      this.stop(key, live);
      dropped.add(key);
    }
    for (const [id, waiting] of this.waiting) {
      if (!dropped.has(keyOf(waiting.to))) continue;
      this.waiting.delete(id);
      waiting.resolve(reject('DATABASE_UNAVAILABLE', `${waiting.to.kind} ${waiting.to.id} moved to another process; try again`));
    }
    return dropped.size;
  }

  /** Passivates actors idle for longer than the idle time. */
  sweepIdle(now = Date.now()): number {
    let stopped = 0;
    for (const [key, live] of this.live) {
      if (now - live.entity.lastActivity >= this.options.idleMs && live.entity.idle) {
        this.stop(key, live);
        stopped++;
      }
    }
    return stopped;
  }

  liveActors(): LiveActorSummary[] {
    return [...this.live.values()].map(({ entity }) => ({
      kind: entity.address.kind,
      id: entity.address.id,
      mailboxDepth: entity.mailboxDepth,
      sequenceNr: entity.sequence,
      lastActivity: entity.lastActivity,
    }));
  }

  stats(): { live: Record<ActorKind, number>; mailboxMax: number; mailboxTotal: number } {
    const live: Record<ActorKind, number> = { user: 0, product: 0, order: 0, coupon: 0 };
    let mailboxMax = 0;
    let mailboxTotal = 0;
    for (const { entity } of this.live.values()) {
      live[entity.address.kind]++;
      mailboxMax = Math.max(mailboxMax, entity.mailboxDepth);
      mailboxTotal += entity.mailboxDepth;
    }
    return { live, mailboxMax, mailboxTotal };
  }

  /** Stops every actor; callers still waiting get TIMEOUT. */
  close(): void {
    for (const [key, live] of this.live) this.stop(key, live);
    clearInterval(this.expiry);
    for (const [id, waiting] of this.waiting) {
      waiting.resolve(reject('TIMEOUT', 'the engine is shutting down'));
      this.waiting.delete(id);
    }
  }

  /**
   * Correlates one answer with its caller. Answers travel as plain data (`Result<unknown>`); an
   * actor of a kind answers with its module's view, so this is the one place the type comes back.
   */
  private request<T>(to: Address, envelope: (replyTo: ReplyTo) => Envelope): Promise<Result<T>> {
    const live = this.byId[to.kind].get(to.id);
    if (live && live.entity.mailboxDepth >= this.options.mailboxMax) {
      return Promise.resolve(reject('MAILBOX_FULL', `${to.kind} ${to.id} has ${live.entity.mailboxDepth} messages waiting; try again shortly`));
    }
    const correlationId = this.nextCorrelationId++;
    const remote = this.options.remote;
    const timed = remote && this.observer?.answeredFromAfar && !remote.hosts(to) ? performance.now() : undefined;
    return new Promise<Result<T>>((resolve) => {
      const answered =
        timed === undefined
          ? (resolve as (result: Result<unknown>) => void)
          : (result: Result<unknown>) => {
              this.observer?.answeredFromAfar?.((performance.now() - timed) / 1000);
              resolve(result as Result<T>);
            };
      this.waiting.set(correlationId, { resolve: answered, to, deadline: Date.now() + this.options.askTimeoutMs });
      this.post(to, envelope(this.options.remote ? { correlationId, node: this.options.remote.node } : { correlationId }));
    });
  }

  /**
   * Hands an envelope to another process. Positions in this journal mean nothing there, so an
   * envelope that rests on uncommitted appends waits until they commit and goes without them;
   * if they fail, the step it carries counts as not done.
   */
  private postRemote(remote: Remote, to: Address, envelope: Envelope): void {
    const after = envelope.type === 'command' || envelope.type === 'reply' ? envelope.after : undefined;
    if (after === undefined) return remote.transport.post(to, envelope);
    void this.resolved(after).then((committed) => {
      if (envelope.type === 'reply') remote.transport.post(to, replyEnvelope(envelope.step, committed ? envelope.result : unavailableStep, envelope.incarnation, undefined, envelope.trace));
      else if (envelope.type === 'command' && committed) {
        const { after: _local, ...rest } = envelope;
        remote.transport.post(to, rest);
      }
      else if (envelope.type === 'command') this.deliver(envelope.replyTo, unavailableStep);
    });
  }

  private resolved(after: Dependency | undefined): Promise<boolean> {
    return after === undefined ? Promise.resolve(true) : this.journal.whenResolved(after);
  }

  /**
   * A saga's step sent to another process can be lost with it (killed before it answered). Its
   * answer is awaited until the ask time-out; then the step counts as not done, the saga stalls,
   * and the sweeper resumes it, asking again (every step is idempotent by its ref).
   */
  private awaitFarStep(replyTo: { readonly actor: Address; readonly step: unknown; readonly incarnation: number }, to: Address): void {
    this.farSteps.set(farStepKey(replyTo.actor, replyTo.step, replyTo.incarnation), { replyTo, to, deadline: Date.now() + this.options.askTimeoutMs });
  }

  private expireFarSteps(now: number): void {
    for (const [key, { replyTo, deadline }] of this.farSteps) {
      if (deadline > now) return;
      this.farSteps.delete(key);
      this.post(replyTo.actor, replyEnvelope(replyTo.step, lostStep, replyTo.incarnation, undefined, undefined));
    }
  }

  /**
   * The process hosting the actors `gone` picks is gone: callers waiting on them are answered
   * 503 at once rather than at their time-out (whether it applied their command is unknown, as
   * after a time-out), and saga steps sent there count as not done, so the sweeper asks again.
   */
  giveUp(gone: (to: Address) => boolean): void {
    for (const [key, { replyTo, to }] of this.farSteps) {
      if (!gone(to)) continue;
      this.farSteps.delete(key);
      this.post(replyTo.actor, replyEnvelope(replyTo.step, lostStep, replyTo.incarnation, undefined, undefined));
    }
    for (const [id, waiting] of this.waiting) {
      if (!gone(waiting.to)) continue;
      this.waiting.delete(id);
      waiting.resolve(reject('TIMEOUT', `the process hosting ${waiting.to.kind} ${waiting.to.id} is gone; try again`));
    }
  }

  /** Answers TIMEOUT to callers past their deadline; the map is in ask order, so it stops at the first one still in time. */
  private expire(now: number): void {
    if (this.farSteps.size > 0) this.expireFarSteps(now);
    for (const [id, waiting] of this.waiting) {
      if (waiting.deadline > now) return;
      this.waiting.delete(id);
      waiting.resolve(reject('TIMEOUT', `${waiting.to.kind} ${waiting.to.id} did not answer within ${this.options.askTimeoutMs} ms`));
    }
  }

  private activate(to: Address): Live {
    const existing = this.byId[to.kind].get(to.id);
    if (existing) {
      existing.used = this.ticks;
      return existing;
    }
    const entity = new Entity(to, this.hosted[to.kind], this.journal, this, this.options);
    const ref: ActorRef<Wake> = spawnActor<Wake>(this.system, `a${++this.spawned}`, () => this.run(live));
    const live: Live = { entity, ref, used: this.ticks, placed: this.ticks };
    this.live.set(entity.key, live);
    this.byId[to.kind].set(to.id, live);
    this.observer?.activated(to.kind);
    if (this.live.size > this.options.maxLive) this.evict(entity.key);
    return live;
  }

  private evict(activating: string): void {
    let excess = this.live.size - this.options.maxLive;
    // Entries placed again at the end are met again: the walk visits each entry once at most.
    let visits = this.live.size;
    for (const [key, live] of this.live) {
      if (excess <= 0 || visits-- <= 0) return;
      if (key === activating) continue;
      if (live.used > live.placed) {
        live.placed = this.ticks;
        this.live.delete(key);
        this.live.set(key, live);
      } else if (live.entity.idle) {
        this.stop(key, live);
        excess--;
      }
    }
  }

  private stop(key: string, live: Live): void {
    this.live.delete(key);
    this.byId[live.entity.address.kind].delete(live.entity.address.id);
    this.queued -= live.entity.mailboxDepth;
    stopActor(live.ref);
    this.observer?.passivated(live.entity.address.kind);
  }
}

const keyOf = (address: Address): string => `${address.kind}-${address.id}`;

const lostStep = reject('TIMEOUT', 'a step sent to another process was not answered in time; the saga asks again');
const farStepKey = (actor: Address, step: unknown, incarnation: number) => `${keyOf(actor)}|${incarnation}|${JSON.stringify(step)}`;
const unavailableStep = reject('DATABASE_UNAVAILABLE', 'work this depends on was not committed; try again');
