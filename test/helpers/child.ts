// Runs the engine as a child process (npm start's entry point) on a free port, for crash tests.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

export interface EngineProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** SIGKILL: no shutdown hook runs. */
  kill(): Promise<void>;
  /** SIGTERM: the engine drains and flushes, then exits. */
  stop(): Promise<number | null>;
}

let built = false;

/**
 * Node's arguments for the engine's entry point as `npm start` runs it: compiled, `dist/` built
 * once per test run (incrementally, a few seconds), so each of the suite's many engine processes
 * starts about a second sooner than through tsx. `TEST_ENGINE_TSX=1` runs the sources through
 * tsx instead.
 */
export function engineArgs(): string[] {
  if (process.env.TEST_ENGINE_TSX === '1') return ['--import', 'tsx', 'src/main.ts'];
  if (!built) {
    execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
    built = true;
  }
  return ['dist/src/main.js'];
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startEngineProcess(databaseUrl: string, env: Record<string, string> = {}): Promise<EngineProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, engineArgs(), {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr = (stderr + String(d)).slice(-4000)));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`engine exited with ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${url}/health/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`engine not ready within 60 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Rejects after `HTTP_DEADLINE_MS` instead of waiting forever on a connection its server lost (a killed process). */
export async function http(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const abort = new AbortController();
  // A timer of the test's own (AbortSignal.timeout's does not keep the process alive): a fetch
  // left hanging on a socket its server dropped is cut off and fails, rather than end the run quietly.
  const deadline = setTimeout(() => abort.abort(new Error(`${method} ${path}: no answer within ${HTTP_DEADLINE_MS} ms`)), HTTP_DEADLINE_MS);
  try {
    return await answer(base, method, path, body, headers, abort.signal);
  } finally {
    clearTimeout(deadline);
  }
}

const HTTP_DEADLINE_MS = 60_000;

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
}

async function answer(base: string, method: string, path: string, body: unknown, headers: Record<string, string>, signal: AbortSignal): Promise<Answer> {
  const response = await fetch(base + path, {
    method,
    signal,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, headers: response.headers, body: json };
}

/** Resident memory of a process in bytes (Linux /proc), or undefined once it is gone. */
export function rssBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}
