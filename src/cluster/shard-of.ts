// Which shard an actor belongs to: a stable hash of its id, the same in every process and every version.

/** FNV-1a over the id's UTF-16 code units: cheap, stable, and spread well enough over a few hundred shards. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * The shard of an actor id among `shards`. Every kind shares the one space, so an order whose id
 * was made with `idInShard` lands beside its user.
 *
 * ```ts
 * shardOf('0190c5b2-…', 256); // → 0 … 255
 * ```
 */
export function shardOf(id: string, shards: number): number {
  const placed = /^s([0-9a-z]{1,4})-/.exec(id);
  if (placed) {
    const shard = Number.parseInt(placed[1]!, 36);
    if (shard < shards) return shard;
  }
  return fnv1a(id) % shards;
}

/** An id that `shardOf` places in `shard` (an order beside its user): `s<shard in base 36>-<id>`. */
export function idInShard(shard: number, id: string): string {
  return `s${shard.toString(36)}-${id}`;
}
