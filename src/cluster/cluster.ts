// This process's membership of a cluster: the shards it serves, a fair share of them, leases kept and handed off, and where every other actor lives.

import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Address } from '../../actors/shared/entity.js';
import type { ClusterConfig } from '../config.js';
import type { Database } from '../db/connect.js';
import type { BatchFencing } from '../journal/batch-writer.js';
import type { AppendEntry } from '../journal/journal.js';
import type { JournalStore } from '../journal/journal-store.js';
import type { Fence } from '../journal/shard-fence.js';
import { POSITION_SLOTS } from '../outbox/outbox.js';
import { kvKeys } from './kv-keys.js';
import { NatsTransport, type LocalDelivery } from './nats-transport.js';
import { ShardCountMismatchError } from './shard-count-mismatch-error.js';
import { ShardLeases, type LeaseHolder } from './shard-leases.js';
import { shardOf } from './shard-of.js';

/** The outbox of a cluster member: its positions follow the messages between processes, and its relays follow the shards. */
export interface ShardOutbox {
  readonly lamport: number;
  observe(clock: number): void;
  /** Before shards taken from another process are served: rows from here on number past theirs. */
  passRowsWaiting(): Promise<void>;
  forget(leaving: (shard: number) => boolean): void;
}

/** What a member reports, for the metrics. */
export interface ClusterObserver {
  moved(move: 'taken' | 'handed_off' | 'lost', shards: number): void;
  renewalFailed(): void;
}

/** The engine around a cluster member: it takes the envelopes that arrive, and stops a shard's actors when the shard leaves. */
export interface ShardHost extends LocalDelivery {
  /** Stops the actors of the shards `leaving` picks; their waiting callers hear 503. */
  drop(leaving: (to: Address) => boolean): number;
  /** Stops waiting for answers from the actors `gone` picks: their process is gone, and the answers with it. */
  giveUp(gone: (to: Address) => boolean): void;
}

export interface ClusterStatus {
  readonly node: string;
  readonly shards: number;
  readonly members: ReadonlyArray<{ readonly node: string; readonly shardsOwned: number }>;
  /** Shard → owning process, as the leases say now. */
  readonly owners: Record<string, string>;
  readonly served: number[];
}

/**
 * ```ts
 * const cluster = await Cluster.join(config.cluster, database, store);
 * registry = new Registry(…, { remote: cluster.remote });
 * cluster.start(registry);
 * ```
 */
export class Cluster {
  /** Shards leased and fenced in the database: only these are served. */
  private readonly serving = new Set<number>();
  private owners = new Map<number, LeaseHolder>();
  private memberCount = 1;
  /**
   * Members NATS says no longer listen (killed, or cut off): nothing is sent to them, what was
   * sent is given up, they are not counted for the fair share, and their shards are taken as
   * soon as the leases expire. Kept until their names leave the members bucket.
   */
  private readonly gone = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private prober: NodeJS.Timeout | undefined;
  private heart: NodeJS.Timeout | undefined;
  /** The heartbeat on its way, if one is. */
  private beating: Promise<void> | undefined;
  private ticking = false;
  private probing = false;
  private leaving = false;
  private host: ShardHost | undefined;
  private drain: () => Promise<void> = async () => undefined;
  private outbox: ShardOutbox | undefined;
  readonly transport: NatsTransport;

  private constructor(
    private readonly config: ClusterConfig,
    private readonly nc: NatsConnection,
    private readonly leases: ShardLeases,
    private readonly members: KV,
    private readonly jsm: JetStreamManager,
    private readonly store: JournalStore,
    waitForOwnerMs: number,
    /** This member's slot among the live ones: the low part of its outbox positions. */
    readonly slot: number,
    private readonly observer: ClusterObserver | undefined,
  ) {
    this.transport = new NatsTransport(nc, {
      prefix: config.name,
      node: config.node,
      ownerOf: (to) => this.ownerOf(to),
      waitForOwnerMs,
      clock: { read: () => this.outbox?.lamport ?? 0, observe: (clock) => this.outbox?.observe(clock) },
    });
    leases.onLost((shard) => {
      observer?.moved('lost', 1);
      this.lose(shard);
    });
  }

  /** Connects to NATS, checks the database's shard count and takes a slot; serves nothing until `start`. */
  static async join(config: ClusterConfig, database: Database, store: JournalStore, waitForOwnerMs: number, observer?: ClusterObserver): Promise<Cluster> {
    await fixShardCount(database, config.shards);
    const slot = await takeSlot(database);
    // Reconnects for as long as it takes: without NATS a member serves nothing, but it stays up and rejoins.
    const nc = await connect({ servers: config.natsUrl, name: config.node, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    const leases = await ShardLeases.open(nc, {
      bucket: `${config.name}_shards`,
      node: config.node,
      leaseMs: config.leaseMs,
      ...(observer ? { renewalFailed: () => observer.renewalFailed() } : {}),
    });
    const members = await new Kvm(nc).create(`${config.name}_members`, { history: 1, ttl: config.leaseMs });
    return new Cluster(config, nc, leases, members, await jetstreamManager(nc), store, waitForOwnerMs, slot, observer);
  }

  /** For the outbox: where an order's rows belong, this member's slot, the shards it serves. */
  get placement() {
    return {
      slot: this.slot,
      shardOf: (orderId: string) => this.shardOf(orderId),
      served: () => [...this.serving].filter((shard) => this.leases.holds(shard)),
      serves: (shard: number) => this.serving.has(shard) && this.leases.holds(shard),
    };
  }

  /** Whether NATS is reachable now: without it no lease is renewed, and the shards lapse. */
  get connected(): boolean {
    return !this.nc.isClosed() && this.reachable;
  }
  private reachable = true;

  get node(): string {
    return this.config.node;
  }

  /** For the registry: which actors are served here, how the others are reached. */
  get remote() {
    return { node: this.config.node, hosts: (to: Address) => this.hosts(to), transport: this.transport };
  }

  /** For the journal: the shards each batch writes and the epochs this process holds them at. */
  get fencing(): BatchFencing {
    return {
      fencesFor: (entries) => this.fencesFor(entries),
      holds: (fences) => fences.every((f) => this.leases.holds(f.shard) && this.leases.owned.get(f.shard)?.epoch === f.epoch),
    };
  }

  shardOf(id: string): number {
    return shardOf(id, this.config.shards);
  }

  hosts(to: Address): boolean {
    const shard = this.shardOf(to.id);
    return this.serving.has(shard) && this.leases.holds(shard);
  }

  /**
   * Starts taking a fair share of the shards, and keeps it fair as processes come and go.
   * `drain` resolves once what the journal holds has committed: a shard is released only after.
   */
  start(host: ShardHost, drain: () => Promise<void>, outbox?: ShardOutbox): void {
    this.host = host;
    this.drain = drain;
    this.outbox = outbox;
    void this.watchConnection();
    this.transport.listen(host);
    const every = Math.max(50, Math.floor(this.config.leaseMs / 3));
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
    this.prober = setInterval(() => void this.probe(), PROBE_MS);
    this.prober.unref();
    // On a timer of its own: a round that takes long (a handoff waits for the journal) must not
    // let this member's name lapse, or the others count one member fewer and take its share.
    this.heart = setInterval(() => void this.beat(), every);
    this.heart.unref();
    void this.tick();
  }

  status(): ClusterStatus {
    const counts = new Map<string, number>();
    const owners: Record<string, string> = {};
    for (const [shard, holder] of this.owners) {
      owners[String(shard)] = holder.node;
      counts.set(holder.node, (counts.get(holder.node) ?? 0) + 1);
    }
    return {
      node: this.config.node,
      shards: this.config.shards,
      members: [...counts].map(([node, shardsOwned]) => ({ node, shardsOwned })).sort((a, b) => a.node.localeCompare(b.node)),
      owners,
      served: [...this.serving].sort((a, b) => a - b),
    };
  }

  /**
   * Asks every other owner whether it still listens. One that does not is gone: its callers here
   * are answered at once instead of at their time-out, and rounds run often until its shards have
   * owners again.
   */
  private async probe(): Promise<void> {
    if (this.probing || this.leaving) return;
    this.probing = true;
    try {
      const others = new Set(this.gone);
      for (const holder of this.owners.values()) if (holder.node !== this.config.node) others.add(holder.node);
      await Promise.all(
        [...others].map(async (node) => {
          if (await this.transport.listening(node)) return this.gone.delete(node);
          if (this.gone.has(node)) return;
          this.gone.add(node);
          this.host?.giveUp((to) => this.owners.get(this.shardOf(to.id))?.node === node);
        }),
      );
      // Until every shard has an owner again, rounds run at this pace: to take the shards of a
      // member gone as soon as they are free, and to learn who took the others (which waits here).
      if (this.owners.size < this.config.shards || [...this.owners.values()].some((holder) => this.gone.has(holder.node))) void this.tick();
    } finally {
      this.probing = false;
    }
  }

  /** Hands every shard off, once in-flight work has committed, and leaves the cluster. */
  async leave(): Promise<void> {
    this.leaving = true;
    clearInterval(this.timer);
    clearInterval(this.prober);
    clearInterval(this.heart);
    const shards = [...this.serving];
    this.serving.clear();
    await this.drain();
    this.host?.drop((to) => shards.includes(this.shardOf(to.id)));
    this.outbox?.forget(() => true);
    this.observer?.moved('handed_off', shards.length);
    await this.leases.close();
    await this.beating;
    await this.members.delete(this.config.node).catch(() => undefined);
    await this.transport.close();
    await this.nc.close();
  }

  private ownerOf(to: Address): string | undefined {
    const shard = this.shardOf(to.id);
    if (this.serving.has(shard) && this.leases.holds(shard)) return this.config.node;
    const holder = this.owners.get(shard);
    return holder && holder.node !== this.config.node && !this.gone.has(holder.node) ? holder.node : undefined;
  }

  private fencesFor(entries: readonly AppendEntry[]): Fence[] {
    const shards = new Set<number>();
    for (const entry of entries) shards.add(this.shardOf(entry.key.slice(entry.key.indexOf('-') + 1)));
    const fences: Fence[] = [];
    for (const shard of shards) {
      const lease = this.leases.owned.get(shard);
      // A batch for a shard this process does not hold carries an epoch no owner has: it is refused.
      fences.push({ shard, epoch: lease?.epoch ?? 0 });
    }
    return fences;
  }

  private lose(shard: number): void {
    this.serving.delete(shard);
    this.host?.drop((to) => this.shardOf(to.id) === shard);
    this.outbox?.forget((s) => s === shard);
  }

  /** Follows the connection's state, for readiness. */
  private async watchConnection(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect' || s.type === 'staleConnection') this.reachable = false;
      else if (s.type === 'reconnect') this.reachable = true;
    }
  }

  /** One round: say we are here, learn who holds what, take free shards up to a fair share, hand off the excess. */
  private async tick(): Promise<void> {
    if (this.ticking || this.leaving) return;
    this.ticking = true;
    try {
      await this.beat();
      // Each name once (counting one twice made every member hand off a third of its shards and
      // take them back); one that left (a delete marker) or is past its TTL and not yet expired
      // by the server (see `ShardLeases.stale`) is not counted.
      const listed = await kvKeys(this.jsm, `${this.config.name}_members`);
      const entries = await Promise.all(listed.map((name) => this.members.get(name)));
      const names = new Set<string>([this.config.node]);
      entries.forEach((entry, i) => {
        if (entry && entry.operation === 'PUT' && !this.leases.stale(entry.created)) names.add(listed[i]!);
      });
      this.owners = await this.leases.holders();
      for (const node of this.gone) if (!names.has(node) && ![...this.owners.values()].some((h) => h.node === node)) this.gone.delete(node);
      this.memberCount = Math.max(1, [...names].filter((name) => !this.gone.has(name)).length);
      const fair = Math.ceil(this.config.shards / this.memberCount);
      const mine = [...this.leases.owned.keys()];
      if (mine.length > fair) await this.handOff(mine.slice(fair));
      else if (mine.length < fair) await this.takeFree(fair - mine.length);
    } catch {
      // NATS is away: leases lapse on their own deadline; the next round tries again.
    } finally {
      this.ticking = false;
    }
  }

  /** Says this member is here: its name lives in the members bucket for a lease's time. */
  private beat(): Promise<void> {
    if (this.leaving) return Promise.resolve();
    this.beating ??= this.members
      .put(this.config.node, JSON.stringify({ at: Date.now() }))
      .then(
        () => undefined,
        // NATS is away: the name lapses, as the leases do; the next beat writes it again.
        () => undefined,
      )
      .finally(() => (this.beating = undefined));
    return this.beating;
  }

  private async takeFree(wanted: number): Promise<void> {
    const free: number[] = [];
    for (let shard = 0; shard < this.config.shards; shard++) if (!this.owners.has(shard) && !this.leases.owned.has(shard)) free.push(shard);
    // Processes joining at once start at different shards.
    for (let i = free.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [free[i], free[j]] = [free[j]!, free[i]!];
    }
    const taken: Array<{ shard: number; epoch: number }> = [];
    try {
      // All at once: after a member dies, a third of the shards may be free, and one at a time took
      // seconds. Those another member took first are made up from the rest, not in the next round.
      while (taken.length < wanted && free.length > 0) {
        const attempts = await Promise.allSettled(free.splice(0, wanted - taken.length).map((shard) => this.leases.tryAcquire(shard)));
        for (const a of attempts) if (a.status === 'fulfilled' && a.value) taken.push({ shard: a.value.shard, epoch: a.value.epoch });
        const failed = attempts.find((a): a is PromiseRejectedResult => a.status === 'rejected');
        if (failed) throw failed.reason;
      }
      if (taken.length === 0) return;
      // Fenced before served: a batch still on its way from the last owners is refused from here on.
      await this.store.writeBatch([], [], undefined, taken);
      // The last owners can write no more: rows from here on number past all of theirs.
      await this.outbox?.passRowsWaiting();
    } catch (error) {
      // Not served, so not kept: another process (or the next round) takes them.
      for (const { shard } of taken) await this.leases.release(shard).catch(() => undefined);
      throw error;
    }
    let served = 0;
    for (const { shard, epoch } of taken) {
      if (!this.leases.holds(shard)) continue;
      this.serving.add(shard);
      this.owners.set(shard, { node: this.config.node, epoch });
      served++;
    }
    if (served > 0) this.observer?.moved('taken', served);
  }

  /** A graceful handoff: stop taking messages for the shards, let what is in flight commit, stop their actors, release the leases. */
  private async handOff(shards: readonly number[]): Promise<void> {
    for (const shard of shards) this.serving.delete(shard);
    await this.drain();
    this.host?.drop((to) => shards.includes(this.shardOf(to.id)));
    this.outbox?.forget((shard) => shards.includes(shard));
    for (const shard of shards) await this.leases.release(shard);
    this.observer?.moved('handed_off', shards.length);
  }
}

/** How often the other owners are asked whether they still listen (see `probe`). */
const PROBE_MS = 500;

/** Slots are handed out in turn from a counter in the database: unique among the last `POSITION_SLOTS` members to join. */
async function takeSlot(database: Database): Promise<number> {
  const { db } = database;
  for (;;) {
    const taken = await db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('cluster_settings').select('value').where('name', '=', 'next_slot').forUpdate().executeTakeFirst();
      if (!row) return undefined;
      await trx.updateTable('cluster_settings').set({ value: String(Number(row.value) + 1) }).where('name', '=', 'next_slot').execute();
      return Number(row.value);
    });
    if (taken !== undefined) return taken % POSITION_SLOTS;
    // The first member ever: one insert wins, the loser's fails and it takes the next slot.
    await db.insertInto('cluster_settings').values({ name: 'next_slot', value: '0' }).execute().catch(() => undefined);
  }
}

/** Records the shard count on a database's first clustered start; a different one later refuses to start. */
async function fixShardCount(database: Database, shards: number): Promise<void> {
  const { db } = database;
  const read = () => db.selectFrom('cluster_settings').select('value').where('name', '=', 'shards').executeTakeFirst();
  let row = await read();
  if (!row) {
    // Two processes starting at once: one insert wins, the other's fails and both read the winner's.
    await db.insertInto('cluster_settings').values({ name: 'shards', value: String(shards) }).execute().catch(() => undefined);
    row = await read();
  }
  if (!row || Number(row.value) !== shards) throw new ShardCountMismatchError(Number(row?.value), shards);
}
