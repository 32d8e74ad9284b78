// Envelopes and answers between engine processes over NATS core request subjects, as JSON: one subject per process.

import { RequestError, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Address } from '../../actors/shared/entity.js';
import type { Result } from '../../actors/shared/result.js';
import type { Envelope, ReplyTo } from '../engine/envelope.js';
import type { Transport } from '../engine/registry.js';

/** What travels on a process's subject. `hops` stops an envelope that two processes both think the other hosts. */
type Wire =
  | { readonly kind: 'post'; readonly to: Address; readonly envelope: Envelope; readonly hops: number }
  | { readonly kind: 'reply'; readonly correlationId: number; readonly result: Result<unknown> };

/**
 * One NATS message: what this process had for that one in a turn of its event loop, in order,
 * with the sender's clock when it left.
 */
interface Packet {
  readonly clock: number;
  readonly wires: readonly Wire[];
}

/** A Lamport clock every message carries (the outbox's positions follow it across processes). */
export interface MessageClock {
  read(): number;
  observe(clock: number): void;
}

/** What the transport hands to the registry of the process it runs in. */
export interface LocalDelivery {
  post(to: Address, envelope: Envelope): void;
  deliver(replyTo: ReplyTo, result: Result<unknown>): void;
}

export interface NatsTransportOptions {
  /** Subject prefix of the cluster (`<CLUSTER_NAME>`): two clusters share a server without hearing each other. */
  readonly prefix: string;
  readonly node: string;
  /** The process that hosts an actor now, or undefined while its shard has no owner (a handoff). */
  ownerOf(to: Address): string | undefined;
  /** How long an envelope waits for an owner to appear before it is dropped (its caller then times out). */
  readonly waitForOwnerMs: number;
  readonly clock?: MessageClock;
}

const MAX_HOPS = 4;
const OWNER_POLL_MS = 25;
const PROBE_TIMEOUT_MS = 1000;

/**
 * ```ts
 * const transport = new NatsTransport(nc, { prefix: 'orders', node: 'web-1', ownerOf, waitForOwnerMs: 10_000 });
 * transport.listen(registry);
 * ```
 */
export class NatsTransport implements Transport {
  private subscription: Subscription | undefined;
  /** Wires waiting for the end of this turn, per destination process, in order. */
  private readonly outgoing = new Map<string, Wire[]>();
  private flushQueued = false;
  private readonly hops = new WeakMap<Envelope, number>();
  private local: LocalDelivery | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: NatsTransportOptions,
  ) {}

  /** Starts taking this process's envelopes and answers. */
  listen(local: LocalDelivery): void {
    this.local = local;
    this.subscription = this.nc.subscribe(this.subject(this.options.node), {
      callback: (error, message) => {
        if (error) return;
        // An empty request is another process asking whether this one is still there.
        if (message.data.length === 0) {
          if (message.reply) message.respond();
          return;
        }
        const packet = message.json<Packet>();
        this.options.clock?.observe(packet.clock);
        for (const wire of packet.wires) {
          if (wire.kind === 'reply') {
            local.deliver({ correlationId: wire.correlationId }, wire.result);
            continue;
          }
          // Should this process no longer host the actor, the registry posts it on, one hop further.
          this.hops.set(wire.envelope, wire.hops);
          local.post(wire.to, wire.envelope);
        }
      },
    });
  }

  post(to: Address, envelope: Envelope): void {
    const hops = (this.hops.get(envelope) ?? 0) + 1;
    if (hops > MAX_HOPS) return;
    const owner = this.options.ownerOf(to);
    if (owner !== undefined) return this.send(owner, { kind: 'post', to, envelope, hops });
    void this.whenOwned(to).then((found) => found !== undefined && this.send(found, { kind: 'post', to, envelope, hops }));
  }

  reply(node: string, correlationId: number, result: Result<unknown>): void {
    this.send(node, { kind: 'reply', correlationId, result });
  }

  /**
   * Whether `node` still listens on its subject: false as soon as NATS knows nobody does (a
   * process killed, or cut off from NATS); true when it answers, and when it is only slow.
   */
  async listening(node: string): Promise<boolean> {
    try {
      await this.nc.request(this.subject(node), undefined, { timeout: PROBE_TIMEOUT_MS });
      return true;
    } catch (error) {
      return !(error instanceof RequestError && error.isNoResponders());
    }
  }

  async close(): Promise<void> {
    if (this.flushQueued) this.flush();
    await this.subscription?.drain().catch(() => undefined);
  }

  private send(node: string, wire: Wire): void {
    // To this very process: no need for the network.
    if (node === this.options.node && this.local) {
      if (wire.kind === 'reply') return this.local.deliver({ correlationId: wire.correlationId }, wire.result);
      this.hops.set(wire.envelope, wire.hops);
      return this.local.post(wire.to, wire.envelope);
    }
    // One publish per process per turn of the event loop, rather than a socket write per message.
    const queue = this.outgoing.get(node);
    if (queue) queue.push(wire);
    else this.outgoing.set(node, [wire]);
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushQueued = false;
    // Read now, after every wire was queued: the clock only grows, so it covers each of them.
    const clock = this.options.clock?.read() ?? 0;
    for (const [node, wires] of this.outgoing) this.nc.publish(this.subject(node), JSON.stringify({ clock, wires } satisfies Packet));
    this.outgoing.clear();
  }

  /** A shard being handed over: wait (within the request time-out) for its next owner rather than fail. */
  private async whenOwned(to: Address): Promise<string | undefined> {
    const deadline = performance.now() + this.options.waitForOwnerMs;
    while (performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, OWNER_POLL_MS));
      const owner = this.options.ownerOf(to);
      if (owner !== undefined) return owner;
    }
    return undefined;
  }

  private subject(node: string): string {
    return `${this.options.prefix}.node.${node}`;
  }
}
