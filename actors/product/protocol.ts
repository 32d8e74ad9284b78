// ProductActor messages: commands in the imperative, events in the past tense.

export type ProductCommand =
  | { readonly type: 'CreateProduct'; readonly name: string; readonly price: number; readonly stock: number }
  | { readonly type: 'Restock'; readonly ref: string; readonly quantity: number; readonly keyed: boolean }
  | { readonly type: 'ReserveStock'; readonly ref: string; readonly quantity: number; readonly resumed: boolean }
  | { readonly type: 'ReleaseStock'; readonly ref: string; readonly quantity: number };

export type ProductEvent =
  | { readonly type: 'ProductCreated'; readonly id: string; readonly name: string; readonly price: number; readonly stock: number; readonly at: number }
  | { readonly type: 'Restocked'; readonly ref: string; readonly quantity: number; readonly at: number }
  | { readonly type: 'StockReserved'; readonly ref: string; readonly quantity: number; readonly at: number }
  | { readonly type: 'StockReleased'; readonly ref: string; readonly quantity: number; readonly at: number };

export interface ProductView {
  readonly id: string;
  readonly name: string;
  readonly price: number;
  readonly stock: number;
}
