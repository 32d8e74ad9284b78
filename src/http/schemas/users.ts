// User request and response schemas.

import { Type } from 'typebox';
import { Amount, Name, NonNegative, PageQuery, QueryText } from './common.js';

export const User = Type.Object({ id: Type.String(), name: Type.String(), points: Type.Integer() }, { title: 'User', description: 'a user and their points balance' });
export const CreateUserBody = Type.Object({ name: Name, points: Type.Optional(NonNegative(1_000_000_000_000)) }, { additionalProperties: false, title: 'NewUser' });
export const ChargeBody = Type.Object({ amount: Amount }, { additionalProperties: false, title: 'Charge' });
export const PointsAnswer = Type.Object({ id: Type.String(), points: Type.Integer() }, { title: 'Points', description: "the user's balance after the charge" });
export const UserListQuery = Type.Object({ ...PageQuery, name: Type.Optional(QueryText) }, { additionalProperties: false });
