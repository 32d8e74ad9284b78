// An engine process on a database that another serves in a way it cannot join: it refuses to start, naming the holder.

export class DatabaseHeldError extends Error {
  constructor(
    readonly holder: string | undefined,
    clustered = false,
  ) {
    super(
      clustered
        ? `a single engine process serves this database (${holder ?? 'holder unknown'}): a cluster member cannot join it; stop it and start it again with CLUSTER_NATS_URL set, as every member`
        : `another engine process serves this database (${holder ?? 'holder unknown'}): without CLUSTER_NATS_URL one process serves a database; ` +
            'stop it first, point this one at another database, or run every process as a member of one cluster (CLUSTER_NATS_URL, docs/cluster.md)',
    );
    this.name = 'DatabaseHeldError';
  }
}
