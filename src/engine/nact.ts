// The one typed wrapper of nact: start a system, spawn a plain actor, dispatch a message to it, stop.

import nact from 'nact';

/** A live actor that takes messages of type M, one at a time. */
export interface ActorRef<M> {
  readonly __message?: M;
  readonly name: string;
}

export interface ActorSystem {
  readonly name: string;
  stop(): void;
}

interface Internal<M> extends ActorRef<M> {
  readonly ref: nact.Ref<M>;
}

interface SystemInternal extends ActorSystem {
  readonly ref: nact.ActorSystemRef;
}

let systems = 0;

export function startSystem(): ActorSystem {
  const name = `order-engine-${++systems}-${process.pid}`;
  const ref = nact.start(name);
  const system: SystemInternal = { name, ref, stop: () => nact.stop(ref) };
  return system;
}

/**
 * Spawns a plain nact actor whose mailbox hands `handle` one message at a time; the next waits
 * until the returned promise settles. `handle` must not throw: failures are the actor's to answer.
 */
export function spawnActor<M>(system: ActorSystem, name: string, handle: (message: M) => Promise<void> | void): ActorRef<M> {
  const parent = (system as SystemInternal).ref;
  const ref = nact.spawn(
    parent,
    // Not async: nact awaits what it returns, and a message handled at once allocates no promise here.
    (_state: undefined, message: M) => handle(message),
    name,
    { onCrash: (_msg, _err, ctx) => ctx.resume },
  );
  const actor: Internal<M> = { name, ref: ref as nact.Ref<M> };
  return actor;
}

export function dispatch<M>(actor: ActorRef<M>, message: M): void {
  nact.dispatch((actor as Internal<M>).ref, message);
}

export function stopActor(actor: ActorRef<unknown>): void {
  nact.stop((actor as Internal<unknown>).ref);
}
