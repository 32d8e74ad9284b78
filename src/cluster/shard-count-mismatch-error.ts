// A process started with another CLUSTER_SHARDS than the one its database's cluster was first started with.

export class ShardCountMismatchError extends Error {
  constructor(recorded: number, configured: number) {
    super(`this database's cluster was started with CLUSTER_SHARDS=${recorded}; this process has ${configured}. Start every process with ${recorded}.`);
    this.name = 'ShardCountMismatchError';
  }
}
