// /products: create, list or find by name, read, restock.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ProductView } from '../../../actors/product/index.js';
import { accept } from '../../../actors/shared/result.js';
import type { Engine } from '../../engine/engine.js';
import type { PastViews } from '../../engine/past-views.js';
import { sendResult } from '../errors.js';
import { IdempotencyHeaders, IdParams, errors, pageOf } from '../schemas/common.js';
import { CreateProductBody, PopularProduct, PopularQuery, Product, ProductListQuery, RestockBody, StockAnswer } from '../schemas/products.js';

export const productRoutes =
  (engine: Engine, past: PastViews): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/products',
      { schema: { tags: ['products'], operationId: 'createProduct', summary: 'Create a product; honours Idempotency-Key', headers: IdempotencyHeaders, body: CreateProductBody, response: { 201: Product, ...errors(400, 409, 422, 503) } } },
      async (request, reply) =>
        reply.answerOnce<ProductView>({ okStatus: 201, location: (p) => `/products/${p.id}` }, async (run) => {
          const made = run.takeover ? await past.afterCreate('product', run.id) : undefined;
          return made ? accept(made) : engine.createProduct(request.body, run.id);
        }),
    );

    app.get(
      '/products',
      {
        schema: { tags: ['products'], operationId: 'listProducts', summary: 'List products, or find them by exact name', querystring: ProductListQuery, response: { 200: pageOf(Product), ...errors(400) } },
      },
      async (request, reply) => sendResult(reply, await engine.listProducts(request.query)),
    );

    app.get(
      '/products/popular',
      {
        schema: {
          tags: ['products'], operationId: 'listPopularProducts',
          summary: 'Best sellers by units paid (less cancelled) over the last N days',
          querystring: PopularQuery,
          response: { 200: pageOf(PopularProduct), ...errors(400) },
        },
      },
      async (request, reply) => sendResult(reply, await engine.popularProducts(request.query)),
    );

    app.get(
      '/products/:id',
      { schema: { tags: ['products'], operationId: 'getProduct', summary: 'Read a product', params: IdParams, response: { 200: Product, ...errors(400, 404, 503) } } },
      async (request, reply) => sendResult(reply, await engine.getProduct(request.params.id)),
    );

    app.post(
      '/products/:id/restock',
      {
        schema: {
          tags: ['products'], operationId: 'restockProduct',
          summary: 'Add stock; honours Idempotency-Key',
          params: IdParams,
          headers: IdempotencyHeaders,
          body: RestockBody,
          response: { 200: StockAnswer, ...errors(400, 404, 409, 422, 503) },
        },
      },
      async (request, reply) =>
        reply.answerOnce<ProductView>({ okStatus: 200, shape: (p) => ({ id: p.id, stock: p.stock }) }, async (run) => {
          const restocked = run.takeover ? await past.afterRef('product', request.params.id, `restock:${run.key}`) : undefined;
          return restocked ? accept(restocked) : engine.restock(request.params.id, request.body.quantity, run.key);
        }),
    );
  };
