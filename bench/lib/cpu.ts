// CPU use of process groups (server, database, load generator), sampled from /proc once a second.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  readonly ppid: number;
  /** utime + stime, in clock ticks. */
  readonly ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces; the fields after it are fixed.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

function allPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return [];
  }
}

/** The process and every descendant (tsx and esbuild may run helpers). */
export function withDescendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of allPids()) {
    const stat = readStat(pid);
    if (stat) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.pop() as number;
    found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

const read = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/** CPU seconds (user + system) the processes have used so far; processes gone since count nothing. */
export function cpuSecondsOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (readStat(pid)?.ticks ?? 0), 0) / TICKS_PER_SECOND;
}

/**
 * The database server's processes: `mariadbd` (one process, so all of it), or PostgreSQL's
 * background processes plus the client backends of `database` only, since other databases on
 * a shared server are other people's work (a backend's title names its database and client).
 */
export function databaseProcesses(kind: 'postgres' | 'mysql', database: string): number[] {
  return allPids().filter((pid) => {
    const comm = read(`/proc/${pid}/comm`).trim();
    if (kind === 'mysql') return comm === 'mariadbd' || comm === 'mysqld';
    if (comm !== 'postgres') return false;
    const title = read(`/proc/${pid}/cmdline`).replace(/\0/g, ' ');
    const clientBackend = /\(\d+\)|\[local\]/.test(title);
    return !clientBackend || title.includes(` ${database} `);
  });
}

/** The process listening on a local TCP port (an engine started by someone else, for --url), if any. */
export function pidListeningOn(port: number): number | undefined {
  const LISTEN = '0A';
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of read(table).split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const localPort = parseInt(f[1]?.split(':')[1] ?? '', 16);
      if (localPort === port && f[3] === LISTEN && f[9]) inodes.add(f[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const pid of allPids()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (target.startsWith('socket:[') && inodes.has(target.slice(8, -1))) return pid;
      } catch {
        // The descriptor closed meanwhile.
      }
    }
  }
  return undefined;
}

/** Busy clock ticks of the whole machine, all cores, from the first line of /proc/stat. */
function machineTicks(): number {
  const fields = read('/proc/stat').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return total - idle;
}

export interface CpuUse {
  /** Average over the sampled window, in percent of one core (200 = two cores busy). */
  readonly avgPercent: number;
  /** The busiest one-second sample. */
  readonly peakPercent: number;
  /** CPU time used over the window, user + system, in seconds (for the cost per payment). */
  readonly seconds: number;
}

/**
 * Samples groups of processes; each group is a function so that processes that start during
 * the run (a new database backend) are picked up. A process counts from its second sample on,
 * so that its CPU time from before the window is not charged to it.
 */
export class CpuSampler {
  private readonly previous = new Map<string, Map<number, number>>();
  private readonly totals = new Map<string, { ticks: number; peak: number }>();
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private lastAt = 0;

  private machineStart = 0;

  constructor(private readonly groups: Record<string, () => number[]>) {}

  start(): void {
    this.startedAt = this.lastAt = performance.now();
    this.machineStart = machineTicks();
    for (const name of Object.keys(this.groups)) {
      this.totals.set(name, { ticks: 0, peak: 0 });
      this.previous.set(name, new Map());
    }
    this.sample();
    this.timer = setInterval(() => this.sample(), 1000);
  }

  /** Each group's use, and `machine`: everything busy on the machine (all cores) over the same window. */
  stop(): Record<string, CpuUse> {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    const machineEnd = machineTicks();
    const seconds = Math.max(0.001, (this.lastAt - this.startedAt) / 1000);
    const percent = (ticks: number) => Math.round((ticks / TICKS_PER_SECOND / seconds) * 100);
    // A run shorter than a sample still has a peak: at least its average.
    const use = Object.fromEntries(
      [...this.totals].map(([name, t]) => [
        name,
        { avgPercent: percent(t.ticks), peakPercent: Math.max(percent(t.ticks), Math.round(t.peak)), seconds: t.ticks / TICKS_PER_SECOND },
      ]),
    );
    const machineTicksUsed = machineEnd - this.machineStart;
    const machine = percent(machineTicksUsed);
    return { ...use, machine: { avgPercent: machine, peakPercent: machine, seconds: machineTicksUsed / TICKS_PER_SECOND } };
  }

  private sample(): void {
    const now = performance.now();
    const intervalS = (now - this.lastAt) / 1000;
    this.lastAt = now;
    for (const [name, pids] of Object.entries(this.groups)) {
      const before = this.previous.get(name) as Map<number, number>;
      const after = new Map<number, number>();
      let delta = 0;
      for (const pid of pids()) {
        const stat = readStat(pid);
        if (!stat) continue;
        after.set(pid, stat.ticks);
        const earlier = before.get(pid);
        if (earlier !== undefined) delta += stat.ticks - earlier;
      }
      this.previous.set(name, after);
      const total = this.totals.get(name) as { ticks: number; peak: number };
      total.ticks += delta;
      if (intervalS > 0.5) total.peak = Math.max(total.peak, (delta / TICKS_PER_SECOND / intervalS) * 100);
    }
  }
}
