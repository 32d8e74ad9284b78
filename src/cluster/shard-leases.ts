// Shard ownership by lease in a JetStream KV bucket: taken with create, renewed with compare-and-swap, lost at once on a failed CAS or a late renewal.

import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { kvKeys } from './kv-keys.js';

export interface ShardLeasesOptions {
  /** The bucket: one per cluster (`<CLUSTER_NAME>_shards`). */
  readonly bucket: string;
  /** This process's name, written in every lease it holds. */
  readonly node: string;
  /**
   * The bucket's TTL: a lease not renewed within it expires and another process may take the
   * shard. Renewals go out every third of it.
   */
  readonly leaseMs: number;
  /** A renewal NATS did not confirm (for the metrics). */
  renewalFailed?(): void;
}

export interface Lease {
  readonly shard: number;
  /** The KV revision the lease was created at: every later owner's is higher, so it fences. */
  readonly epoch: number;
  /** The revision of the last renewal, for the next compare-and-swap. */
  revision: number;
  /** When the last renewal that succeeded was sent (monotonic ms): the server's clock starts later. */
  renewedAt: number;
}

/** What a lease's value says, for the admin and for routing. */
export interface LeaseHolder {
  readonly node: string;
  readonly epoch: number;
}

/**
 * The leases one process holds. A lease is served only while it is surely still ours: it is
 * dropped the moment a renewal's compare-and-swap fails, and also once `leaseMs − margin` has
 * passed since the last renewal that succeeded was sent — before the server can expire it, and
 * so before any other process can create it again.
 *
 * ```ts
 * const leases = await ShardLeases.open(nc, { bucket: 'orders_shards', node: 'web-1', leaseMs: 10_000 });
 * leases.onLost((shard) => registry.dropShard(shard));
 * const lease = await leases.tryAcquire(7);
 * ```
 */
export class ShardLeases {
  private readonly held = new Map<number, Lease>();
  private lost: (shard: number, why: string) => void = () => undefined;
  private timer: NodeJS.Timeout | undefined;
  private renewing = false;
  private closed = false;

  private constructor(
    private readonly kv: KV,
    private readonly jsm: JetStreamManager,
    private readonly options: ShardLeasesOptions,
  ) {
    this.timer = setInterval(() => void this.renewAll(), Math.max(50, Math.floor(options.leaseMs / 3)));
    this.timer.unref();
  }

  static async open(nc: NatsConnection, options: ShardLeasesOptions): Promise<ShardLeases> {
    const kv = await new Kvm(nc).create(options.bucket, { history: 1, ttl: options.leaseMs });
    return new ShardLeases(kv, await jetstreamManager(nc), options);
  }

  /** Lost leases are dropped from `owned` before the listener hears of them. */
  onLost(listener: (shard: number, why: string) => void): void {
    this.lost = listener;
  }

  get owned(): ReadonlyMap<number, Lease> {
    return this.held;
  }

  /** Whether the lease on `shard` is surely still ours now; a lapsed one is dropped on the spot. */
  holds(shard: number, now = performance.now()): boolean {
    const lease = this.held.get(shard);
    if (!lease) return false;
    if (now - lease.renewedAt < this.deadline) return true;
    this.drop(shard, 'the lease was not renewed in time');
    return false;
  }

  /**
   * Takes the shard if no process holds it; undefined when one does. A lease nobody renewed for
   * 1.5 TTLs that the server has not expired (nats-server#3653 reports KV entries kept past their
   * TTL) is taken over by compare-and-swap on its revision: its holder stopped serving it long
   * before, and a renewal since would have changed the revision.
   */
  async tryAcquire(shard: number): Promise<Lease | undefined> {
    const sentAt = performance.now();
    const value = JSON.stringify({ node: this.options.node });
    try {
      return this.hold(shard, await this.kv.create(key(shard), value), sentAt);
    } catch (error) {
      if (!isWrongRevision(error)) throw error;
    }
    const entry = await this.kv.get(key(shard));
    if (!entry || entry.operation !== 'PUT' || !this.stale(entry.created)) return undefined;
    try {
      return this.hold(shard, await this.kv.update(key(shard), value, entry.revision), sentAt);
    } catch (error) {
      if (isWrongRevision(error)) return undefined;
      throw error;
    }
  }

  /**
   * Whether a lease (or a member's name) written at `created` (the server's clock) is past its TTL
   * by half again: the server should have expired it. The margin covers the clocks of this host
   * and the server's; beyond it, the epoch fence in the database still refuses a writer that
   * had not noticed.
   */
  stale(created: Date, now = Date.now()): boolean {
    return now - created.getTime() > this.options.leaseMs * STALE_AFTER_TTLS;
  }

  private hold(shard: number, revision: number, sentAt: number): Lease {
    const lease: Lease = { shard, epoch: revision, revision, renewedAt: sentAt };
    this.held.set(shard, lease);
    return lease;
  }

  /** Gives the shard up at once (a graceful handoff): the next process may take it without waiting for the TTL. */
  async release(shard: number): Promise<void> {
    const lease = this.held.get(shard);
    if (!lease) return;
    this.held.delete(shard);
    await this.kv.delete(key(shard), { previousSeq: lease.revision }).catch(() => undefined);
  }

  /** Every shard's holder as the bucket says now (a lease may have lapsed since). */
  async holders(): Promise<Map<number, LeaseHolder>> {
    const out = new Map<number, LeaseHolder>();
    const keys = await kvKeys(this.jsm, this.options.bucket, 'shard.*');
    // Asked together: one at a time, a few hundred shards took a round its whole period on a busy process.
    const entries = await Promise.all(keys.map((k) => this.kv.get(k)));
    for (const entry of entries) {
      // A lease past its TTL that the server has not expired yet is free (see `tryAcquire`).
      if (!entry || entry.operation !== 'PUT' || this.stale(entry.created)) continue;
      const { node } = entry.json<{ node: string }>();
      out.set(Number(entry.key.slice('shard.'.length)), { node, epoch: entry.revision });
    }
    return out;
  }

  /** Releases every lease and stops renewing. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await Promise.all([...this.held.keys()].map((s) => this.release(s)));
  }

  /** A lease is ours for the TTL after its renewal was sent, less a margin for the two clocks' rates and the server's own timing. */
  private get deadline(): number {
    return this.options.leaseMs * 0.8;
  }

  private drop(shard: number, why: string): void {
    if (!this.held.delete(shard)) return;
    this.lost(shard, why);
  }

  private async renewAll(): Promise<void> {
    if (this.renewing || this.closed) return;
    this.renewing = true;
    try {
      await Promise.all([...this.held.values()].map((lease) => this.renew(lease)));
    } finally {
      this.renewing = false;
    }
  }

  private async renew(lease: Lease): Promise<void> {
    if (!this.holds(lease.shard)) return;
    const sentAt = performance.now();
    try {
      const revision = await this.kv.update(key(lease.shard), JSON.stringify({ node: this.options.node }), lease.revision);
      if (this.held.get(lease.shard) !== lease) return;
      lease.revision = revision;
      lease.renewedAt = sentAt;
    } catch (error) {
      // Someone else's revision: the lease expired and was taken, whatever our clock says.
      if (isWrongRevision(error)) this.drop(lease.shard, 'another process holds the lease');
      // Otherwise NATS did not answer: the deadline decides.
      else this.holds(lease.shard);
      this.options.renewalFailed?.();
    }
  }
}

const key = (shard: number) => `shard.${shard}`;

/** A lease unrenewed for this many TTLs is taken as expired, whether or not the server has expired it. */
const STALE_AFTER_TTLS = 1.5;

/** JetStream refuses a create or an update whose expected last revision does not match (error 10071). */
function isWrongRevision(error: unknown): boolean {
  const e = error as { api_error?: { err_code?: number }; message?: string; code?: string };
  return e?.api_error?.err_code === 10071 || /wrong last sequence/i.test(e?.message ?? '');
}
