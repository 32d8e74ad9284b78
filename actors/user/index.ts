// UserActor: points balance, the order debits and refunds applied to it, and the coupons it holds.

import type { EntityModule } from '../shared/entity.js';
import { decideUser } from './decide.js';
import { evolveUser } from './evolve.js';
import type { ClaimStep, UserCommand, UserEvent, UserView } from './protocol.js';
import { initialUser, type HeldCoupon, type UserState } from './state.js';

export type { ClaimStep, UserCommand, UserEvent, UserView } from './protocol.js';
export type { HeldCoupon, UserState } from './state.js';

const volatile = new Set<UserEvent['type']>(['ClaimAsked', 'ClaimStalled']);

const atRest = (held: HeldCoupon): HeldCoupon => (held.status === 'CLAIMING' ? { ...held, asking: false } : held);

export const userModule: EntityModule<UserState, UserCommand, UserEvent, UserView, ClaimStep> = {
  kind: 'user',
  initial: initialUser,
  decide: decideUser,
  evolve: evolveUser,
  isDurable: (event) => !volatile.has(event.type),
  refOf: (event) => ('ref' in event ? event.ref : undefined),
  exists: (state) => state.status === 'ACTIVE',
  view: (state) => (state.status === 'ACTIVE' ? { id: state.id, name: state.name, points: state.points } : { id: state.id, name: '', points: 0 }),
  snapshot: (state) => {
    if (state.status !== 'ACTIVE') return state;
    const claiming = Object.entries(state.coupons).filter(([, held]) => held.status === 'CLAIMING');
    if (claiming.length === 0) return state;
    return { ...state, coupons: { ...state.coupons, ...Object.fromEntries(claiming.map(([id, held]) => [id, atRest(held)])) } };
  },
  // Users snapshotted before coupons existed hold none.
  restore: (state) => (state.status === 'ACTIVE' && state.coupons === undefined ? { ...state, coupons: {} } : state),
  onRecovered: (state) =>
    state.status === 'ACTIVE' && Object.values(state.coupons).some((held) => held.status === 'CLAIMING') ? { type: 'ResumeClaims' } : undefined,
  replied: (step, result) => ({ type: 'ClaimReplied', step, result }),
};
