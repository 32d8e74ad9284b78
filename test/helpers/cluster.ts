// Cluster members as tests start and watch them: the settings every member shares, and a wait until they share the shards.

import type { EngineProcess } from './child.js';
import { http } from './child.js';
import type { PrivateNats } from './nats.js';
import { until } from './until.js';

/** The admin token every test member gets. */
export const CLUSTER_ADMIN_TOKEN = 'cluster-test';

export interface ClusterView {
  readonly node: string;
  readonly members: ReadonlyArray<{ readonly node: string; readonly shardsOwned: number }>;
  readonly owners: Record<string, string>;
  readonly served: readonly number[];
}

/** The environment of member `node` of cluster `name` (small shard counts and short leases keep tests quick). */
export function memberEnv(nats: PrivateNats, name: string, node: string, settings: { shards: number; leaseMs?: number }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CLUSTER_NATS_URL: nats.url,
    CLUSTER_NAME: name,
    NODE_NAME: node,
    CLUSTER_SHARDS: String(settings.shards),
    CLUSTER_LEASE_MS: String(settings.leaseMs ?? 2000),
    ADMIN_TOKEN: CLUSTER_ADMIN_TOKEN,
    SWEEP_INTERVAL_MS: '200',
    ...extra,
  };
}

/** `GET /admin/cluster` of one member; undefined while it does not answer. */
export async function clusterOf(url: string): Promise<ClusterView | undefined> {
  const answer = await http(url, 'GET', '/admin/cluster', undefined, { authorization: `Bearer ${CLUSTER_ADMIN_TOKEN}` }).catch(() => undefined);
  return answer?.status === 200 ? (answer.body as ClusterView) : undefined;
}

/** Waits until every one of `engines` sees exactly `names` as the members, every shard owned, none above its fair share. */
export function untilShared(engines: readonly EngineProcess[], names: readonly string[], shards: number): Promise<void> {
  const expected = [...names].sort().join();
  // What each member saw last, for the failure message.
  const seen = new Map<string, string>();
  return until(
    async () => {
      const views = await Promise.all(engines.map((e) => clusterOf(e.url)));
      views.forEach((view, i) =>
        seen.set(engines[i]!.url, view ? `${view.node}: ${view.members.map((m) => `${m.node}×${m.shardsOwned}`).join(' ')}, ${Object.keys(view.owners).length} owned, serves ${view.served.length}` : 'no answer'),
      );
      return views.every(
        (view) =>
          view !== undefined &&
          Object.keys(view.owners).length === shards &&
          view.members.map((m) => m.node).sort().join() === expected &&
          view.members.every((m) => m.shardsOwned <= Math.ceil(shards / names.length)),
      );
    },
    () => `${names.join(', ')} share the ${shards} shards (last seen: ${[...seen.values()].join('; ')})`,
    60_000,
    100,
  );
}
