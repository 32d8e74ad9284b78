// What waking an actor costs with few and with many actors live: the engine's nact actors against a bare mailbox on setImmediate.
//
//   npx tsx bench/actor-wakes.ts [--live 256,100000] [--wakes 400000] [--rounds 2]
//
// Each round sends one message to every live actor (in a scattered order, as requests arrive for
// many orders) and waits until all have run, so every message is a wake of its own, as in the
// engine, where an actor is woken once and then takes what its mailbox holds. Both sides run in
// the same process, alternated, and print µs of CPU per wake. Under `hot-product` about 100,000
// actors are live (the orders created ahead, the users) and a payment takes four wakes.

import { parseArgs } from 'node:util';
import { dispatch, spawnActor, startSystem, stopActor, type ActorRef } from '../src/engine/nact.js';

const { values: args } = parseArgs({
  options: {
    live: { type: 'string', default: '256,100000' },
    wakes: { type: 'string', default: '400000' },
    rounds: { type: 'string', default: '2' },
  },
});

/** The least an actor needs: a queue, and one setImmediate per wake. */
class BareActor {
  private readonly queue: number[] = [];
  private scheduled = false;
  constructor(private readonly handle: (message: number) => void) {}

  dispatch(message: number): void {
    this.queue.push(message);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      for (let m = this.queue.shift(); m !== undefined; m = this.queue.shift()) this.handle(m);
      this.scheduled = false;
    });
  }
}

async function wakes(kind: 'nact' | 'bare', live: number, total: number): Promise<number> {
  let got = 0;
  let done: () => void = () => undefined;
  const handle = () => {
    if (++got === live) done();
  };
  const system = kind === 'nact' ? startSystem() : undefined;
  const actors: Array<ActorRef<number> | BareActor> = [];
  for (let i = 0; i < live; i++) actors.push(system ? spawnActor<number>(system, `a${i}`, handle) : new BareActor(handle));
  // A stride prime to `live` visits every actor once per round, in a scattered order.
  const stride = 7919 % live === 0 ? 7907 : 7919;
  const before = process.cpuUsage();
  for (let round = 0; round < Math.ceil(total / live); round++) {
    got = 0;
    const all = new Promise<void>((resolve) => (done = resolve));
    for (let i = 0; i < live; i++) {
      const actor = actors[(i * stride) % live]!;
      if (actor instanceof BareActor) actor.dispatch(i);
      else dispatch(actor, i);
    }
    await all;
  }
  const used = process.cpuUsage(before);
  const sent = Math.ceil(total / live) * live;
  if (system) {
    for (const actor of actors) if (!(actor instanceof BareActor)) stopActor(actor);
    system.stop();
  }
  return (used.user + used.system) / sent;
}

const counts = args.live.split(',').map(Number);
console.log('live actors   nact µs/wake   bare µs/wake   nact ÷ bare');
for (let round = 0; round < Number(args.rounds); round++) {
  for (const live of counts) {
    const nact = await wakes('nact', live, Number(args.wakes));
    const bare = await wakes('bare', live, Number(args.wakes));
    console.log(`${String(live).padStart(11)}   ${nact.toFixed(2).padStart(12)}   ${bare.toFixed(2).padStart(12)}   ${(nact / bare).toFixed(1).padStart(11)}`);
  }
}
