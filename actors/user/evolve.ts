// UserActor state transitions: pure, one event at a time.

import { assertNever } from '../shared/result.js';
import type { UserEvent } from './protocol.js';
import type { UserState } from './state.js';

export function evolveUser(state: UserState, event: UserEvent): UserState {
  if (event.type === 'UserCreated') {
    return { status: 'ACTIVE', id: event.id, name: event.name, points: event.points, createdAt: event.at, updatedAt: event.at };
  }
  if (state.status !== 'ACTIVE') return state;
  switch (event.type) {
    case 'PointsCharged':
    case 'PointsRefunded':
      return { ...state, points: state.points + event.amount, updatedAt: event.at };
    case 'PointsDebited':
      return { ...state, points: state.points - event.amount, updatedAt: event.at };
    default:
      return assertNever(event);
  }
}
