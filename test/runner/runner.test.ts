// The test runner itself: each way a run can go wrong makes it exit non-zero and say so; skips are counted with their reason.

import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import * as assert from 'uvu/assert';
import { suite } from '../helpers/suite.js';

const root = resolve(import.meta.dirname, '../..');
const fixtures = join(import.meta.dirname, 'fixtures');

interface Run {
  code: number | null;
  output: string;
  closing: string;
}

/** Runs `npm test`'s runner on fixture files in a child process of its own. */
function runFixtures(names: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const merged: NodeJS.ProcessEnv = { ...process.env, CI: '', ...env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k];
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/run.ts', ...names.map((n) => join(fixtures, `${n}.ts`))], { cwd: root, env: merged });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', fail);
    child.on('close', (code) => {
      const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
      // uvu's own "Exiting early" goes to stderr and may land after the closing line on stdout.
      const closing = plain.trim().split('\n').filter((line) => /^\d+ passed, \d+ failed/.test(line)).pop() ?? plain.trim().split('\n').pop() ?? '';
      done({ code, output: plain, closing });
    });
  });
}

const it = suite('test runner');

it('a passing file exits 0 with "1 passed, 0 failed, 0 skipped"', async () => {
  const run = await runFixtures(['passing']);
  assert.is(run.code, 0, run.output);
  assert.is(run.closing, '1 passed, 0 failed, 0 skipped');
});

it('a throwing before hook fails the run, names file and suite, and counts the tests it kept from running', async () => {
  const run = await runFixtures(['passing', 'throwing-before']);
  assert.is(run.code, 1, run.output);
  assert.is(run.closing, '1 passed, 2 failed, 0 skipped');
  assert.match(run.output, /throwing-before\.ts › fixture: before throws: before hook threw: Error: the database did not start/);
  assert.match(run.output, /registered 2 tests and ran 0/);
});

it('a failing test fails the run', async () => {
  const run = await runFixtures(['failing-test']);
  assert.is(run.code, 1, run.output);
  assert.is(run.closing, '1 passed, 1 failed, 0 skipped');
});

it('a throwing after hook fails the run although every test passed', async () => {
  const run = await runFixtures(['throwing-after']);
  assert.is(run.code, 1, run.output);
  assert.is(run.closing, '1 passed, 1 failed, 0 skipped');
  assert.match(run.output, /after hook threw: Error: cleanup failed/);
});

it('an unhandled rejection fails the run', async () => {
  const run = await runFixtures(['unhandled-rejection']);
  assert.is(run.code, 1, run.output);
  assert.match(run.output, /unhandled rejection in .*unhandled-rejection\.ts: Error: nobody awaited this/);
});

it('a suite whose run() is never called fails the run', async () => {
  const run = await runFixtures(['never-run']);
  assert.is(run.code, 1, run.output);
  assert.match(run.output, /registered tests but \.run\(\) was never called/);
});

it('a suite made with uvu directly, out of the ledger’s sight, fails the run', async () => {
  const run = await runFixtures(['direct-uvu']);
  assert.is(run.code, 1, run.output);
  assert.match(run.output, /import suite from there, not from uvu/);
});

it('a file that does not load fails the run', async () => {
  const run = await runFixtures(['passing', 'does-not-load']);
  assert.is(run.code, 1, run.output);
  assert.match(run.output, /does-not-load\.ts did not load: Error: a syntax or import error at load/);
});

it('a suite whose need is missing is skipped with the reason, and the run passes', async () => {
  const run = await runFixtures(['passing', 'needs-postgres'], { TEST_POSTGRES_URL: undefined });
  assert.is(run.code, 0, run.output);
  assert.is(run.closing, '1 passed, 0 failed, 1 skipped');
  assert.match(run.output, /TEST_POSTGRES_URL is not set: 1 test\n\s+.*needs-postgres\.ts › fixture: needs PostgreSQL › talks to PostgreSQL/);
  assert.match(run.output, /postgres\s+missing: TEST_POSTGRES_URL is not set/);
});

it('under CI=true a missing need fails the run instead of skipping', async () => {
  const run = await runFixtures(['passing', 'needs-postgres'], { TEST_POSTGRES_URL: undefined, CI: 'true' });
  assert.is(run.code, 1, run.output);
  assert.is(run.closing, '1 passed, 1 failed, 1 skipped');
  assert.match(run.output, /needs what CI provides, and it is missing: TEST_POSTGRES_URL is not set/);
});

it('a test awaiting a promise that never settles fails the run when the process runs out of work', async () => {
  const run = await runFixtures(['passing', 'never-settles']);
  assert.is(run.code, 1, run.output);
  assert.is(run.closing, '1 passed, 1 failed, 0 skipped');
  assert.match(run.output, /ran out of work before the run ended, in .*never-settles\.ts › fixture: a test that waits forever › awaits a promise nobody resolves/);
});

it('no test at all fails the run', async () => {
  const run = await runFixtures(['needs-postgres'], { TEST_POSTGRES_URL: undefined });
  assert.is(run.code, 1, run.output);
  assert.match(run.output, /no test ran/);
});

it.run();
