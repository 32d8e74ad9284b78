// Starts the server of one side (the engine, or a baseline) as a child process on a free port, and stops it.

import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import type { Side } from './options.js';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** SIGTERM, so the engine drains its journal; SIGKILL if it has not exited in time. */
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no free port'))));
    });
  });
}

let built: string | undefined;

/**
 * The engine as `npm start` runs it: compiled to `dist/` (built once per bench run, incrementally),
 * unless `BENCH_ENGINE_JS` names another entry point or `BENCH_ENGINE_TSX=1` asks for the sources
 * through tsx (about 10% more CPU per payment, from the helpers tsx adds around every function).
 */
function engineEntry(): string | undefined {
  if (process.env.BENCH_ENGINE_JS) return process.env.BENCH_ENGINE_JS;
  if (process.env.BENCH_ENGINE_TSX === '1') return undefined;
  if (built === undefined) {
    execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
    built = 'dist/src/main.js';
  }
  return built;
}

const tail = (file: string) => {
  try {
    return readFileSync(file, 'utf8').slice(-2000);
  } catch {
    return '';
  }
};

/** Starts `side` against `databaseUrl` (with `env` added); its output goes to `logFile`. Resolves once /health/ready answers 200. */
export async function startServer(side: Side, databaseUrl: string, logFile: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = await freePort();
  const entry = side === 'engine' ? 'src/main.ts' : 'bench/baseline/server.ts';
  mkdirSync(dirname(logFile), { recursive: true });
  const log = openSync(logFile, 'w');
  // BENCH_SERVER_NODE_ARGS adds flags for the server's Node.js only, e.g. "--cpu-prof --cpu-prof-dir=bench/out/prof".
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  // The engine runs as `npm start` runs it: a young generation big enough that the allocation
  // churn of thousands of payments a second is collected cheaply (about 7% less CPU per payment),
  // and no allocation site pretenured (docs/operations.md#memory).
  if (side === 'engine') nodeArgs.unshift('--max-semi-space-size=64', '--no-allocation-site-pretenuring');
  const compiled = side === 'engine' ? engineEntry() : undefined;
  const child = spawn(process.execPath, compiled ? [...nodeArgs, compiled] : [...nodeArgs, '--import', 'tsx', entry], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      // BENCH_LOG_LEVEL (e.g. info) for a closer look at what a server did under the load.
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      ...(side === 'engine' ? {} : { BASELINE_MODE: side }),
      ...env,
    },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${side} server exited during start-up; ${logFile}:\n${tail(logFile)}`);
    try {
      if ((await fetch(`${url}/health/ready`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${side} server not ready within 60 s; ${logFile}:\n${tail(logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid as number,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
