// Runs every test/**/*.test.ts with uvu in one process and ends with an "N passed, N failed" line.

import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { run } from 'uvu/run';

const root = resolve(import.meta.dirname);
const only = process.argv.slice(2);

function find(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return name === 'helpers' ? [] : find(path);
      return name.endsWith('.test.ts') ? [path] : [];
    });
}

const files = find(root).filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
let output = '';
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
  output += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
  if (output.length > 10_000) output = output.slice(-5_000);
  return write(chunk, ...rest);
}) as typeof process.stdout.write;

await run(files.map((file) => ({ name: relative(root, file), file })));

process.stdout.write = write;
// uvu prints colours; strip them to read its totals.
const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0);
console.log(`${passed} passed, ${total - passed} failed`);
if (total === 0) process.exitCode = 1;
process.exit(process.exitCode ?? 0);
