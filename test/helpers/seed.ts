// The seed of a randomized test: TEST_SEED replays a run, else a fresh one; printed either way so that a failure can be replayed.

export function testSeed(what: string): number {
  const given = process.env.TEST_SEED;
  const seed = given ? Number(given) >>> 0 : Math.floor(Math.random() * 2 ** 31);
  console.log(`  ${what}: seed ${seed} (TEST_SEED=${seed} replays it)`);
  return seed;
}
