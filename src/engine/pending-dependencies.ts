// What an actor's uncommitted state rests on: its own appends and the others' it decided on, narrowed as batches commit.

import { spanning, type Dependency } from '../journal/dependency.js';
import type { Journal } from '../journal/journal.js';

/**
 * The token an actor hands on with an answer given ahead of its commit, or with a saga step: the
 * receiver refuses to build on it once any of it has failed.
 */
export class PendingDependencies {
  private depends: Dependency | undefined;

  constructor(private readonly journal: Journal) {}

  /** True when some append the state rests on failed: the state must be rebuilt. */
  get failed(): boolean {
    return this.depends !== undefined && this.journal.outstanding(this.depends) === 'failed';
  }

  /**
   * What is still outstanding; as it was when some of it failed (the receiver refuses it). Ranges
   * are narrowed before they are joined: a range from an old position to a new one would also
   * span failures in between that the state never rested on.
   */
  token(): Dependency | undefined {
    this.depends = this.narrowed(this.depends);
    return this.depends;
  }

  /** The state moved on from a message that rested on `after`. */
  restOn(after: Dependency): void {
    this.depends = spanning(this.token(), this.narrowed(after));
  }

  /** The actor appended at `position`, on top of what `token` said it rested on. */
  appended(token: Dependency | undefined, position: number): void {
    this.depends = spanning(token, { from: position, to: position });
  }

  /** A rebuilt state rests on nothing uncommitted. */
  clear(): void {
    this.depends = undefined;
  }

  private narrowed(dependency: Dependency | undefined): Dependency | undefined {
    if (dependency === undefined) return undefined;
    const outstanding = this.journal.outstanding(dependency);
    return outstanding === 'failed' ? dependency : outstanding;
  }
}
