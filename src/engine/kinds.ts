// The actor kinds this engine hosts, in one place: each kind's domain module, read-model projection and outbox messages, and the types derived from them.

import { couponModule } from '../../actors/coupon/index.js';
import { orderModule } from '../../actors/order/index.js';
import { productModule } from '../../actors/product/index.js';
import type { ActorKind, EntityModule } from '../../actors/shared/entity.js';
import { userModule } from '../../actors/user/index.js';
import { orderMessages, productMessages, userMessages } from '../outbox/outbox-messages.js';
import { couponRow, orderRow, orderSales, productRow, userRow } from '../read/projections.js';
import type { Hosted } from './entity.js';

/** What the runtime hosts for each kind; a new kind is one line here and a module in `actors/`. */
export const hostedKinds = {
  user: { module: userModule, project: userRow, outbox: userMessages },
  product: { module: productModule, project: productRow, outbox: productMessages },
  order: { module: orderModule, project: orderRow, sales: orderSales, outbox: orderMessages },
  coupon: { module: couponModule, project: couponRow },
} as const satisfies Record<ActorKind, Hosted>;

/** Every kind, in the order the admin lists them. */
export const actorKinds = Object.keys(hostedKinds) as readonly ActorKind[];

type ModuleOf<K extends ActorKind> = (typeof hostedKinds)[K]['module'];

/** The commands an actor of kind `K` takes, from its module. */
export type CommandOf<K extends ActorKind> = ModuleOf<K> extends EntityModule<any, infer C, any, any, any> ? C : never;

/** The view an actor of kind `K` answers, from its module. */
export type ViewOf<K extends ActorKind> = ModuleOf<K> extends EntityModule<any, any, any, infer V, any> ? V : never;

/** An address whose kind is known to the type checker, so a command and its answer keep their types. */
export interface AddressOf<K extends ActorKind> {
  readonly kind: K;
  readonly id: string;
}
