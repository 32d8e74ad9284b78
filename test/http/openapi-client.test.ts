// The OpenAPI document is good enough to generate a client from: openapi-typescript makes its types, a small openapi-fetch client typechecks against them and runs against the engine.

import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import * as assert from 'uvu/assert';
import { databaseKinds } from '../helpers/databases.js';
import { appSuite } from '../helpers/engine.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [pglite] = databaseKinds();
const it = appSuite(pglite!, 'a client generated from the OpenAPI document');

/** A client as a user would write it over the generated types; the @ts-expect-error lines prove the types are strict. */
const CLIENT = `
import createClient from 'openapi-fetch';
import type { components, paths } from './api.js';

type User = components['schemas']['User'];
type Problem = components['schemas']['Problem'];

export async function run(baseUrl: string) {
  const client = createClient<paths>({ baseUrl });
  const created = await client.POST('/users', { body: { name: 'generated', points: 10 }, params: { header: { 'idempotency-key': 'generated-1' } } });
  if (!created.data) throw new Error('no user created');
  const user: User = created.data;
  const location = created.response.headers.get('location');
  const charged = await client.POST('/users/{id}/points/charge', { params: { path: { id: user.id } }, body: { amount: 5 } });
  const points: number | undefined = charged.data?.points;
  const missing = await client.GET('/users/{id}', { params: { path: { id: 'nobody' } } });
  const problem: Problem | undefined = missing.error;
  const page = await client.GET('/users', { params: { query: { name: 'generated', limit: 5 } } });
  const names: string[] = page.data?.items.map((u) => u.name) ?? [];
  return { user, location, points, missingStatus: missing.response.status, code: problem?.error, names };
}

/** Never called: only typechecked. */
export function mistakes(client: ReturnType<typeof createClient<paths>>) {
  // @ts-expect-error: a field the body does not have
  void client.POST('/users', { body: { nam: 'typo' } });
  // @ts-expect-error: a path the engine does not have
  void client.GET('/userz');
}
`;

it('openapi-typescript generates types, a client typechecks against them, and its calls reach the engine', async ({ t }) => {
  const document = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
  const ops = Object.values(document.paths as Record<string, Record<string, { operationId?: string }>>).flatMap((item) => Object.values(item));
  assert.ok(ops.length > 30);
  assert.equal(ops.filter((op) => !op.operationId), []);
  for (const name of ['User', 'Product', 'Order', 'Coupon', 'Problem', 'UserPage', 'OrderPage']) assert.ok(document.components.schemas[name], name);

  // Beside the sources, so that the client resolves openapi-fetch from the project's node_modules.
  const dir = join(root, 'scratch', `openapi-client-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    writeFileSync(join(dir, 'api.ts'), astToString(await openapiTS(document)));
    writeFileSync(join(dir, 'client.ts'), CLIENT);
    const compilerOptions = { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: [] };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['client.ts'] }));
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const checked = await promisify(execFile)(process.execPath, [tsc, '-p', dir]).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    assert.is(checked, '', 'the client typechecks against the generated types');

    const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const client = (await import(pathToFileURL(join(dir, 'client.ts')).href)) as { run(baseUrl: string): Promise<Record<string, unknown>> };
    const outcome = await client.run(address);
    const user = outcome.user as { id: string; name: string; points: number };
    assert.equal(user.name, 'generated');
    assert.is(outcome.location, `/users/${user.id}`);
    assert.is(outcome.points, 15);
    assert.is(outcome.missingStatus, 404);
    assert.is(outcome.code, 'NOT_FOUND');
    assert.equal(outcome.names, ['generated']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it.run();
