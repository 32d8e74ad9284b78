// UserActor messages: commands in the imperative, events in the past tense.

export type UserCommand =
  | { readonly type: 'CreateUser'; readonly name: string; readonly points: number }
  | { readonly type: 'ChargePoints'; readonly ref: string; readonly amount: number; readonly keyed: boolean }
  | { readonly type: 'DebitPoints'; readonly ref: string; readonly amount: number; readonly resumed: boolean }
  | { readonly type: 'RefundPoints'; readonly ref: string; readonly amount: number };

export type UserEvent =
  | { readonly type: 'UserCreated'; readonly id: string; readonly name: string; readonly points: number; readonly at: number }
  | { readonly type: 'PointsCharged'; readonly ref: string; readonly amount: number; readonly at: number }
  | { readonly type: 'PointsDebited'; readonly ref: string; readonly amount: number; readonly at: number }
  | { readonly type: 'PointsRefunded'; readonly ref: string; readonly amount: number; readonly at: number };

export interface UserView {
  readonly id: string;
  readonly name: string;
  readonly points: number;
}
