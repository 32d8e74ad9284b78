// The read cache: committed views of single entities, and popular-products answers, evicted when a write commits.

import { LRUCache } from 'lru-cache';

export interface CacheObserver {
  lookup(cache: string, hit: boolean): void;
}

/**
 * Views of users, products, orders and coupons as their actors last committed them, and
 * popular-products answers. An actor fills its entry while it answers a read and evicts it
 * when a write commits (before the writer hears back), so a read after an acknowledged write
 * never finds the older value.
 *
 * ```ts
 * const cache = new ReadCache(100_000);
 * cache.view('user-42') ?? (await readFromActor());
 * ```
 */
export class ReadCache {
  private readonly views: LRUCache<string, object> | undefined;
  private readonly popular: LRUCache<string, object> | undefined;
  /** Bumped on every commit that changes sales: a popular answer computed before it is not kept. */
  private salesGeneration = 0;

  constructor(
    maxEntries: number,
    private readonly observer?: CacheObserver,
  ) {
    if (maxEntries <= 0) return;
    this.views = new LRUCache({ max: maxEntries });
    this.popular = new LRUCache({ max: 256 });
  }

  get size(): number {
    return (this.views?.size ?? 0) + (this.popular?.size ?? 0);
  }

  /** The cached view of an entity (`kind-id`), counted as a hit or a miss of its kind. */
  view(key: string): object | undefined {
    if (!this.views) return undefined;
    const value = this.views.get(key);
    this.observer?.lookup(key.slice(0, key.indexOf('-')), value !== undefined);
    return value;
  }

  /** Called by the actor, in its turn, with the view it has just answered from committed state. */
  fill(key: string, view: object): void {
    this.views?.set(key, view);
  }

  /** Called by the actor when its write commits; `sales` when the write changed units sold. */
  committed(key: string, sales: boolean): void {
    this.views?.delete(key);
    if (sales && this.popular) {
      this.salesGeneration++;
      // clear() rewrites the cache's arrays whole, empty or not: every paid order would pay for it.
      if (this.popular.size > 0) this.popular.clear();
    }
  }

  /** A popular-products answer from the cache, or computed by `load` and kept unless sales changed meanwhile. */
  async popularProducts<T extends object>(key: string, load: () => Promise<T>): Promise<T> {
    if (!this.popular) return load();
    const cached = this.popular.get(key) as T | undefined;
    this.observer?.lookup('popular', cached !== undefined);
    if (cached) return cached;
    const generation = this.salesGeneration;
    const value = await load();
    if (generation === this.salesGeneration) this.popular.set(key, value);
    return value;
  }
}
