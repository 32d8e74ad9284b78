// UserActor: points balance and the order debits and refunds applied to it.

import type { EntityModule } from '../shared/entity.js';
import { decideUser } from './decide.js';
import { evolveUser } from './evolve.js';
import type { UserCommand, UserEvent, UserView } from './protocol.js';
import { initialUser, type UserState } from './state.js';

export type { UserCommand, UserEvent, UserView } from './protocol.js';
export type { UserState } from './state.js';

export const userModule: EntityModule<UserState, UserCommand, UserEvent, UserView> = {
  kind: 'user',
  initial: initialUser,
  decide: decideUser,
  evolve: evolveUser,
  isDurable: () => true,
  refOf: (event) => ('ref' in event ? event.ref : undefined),
  exists: (state) => state.status === 'ACTIVE',
  view: (state) => (state.status === 'ACTIVE' ? { id: state.id, name: state.name, points: state.points } : { id: state.id, name: '', points: 0 }),
  snapshot: (state) => state,
};
