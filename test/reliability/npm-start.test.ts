// `npm start` builds and runs the compiled engine with nothing between npm and node: SIGTERM to the npm process drains and stops the engine, and nothing of its process tree is left serving.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as assert from 'uvu/assert';
import { freePort } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';
import { until } from '../helpers/until.js';

const root = resolve(import.meta.dirname, '../..');
const it = suite('npm start');

/** True while any process of the group `pgid` is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

it('SIGTERM to the npm start process drains the engine and leaves nothing serving', async () => {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'oe-npm-start-'));
  const { DATABASE_URL: _embedded, ...env } = process.env;
  // Its own process group, so that what is left of the tree can be seen (and cleaned up).
  const npm = spawn('npm', ['start'], {
    cwd: root,
    detached: true,
    env: { ...env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  npm.stdout.on('data', (d) => (output += String(d)));
  npm.stderr.on('data', (d) => (output += String(d)));
  const exited = new Promise<number | null>((r) => npm.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  try {
    await until(
      () =>
        fetch(`${url}/health/ready`).then(
          (r) => r.ok,
          () => false,
        ),
      'the engine started by npm start is ready',
      180_000,
    );
    assert.match(output, /dist\/src\/main\.js/, 'npm runs the compiled engine');

    process.kill(npm.pid!, 'SIGTERM');
    assert.is(await exited, 0, output.slice(-2000));
    assert.match(output, /shutting down: draining requests and flushing the journal/);
    await until(() => !groupAlive(npm.pid!), 'no process of the npm start tree is left', 30_000);
    const after = await fetch(`${url}/health/live`).then(
      () => 'answered',
      () => 'refused',
    );
    assert.is(after, 'refused');
  } finally {
    if (groupAlive(npm.pid!)) process.kill(-npm.pid!, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

it.run();
