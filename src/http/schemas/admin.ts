// Schemas of the admin API's live actors: the kinds it inspects, one actor's address, the list and a passivation.

import { Type } from 'typebox';
import { Id } from './common.js';

const Kind = Type.Union([Type.Literal('user'), Type.Literal('product'), Type.Literal('order')]);

export const ActorParams = Type.Object({ kind: Kind, id: Id });

export const ActorListQuery = Type.Object(
  { offset: Type.Integer({ minimum: 0, default: 0 }), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }), kind: Type.Optional(Kind) },
  { additionalProperties: false },
);

export const ActorList = Type.Object({
  items: Type.Array(
    Type.Object({ kind: Type.String(), id: Type.String(), mailboxDepth: Type.Integer(), sequenceNr: Type.Integer(), lastActivity: Type.Integer() }),
  ),
  total: Type.Integer(),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

export const Passivated = Type.Object({ kind: Type.String(), id: Type.String(), passivated: Type.Boolean() });
