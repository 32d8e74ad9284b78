// A private PostgreSQL server (initdb + pg_ctl on a temporary directory and port) that a test may stop and start.

import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './child.js';

const run = promisify(execFile);

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
  /** `immediate` is a crash (no checkpoint, clients cut off); `fast` rolls back and disconnects them. */
  stop(mode?: 'immediate' | 'fast'): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and deletes its directory. */
  destroy(): Promise<void>;
}

/** Where initdb and pg_ctl are: PG_BIN, else the newest /usr/lib/postgresql/N/bin, else PATH. */
function findBinaries(): string | undefined {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => join(debian, v, 'bin')));
  }
  candidates.push(...(process.env.PATH ?? '').split(':').filter(Boolean));
  return candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')));
}

/** PostgreSQL refuses to run as root: as root, its tools run as the `postgres` user (via runuser). */
function systemUser(): { uid: number; gid: number } | undefined | string {
  if (userInfo().uid !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) return 'running as root, and there is no postgres user to run PostgreSQL as';
  if (!['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser', '/bin/runuser'].some(existsSync)) return 'running as root without runuser';
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Why a private server cannot run here (no binaries, root without a postgres user), or undefined when it can. */
export function privatePostgresUnavailable(): string | undefined {
  if (!findBinaries()) return 'no PostgreSQL server binaries (initdb, pg_ctl) found: set PG_BIN or install postgresql';
  const owner = systemUser();
  return typeof owner === 'string' ? owner : undefined;
}

/** Starts a private server; check privatePostgresUnavailable() first. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = findBinaries();
  const owner = systemUser();
  if (!bin || typeof owner === 'string') throw new Error(privatePostgresUnavailable());
  const dir = mkdtempSync(join(tmpdir(), 'oe-pg-'));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const port = await freePort();
  const tool = (name: string, args: string[]) => {
    const [file, argv] = owner ? ['runuser', ['-u', 'postgres', '--', join(bin, name), ...args]] : [join(bin, name), args];
    return run(file, argv, { cwd: dir, timeout: 60_000 });
  };
  // --no-sync: only initdb skips fsync, to start quicker; the server itself keeps its durable defaults.
  await tool('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=50`;
  const start = async () => {
    await tool('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
  };
  const stop = async (mode: 'immediate' | 'fast' = 'immediate') => {
    await tool('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
  };
  // Should the test process end without destroy() (a failed hook, an exit), the server goes with it.
  const onExit = () => {
    try {
      const [file, argv] = owner ? ['runuser', ['-u', 'postgres', '--', join(bin, 'pg_ctl')]] : [join(bin, 'pg_ctl'), []];
      execFileSync(file, [...argv, '-D', data, '-m', 'immediate', '-w', 'stop'], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    onExit();
    process.kill(process.pid, signal);
  };
  process.once('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    async destroy() {
      process.removeListener('exit', onExit);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      await stop('immediate').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
