// The engine's periodic work: resume interrupted sagas and coupon claims, expire unpaid orders, passivate idle actors.

import type { Address } from '../../actors/shared/entity.js';
import type { CommandOf } from './kinds.js';
import type { Registry } from './registry.js';
import type { StuckWork } from '../read/stuck-work.js';

export interface SweeperOptions {
  readonly intervalMs: number;
  readonly orderTtlMs: number;
  /** In a cluster: the actors this process serves; the others' owners sweep them. */
  readonly hosts?: (to: Address) => boolean;
}

/**
 * Pokes the actors whose work was left half done; the actors themselves decide what follows.
 *
 * ```ts
 * const sweeper = new Sweeper(registry, new StuckWork(db), { intervalMs: 1000, orderTtlMs });
 * await sweeper.resumeAll(); // at start: everything interrupted, however recent
 * sweeper.start();
 * ```
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;

  constructor(
    private readonly registry: Registry,
    private readonly stuck: StuckWork,
    private readonly options: SweeperOptions,
  ) {}

  /** Resumes every interrupted saga and claim, whatever its age (after a restart). */
  async resumeAll(): Promise<void> {
    await this.resumeSagas(0);
    await this.resumeClaims(0);
  }

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  private async sweep(): Promise<void> {
    // While the database hangs, sweeps must not pile up behind one another.
    if (this.stopped || this.running) return;
    this.running = true;
    try {
      this.registry.sweepIdle();
      await this.resumeSagas(this.options.intervalMs);
      await this.resumeClaims(this.options.intervalMs);
      for (const id of await this.stuck.unpaidOrders(Date.now() - this.options.orderTtlMs)) this.poke('order', id, { type: 'ExpireOrder' });
    } catch {
      // The database is down; readiness reports it and the next sweep tries again.
    } finally {
      this.running = false;
    }
  }

  private async resumeSagas(olderThanMs: number): Promise<void> {
    const cutoff = Date.now() - olderThanMs;
    for (const status of ['PAYING', 'CANCELLING'] as const) {
      for (const id of await this.stuck.sagas(status, cutoff)) this.poke('order', id, { type: 'ResumeSaga' });
    }
  }

  private async resumeClaims(olderThanMs: number): Promise<void> {
    for (const id of await this.stuck.claims(Date.now() - olderThanMs)) this.poke('user', id, { type: 'ResumeClaims' });
  }

  private poke<K extends 'order' | 'user'>(kind: K, id: string, command: CommandOf<K>): void {
    if (this.options.hosts && !this.options.hosts({ kind, id })) return;
    this.registry.tell({ kind, id }, command);
  }
}
