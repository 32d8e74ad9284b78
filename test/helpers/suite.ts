// Every suite is made here: uvu 0.5 swallows an error thrown in a hook, so the run keeps its own ledger of what each suite registered, ran, skipped and broke.

import { suite as uvuSuite, type Callback } from 'uvu';
import { missingFor, strict, type Need } from './matrix.js';

export interface SuiteRecord {
  readonly file: string;
  readonly title: string;
  readonly registered: string[];
  readonly skipped: { name: string; reason: string }[];
  /** What broke outside a test body: a thrown hook, a suite never run. */
  readonly problems: string[];
  passed: number;
  failed: number;
  ran: boolean;
  /** When its last after hook ended (performance.now()), if it ran. */
  ended?: number;
}

export interface Ledger {
  file: string;
  readonly suites: SuiteRecord[];
  /** Failures that belong to no suite: a file that did not load, an unhandled rejection. */
  readonly problems: string[];
}

const key = Symbol.for('order-engine.test-ledger');
const slot = globalThis as unknown as Record<symbol, Ledger | undefined>;

/** The one ledger of this process, shared by the runner and every test file. */
export function ledger(): Ledger {
  return (slot[key] ??= { file: '(no file)', suites: [], problems: [] });
}

export const describe = (error: unknown): string => (error instanceof Error ? (error.stack ?? error.message) : String(error));

export interface SuiteOptions {
  /** What the suite needs beyond PGlite and Node; when any is missing its tests are skipped with the reason (failed under CI=true). */
  readonly needs?: readonly Need[];
}

type Hook<T> = ((hook: Callback<T>) => void) & { each(hook: Callback<T>): void };

export interface Suite<T> {
  (name: string, test: Callback<T>): void;
  /** A test that cannot run here, counted as skipped with its reason. */
  skip(name: string, reason: string): void;
  before: Hook<T>;
  after: Hook<T>;
  run(): void;
}

/** Like uvu's `suite`, with hooks that cannot fail unseen and skips that say why. */
export function suite<T = Record<string, any>>(title: string, options: SuiteOptions = {}): Suite<T> {
  const book = ledger();
  const record: SuiteRecord = { file: book.file, title, registered: [], skipped: [], problems: [], passed: 0, failed: 0, ran: false };
  book.suites.push(record);
  const missing = options.needs ? missingFor(options.needs) : undefined;
  const inner = uvuSuite<T>(title);

  const guard = (where: string, hook: Callback<T>, rethrow: boolean): Callback<T> => async (ctx) => {
    try {
      await hook(ctx);
    } catch (error) {
      record.problems.push(`${where} threw: ${describe(error)}`);
      if (rethrow) throw error;
    }
  };
  const hook = (where: string, add: (h: Callback<T>) => void, rethrow: boolean) => (h: Callback<T>) => {
    if (!missing) add(guard(where, h, rethrow));
  };

  const it = ((name: string, test: Callback<T>) => {
    if (missing) {
      record.skipped.push({ name, reason: missing });
      return;
    }
    record.registered.push(name);
    inner(name, async (ctx) => {
      try {
        await test(ctx);
        record.passed++;
      } catch (error) {
        record.failed++;
        throw error;
      }
    });
  }) as Suite<T>;
  it.skip = (name, reason) => {
    record.skipped.push({ name, reason });
  };
  // A throwing `before` leaves the tests unrun, which the runner counts; an `after` must not stop the run.
  it.before = Object.assign(hook('before hook', inner.before, true), { each: hook('before.each hook', inner.before.each, true) });
  it.after = Object.assign(hook('after hook', inner.after, false), { each: hook('after.each hook', inner.after.each, true) });
  it.run = () => {
    record.ran = true;
    if (missing && strict) record.problems.push(`needs what CI provides, and it is missing: ${missing}`);
    if (missing) return;
    // Added last, so it runs after the suite's own after hooks: suites run one after another, so
    // a suite took from the previous one's end to its own.
    inner.after(() => {
      record.ended = performance.now();
    });
    inner.run();
  };
  return it;
}

/** What went wrong in a suite, including tests it registered and never ran. */
export function problemsOf(record: SuiteRecord): string[] {
  const problems = [...record.problems];
  if (!record.ran && (record.registered.length > 0 || record.skipped.length > 0)) problems.push('registered tests but .run() was never called');
  const unrun = record.registered.length - record.passed - record.failed;
  if (record.ran && unrun > 0) problems.push(`registered ${record.registered.length} tests and ran ${record.passed + record.failed}: ${unrun} never ran`);
  return problems;
}
