// ProductActor state: absent until created, then a price and a stock that never goes negative.

export type ProductState =
  | { readonly status: 'NONE'; readonly id: string }
  | {
      readonly status: 'ACTIVE';
      readonly id: string;
      readonly name: string;
      readonly price: number;
      readonly stock: number;
      readonly createdAt: number;
      readonly updatedAt: number;
    };

export const initialProduct = (id: string): ProductState => ({ status: 'NONE', id });
