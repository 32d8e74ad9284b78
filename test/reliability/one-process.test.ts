// Without a cluster one engine process serves a database: a second one on it refuses to start, naming the holder, and starts once the first is gone.

import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { engineArgs, http, startEngineProcess, type EngineProcess } from '../helpers/child.js';
import { databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { privateNats } from '../helpers/nats.js';
import { suite } from '../helpers/suite.js';

const root = resolve(import.meta.dirname, '../..');

/** Runs `npm start`'s entry point until it exits on its own, answering its exit code and what it printed. */
function runToExit(databaseUrl: string, env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, engineArgs(), {
      cwd: root,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    // A second engine that does start would serve until killed: the test's own deadline ends it.
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(guard);
      done({ code, stderr });
    });
  });
}

for (const kind of databaseKinds().filter((k) => k.name !== 'pglite')) {
  const it = suite<{ db: TestDatabase; first?: EngineProcess; second?: EngineProcess }>(`one process per database on ${kind.name}`, { needs: kind.needs });
  it.before(async (ctx) => {
    ctx.db = await kind.create();
  });
  it.after(async (ctx) => {
    await ctx.first?.kill().catch(() => undefined);
    await ctx.second?.kill().catch(() => undefined);
    await ctx.db?.drop();
  });

  it('a second process refuses to start with one line naming the holder; after the first stops, it starts', async (ctx) => {
    const first = (ctx.first = await startEngineProcess(ctx.db.url));
    const user = (await http(first.url, 'POST', '/users', { name: 'ada', points: 5 })).body;

    const refused = await runToExit(ctx.db.url);
    assert.is(refused.code, 1, refused.stderr);
    const lines = refused.stderr.trim().split('\n');
    assert.is(lines.length, 1, `one line: ${refused.stderr}`);
    assert.match(lines[0]!, /^order-engine: another engine process serves this database \(.+ pid \d+ since /);
    assert.match(lines[0]!, new RegExp(`pid ${first.child.pid} `), 'the line names the holder’s pid');
    // The refused process changed nothing: the first one goes on serving.
    assert.is((await http(first.url, 'GET', `/users/${user.id}`)).body.points, 5);

    assert.is(await first.stop(), 0);
    ctx.first = undefined;
    const second = (ctx.second = await startEngineProcess(ctx.db.url));
    assert.is((await http(second.url, 'GET', `/users/${user.id}`)).body.points, 5);
  });

  it('a process that dies frees the database at once', async (ctx) => {
    await ctx.second?.kill();
    ctx.second = undefined;
    const next = (ctx.second = await startEngineProcess(ctx.db.url));
    assert.is((await http(next.url, 'GET', '/health/ready')).status, 200);
  });

  it.run();
}

// A cluster's members hold the lock together: PostgreSQL's advisory lock in its shared mode, on MySQL and MariaDB a named lock each.
for (const kind of databaseKinds().filter((k) => k.name !== 'pglite')) {
  const both = suite<{ db: TestDatabase; engine?: EngineProcess }>(`a process alone and a cluster never share a database on ${kind.name}`, { needs: [...kind.needs, 'nats-server'] });
  both.after(async (ctx) => {
    await ctx.engine?.kill().catch(() => undefined);
    await ctx.db?.drop();
  });

  both('a cluster member refuses to start beside a process alone, and a process alone beside a cluster member', async (ctx) => {
    ctx.db = await kind.create();
    const nats = await privateNats();
    try {
      const member = { CLUSTER_NATS_URL: nats.url, CLUSTER_NAME: 'apart', CLUSTER_SHARDS: '8', NODE_NAME: 'm1' };
      ctx.engine = await startEngineProcess(ctx.db.url);
      const refusedMember = await runToExit(ctx.db.url, member);
      assert.is(refusedMember.code, 1, refusedMember.stderr);
      assert.is(refusedMember.stderr.trim().split('\n').length, 1, `one line: ${refusedMember.stderr}`);
      assert.match(refusedMember.stderr, new RegExp(`^order-engine: a single engine process serves this database \\(.+ pid ${ctx.engine.child.pid} since .+\\): a cluster member cannot join it`));
      assert.is(await ctx.engine.stop(), 0);

      ctx.engine = await startEngineProcess(ctx.db.url, member);
      const refusedAlone = await runToExit(ctx.db.url);
      assert.is(refusedAlone.code, 1, refusedAlone.stderr);
      assert.is(refusedAlone.stderr.trim().split('\n').length, 1, `one line: ${refusedAlone.stderr}`);
      assert.match(refusedAlone.stderr, new RegExp(`^order-engine: another engine process serves this database \\(cluster member m1, .+ pid ${ctx.engine.child.pid} since `));
      // A second member joins beside the first.
      const second = await startEngineProcess(ctx.db.url, { ...member, NODE_NAME: 'm2' });
      assert.is((await http(second.url, 'GET', '/health/ready')).status, 200);
      await second.kill();
    } finally {
      await nats.dispose();
    }
  });

  both.run();
}
