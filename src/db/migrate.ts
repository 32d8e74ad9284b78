// Runs the migrations in migrations/ to the latest, the same on every database.

import { Migrator } from 'kysely/migration';
import { migrations } from '../../migrations/index.js';
import type { Database } from './connect.js';

export async function migrateToLatest({ db, traits }: Database): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations(traits) },
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    const cause = error instanceof Error ? error.message : String(error ?? failed?.migrationName);
    throw new Error(`migration failed: ${cause}`);
  }
}
