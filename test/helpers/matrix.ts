// What this run can test against: the databases, NATS and the binaries some tests need, each with why it is missing.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { natsServerBinary } from './nats.js';
import { privatePostgresUnavailable } from './private-postgres.js';

/** Something a suite may need beyond PGlite and Node. */
export type Need = 'postgres' | 'mysql' | 'nats' | 'nats-server' | 'pg_ctl' | 'promtool' | 'chromium';

export interface Capability {
  readonly need: Need;
  /** Why it is missing, or undefined when it is here. */
  readonly missing: string | undefined;
  /** What is used when it is here (a URL, a binary). */
  readonly detail: string;
}

const onPath = (command: string, ...args: string[]): boolean => spawnSync(command, args, { stdio: 'ignore', timeout: 10_000 }).status === 0;

/** Where Chromium is: CHROMIUM_BIN, else Debian's /usr/bin/chromium. */
export const chromiumBinary: string = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

function probe(need: Need): Capability {
  switch (need) {
    case 'postgres': {
      const url = process.env.TEST_POSTGRES_URL;
      return { need, missing: url ? undefined : 'TEST_POSTGRES_URL is not set', detail: url ?? '' };
    }
    case 'mysql': {
      const url = process.env.TEST_MYSQL_URL;
      return { need, missing: url ? undefined : 'TEST_MYSQL_URL is not set', detail: url ?? '' };
    }
    case 'nats': {
      const url = process.env.TEST_NATS_URL;
      return { need, missing: url ? undefined : 'TEST_NATS_URL is not set', detail: url ?? '' };
    }
    case 'nats-server':
      return { need, missing: existsSync(natsServerBinary) ? undefined : `no nats-server at ${natsServerBinary} (set NATS_SERVER_BIN or install nats-server)`, detail: natsServerBinary };
    case 'pg_ctl':
      return { need, missing: privatePostgresUnavailable(), detail: 'initdb + pg_ctl' };
    case 'promtool':
      return { need, missing: onPath('promtool', '--version') ? undefined : 'promtool is not on PATH (apt-get install prometheus)', detail: 'promtool' };
    case 'chromium':
      return { need, missing: existsSync(chromiumBinary) ? undefined : `no Chromium at ${chromiumBinary} (set CHROMIUM_BIN or apt-get install chromium)`, detail: chromiumBinary };
    default: {
      const unknown: never = need;
      throw new Error(`unknown need ${String(unknown)}`);
    }
  }
}

const NEEDS: readonly Need[] = ['postgres', 'mysql', 'nats', 'nats-server', 'pg_ctl', 'promtool', 'chromium'];
const probed = new Map<Need, Capability>();

export function capability(need: Need): Capability {
  let found = probed.get(need);
  if (!found) probed.set(need, (found = probe(need)));
  return found;
}

/** Why a suite with these needs cannot run here, or undefined when it can. */
export function missingFor(needs: readonly Need[]): string | undefined {
  const reasons = needs.map((n) => capability(n).missing).filter((r): r is string => r !== undefined);
  return reasons.length ? reasons.join('; ') : undefined;
}

/** Under CI=true every need is expected to be met: .ci/run provides them all, so a missing one is a failure, not a skip. */
export const strict: boolean = process.env.CI === 'true';

export function allCapabilities(): Capability[] {
  return NEEDS.map(capability);
}
