// A failed read is an answer when the caller or the database is the cause, and a thrown bug otherwise.

import * as assert from 'uvu/assert';
import { suite } from '../helpers/suite.js';
import { readFailure } from '../../src/engine/read-failure.js';
import { BadCursorError } from '../../src/read/cursor.js';

const it = suite('readFailure');

it('a cursor the read side cannot decode is BAD_CURSOR with its message', () => {
  assert.equal(readFailure(new BadCursorError('cursor is not valid')), { ok: false, error: 'BAD_CURSOR', message: 'cursor is not valid' });
});

it('a lost connection, also wrapped, is DATABASE_UNAVAILABLE without the driver detail', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  for (const error of [refused, new Error('query failed', { cause: refused })]) {
    const answer = readFailure(error);
    assert.is(answer.error, 'DATABASE_UNAVAILABLE');
    assert.not.match(answer.message, /5432|ECONNREFUSED/);
  }
});

it('anything else is thrown on, so that a bug answers 500 and is logged', () => {
  const bug = new TypeError('x is undefined');
  assert.throws(() => readFailure(bug), (error: unknown) => error === bug);
});

it.run();
