// Runs test/**/*.test.ts (or the files named) with uvu in one process; any failure, thrown hook, unrun test or unhandled rejection fails the run.
// Ends with "N passed, N failed, N skipped", where failed counts every reason the run fails.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { allCapabilities, strict } from './helpers/matrix.js';

const root = resolve(import.meta.dirname);
const args = process.argv.slice(2);

function find(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return name === 'helpers' || name === 'fixtures' ? [] : find(path);
      return name.endsWith('.test.ts') ? [path] : [];
    });
}

// An argument that is a file runs that file; any other argument picks the test files whose path contains it.
const named = args.filter((a) => existsSync(a) && statSync(a).isFile()).map((a) => resolve(a));
const filters = args.filter((a) => !named.includes(resolve(a)));
const files = [...named, ...(named.length && !filters.length ? [] : find(root).filter((f) => filters.length === 0 || filters.some((o) => f.includes(o))))];

// What uvu/run does, with a name per file in the ledger and a failed import counted. uvu must
// see UVU_DEFER when it first loads, so it (and the suite helper over it) is imported only now.
const queue = globalThis as unknown as { UVU_DEFER: number; UVU_INDEX: number; UVU_QUEUE: unknown[][] };
queue.UVU_DEFER = 1;
const uvu = await import('uvu');
const { describe, ledger, problemsOf } = await import('./helpers/suite.js');

const book = ledger();
process.on('unhandledRejection', (reason) => book.problems.push(`unhandled rejection in ${book.file}: ${describe(reason)}`));
process.on('uncaughtException', (error) => book.problems.push(`uncaught exception in ${book.file}: ${describe(error)}`));

console.log(`test matrix${strict ? ' (CI=true: everything below must be here)' : ''}:`);
console.log('  pglite       always');
for (const c of allCapabilities()) console.log(`  ${c.need.padEnd(12)} ${c.missing ? `missing: ${c.missing}` : `yes (${c.detail})`}`);
console.log('');

for (const [index, file] of files.entries()) {
  book.file = relative(process.cwd(), file);
  queue.UVU_INDEX = index;
  queue.UVU_QUEUE.push([relative(root, file)]);
  const before = book.suites.length;
  try {
    await import(pathToFileURL(file).href);
  } catch (error) {
    book.problems.push(`${book.file} did not load: ${describe(error)}`);
  }
  const ours = book.suites.slice(before).filter((s) => s.ran && s.registered.length > 0).length;
  const queued = (queue.UVU_QUEUE[index]?.length ?? 1) - 1;
  if (queued !== ours) book.problems.push(`${book.file}: ${queued} suites queued, ${ours} made by test/helpers/suite.ts (import suite from there, not from uvu)`);
}
// A run whose event loop empties while a test still waits (a promise nobody resolves) ends here, not silently.
let finished = false;
process.on('exit', (code) => {
  if (finished) return;
  const current = book.suites.find((s) => s.ran && s.passed + s.failed < s.registered.length);
  console.log(`\nthe run fails:\n  ✘ the process ran out of work before the run ended, in ${current ? `${current.file} › ${current.title} › ${current.registered[current.passed + current.failed]}` : book.file} (a promise that never settles? still open: ${process.getActiveResourcesInfo().join(', ') || 'nothing'})`);
  console.log(`\n${book.suites.reduce((n, s) => n + s.passed, 0)} passed, ${book.suites.reduce((n, s) => n + s.failed, 0) + 1} failed, ${book.suites.reduce((n, s) => n + s.skipped.length, 0)} skipped`);
  process.exitCode = code || 1;
});
try {
  await uvu.exec();
} catch (error) {
  book.problems.push(`the run stopped: ${describe(error)}`);
}

const problems: string[] = [...book.problems];
let passed = 0;
let failures = book.problems.length;
let skipped = 0;
const skips = new Map<string, string[]>();
for (const s of book.suites) {
  const unrun = s.registered.length - s.passed - s.failed;
  const own = problemsOf(s);
  passed += s.passed;
  skipped += s.skipped.length;
  // A test that failed or never ran is one failure; a problem with no such test (an after hook, a strict skip) is one more.
  failures += s.failed + unrun + (s.failed + unrun === 0 ? own.length : 0);
  for (const p of own) problems.push(`${s.file} › ${s.title}: ${p}`);
  for (const k of s.skipped) skips.set(k.reason, [...(skips.get(k.reason) ?? []), `${s.file} › ${s.title} › ${k.name}`]);
}
if (passed + failures === 0) {
  problems.push('no test ran');
  failures = 1;
}

// The slowest suites and the time per folder, so that a run that grows past its budget says where the time went.
let previous = 0;
const timed = book.suites
  .filter((s) => s.ended !== undefined)
  .map((s) => {
    const ms = s.ended! - previous;
    previous = s.ended!;
    return { file: s.file, name: `${s.file} › ${s.title}`, ms };
  });
const seconds = (ms: number) => `${(ms / 1000).toFixed(1).padStart(6)} s`;
if (timed.length) {
  const folders = new Map<string, number>();
  for (const t of timed) folders.set(dirname(t.file), (folders.get(dirname(t.file)) ?? 0) + t.ms);
  const slowest = [...timed].sort((a, b) => b.ms - a.ms).slice(0, Number(process.env.TEST_SLOWEST ?? 15));
  console.log(`\nslowest suites:\n${slowest.map((t) => `  ${seconds(t.ms)}  ${t.name}`).join('\n')}`);
  console.log(`by folder:\n${[...folders].sort((a, b) => b[1] - a[1]).map(([f, ms]) => `  ${seconds(ms)}  ${f}`).join('\n')}`);
}

if (skips.size) {
  console.log('\nskipped, by reason:');
  for (const [reason, tests] of skips) console.log(`  ${reason}: ${tests.length} test${tests.length === 1 ? '' : 's'}\n${tests.map((t) => `    ${t}`).join('\n')}`);
}
if (problems.length) {
  console.log('\nthe run fails:');
  for (const p of problems) console.log(`  ✘ ${p.split('\n').join('\n    ')}`);
}
console.log(`\n${passed} passed, ${failures} failed, ${skipped} skipped`);
finished = true;
process.exit(failures > 0 ? 1 : 0);
