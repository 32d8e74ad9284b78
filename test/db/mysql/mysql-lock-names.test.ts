// The GET_LOCK names of a database's one-writer lock fit MySQL's limit and keep databases apart.

import * as assert from 'uvu/assert';
import { MAX_LOCK_NAME, MEMBER_LOCKS, mysqlLockNames } from '../../../src/db/mysql/mysql-lock-names.js';
import { suite } from '../../helpers/suite.js';

const it = suite('mysqlLockNames');

const all = (database: string) => {
  const names = mysqlLockNames(database);
  return [names.gate, names.alone, ...names.members];
};

it('a process alone holds the name earlier versions held', () => {
  assert.is(mysqlLockNames('orders').alone, 'order-engine:orders');
});

it('every name is distinct, one per member', () => {
  const names = all('orders');
  assert.is(mysqlLockNames('orders').members.length, MEMBER_LOCKS);
  assert.is(new Set(names).size, names.length);
});

it('the names of a database with the longest name MySQL allows fit its limit on lock names', () => {
  for (const database of ['x'.repeat(46), 'x'.repeat(47), 'y'.repeat(64), 'é'.repeat(64)]) {
    for (const name of all(database)) assert.ok([...name].length <= MAX_LOCK_NAME, `${name} is ${[...name].length} characters`);
  }
});

it('two databases never share a name, long or short', () => {
  const long = 'z'.repeat(60);
  for (const [a, b] of [['orders', 'orders2'], [`${long}1`, `${long}2`], ['x'.repeat(46), 'x'.repeat(47)]] as const) {
    const theirs = new Set(all(b!));
    assert.ok(all(a!).every((name) => !theirs.has(name)), `${a} and ${b}`);
  }
});

it.run();
