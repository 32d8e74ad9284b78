// A second engine process on a database that one already serves: it refuses to start, naming the holder.

export class DatabaseHeldError extends Error {
  constructor(readonly holder: string | undefined) {
    super(
      `another engine process serves this database (${holder ?? 'holder unknown'}): one process serves a database; ` +
        'stop it first, or point this one at another database (several processes on one database need a cluster, which this version does not have)',
    );
    this.name = 'DatabaseHeldError';
  }
}
