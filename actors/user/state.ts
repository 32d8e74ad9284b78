// UserActor state: absent until created, then a name and a points balance that never goes negative.

export type UserState =
  | { readonly status: 'NONE'; readonly id: string }
  | {
      readonly status: 'ACTIVE';
      readonly id: string;
      readonly name: string;
      readonly points: number;
      readonly createdAt: number;
      readonly updatedAt: number;
    };

export const initialUser = (id: string): UserState => ({ status: 'NONE', id });
