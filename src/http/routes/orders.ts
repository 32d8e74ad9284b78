// /orders: create, read, list by ids or by status, pay and cancel (the sagas).

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { OrderView } from '../../../actors/order/index.js';
import { accept } from '../../../actors/shared/result.js';
import type { Engine } from '../../engine/engine.js';
import type { PastViews } from '../../engine/past-views.js';
import { sendError, sendResult } from '../errors.js';
import { IdempotencyHeaders, IdParams, errors, pageOf } from '../schemas/common.js';
import { CreateOrderBody, Order, OrderListQuery } from '../schemas/orders.js';

const MAX_IDS = 100;
const ID = /^[A-Za-z0-9_-]{1,64}$/;

export const orderRoutes =
  (engine: Engine, past: PastViews): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/orders',
      {
        schema: {
          tags: ['orders'], operationId: 'createOrder',
          summary: 'Create an order; unit prices are captured now. Honours Idempotency-Key',
          headers: IdempotencyHeaders,
          body: CreateOrderBody,
          response: { 201: Order, ...errors(400, 404, 409, 422, 503) },
        },
      },
      async (request, reply) =>
        reply.answerOnce<OrderView>({ okStatus: 201, location: (o) => `/orders/${o.id}` }, async (run) => {
          const made = run.takeover ? await past.afterCreate('order', engine.orderIdFor(request.body.userId, run.id)) : undefined;
          return made ? accept(made) : engine.createOrder(request.body, run.id);
        }),
    );

    app.get(
      '/orders',
      {
        schema: {
          tags: ['orders'], operationId: 'listOrders',
          summary: 'Orders by a list of ids (ids=a,b,…, at most 100), or by status within the last N days, newest first',
          querystring: OrderListQuery,
          response: { 200: pageOf(Order), ...errors(400) },
        },
      },
      async (request, reply) => {
        const { ids, status, days, cursor, limit } = request.query;
        if (ids !== undefined) {
          const list = ids.split(',').filter((s) => s.length > 0);
          if (list.length > MAX_IDS) return sendError(reply, 'BAD_REQUEST', `at most ${MAX_IDS} ids, got ${list.length}`);
          const bad = list.find((id) => !ID.test(id));
          if (bad !== undefined) return sendError(reply, 'BAD_REQUEST', `not an order id: ${bad.slice(0, 80)}`);
          return sendResult(reply, await engine.ordersByIds([...new Set(list)]));
        }
        if (status === undefined) return sendError(reply, 'BAD_REQUEST', 'give ids=… or status=… (with days=…)');
        return sendResult(reply, await engine.ordersByStatus({ status, days: days ?? 7, limit, ...(cursor !== undefined ? { cursor } : {}) }));
      },
    );

    app.get(
      '/orders/:id',
      { schema: { tags: ['orders'], operationId: 'getOrder', summary: 'Read an order', params: IdParams, response: { 200: Order, ...errors(400, 404, 503) } } },
      async (request, reply) => sendResult(reply, await engine.getOrder(request.params.id)),
    );

    app.post(
      '/orders/:id/pay',
      {
        schema: {
          tags: ['orders'], operationId: 'payOrder',
          summary: 'Pay: reserve stock, deduct points, mark paid; 409 with the reason when it cannot. Honours Idempotency-Key',
          params: IdParams,
          headers: IdempotencyHeaders,
          response: { 200: Order, ...errors(400, 404, 409, 422, 503) },
        },
      },
      async (request, reply) => reply.answerOnce({ okStatus: 200 }, () => engine.payOrder(request.params.id)),
    );

    app.post(
      '/orders/:id/cancel',
      {
        schema: {
          tags: ['orders'], operationId: 'cancelOrder',
          summary: 'Cancel: a paid order is refunded and restocked, an unpaid one closes. Honours Idempotency-Key',
          params: IdParams,
          headers: IdempotencyHeaders,
          response: { 200: Order, ...errors(400, 404, 409, 422, 503) },
        },
      },
      async (request, reply) => reply.answerOnce({ okStatus: 200 }, () => engine.cancelOrder(request.params.id)),
    );
  };
