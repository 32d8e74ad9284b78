// /users: create, list or find by name, read, charge points, a user's orders.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { accept } from '../../../actors/shared/result.js';
import type { UserView } from '../../../actors/user/index.js';
import type { Engine } from '../../engine/engine.js';
import type { PastViews } from '../../engine/past-views.js';
import { sendResult } from '../errors.js';
import { IdempotencyHeaders, IdParams, errors, pageOf } from '../schemas/common.js';
import { Order, PageOnlyQuery } from '../schemas/orders.js';
import { ChargeBody, CreateUserBody, PointsAnswer, User, UserListQuery } from '../schemas/users.js';

export const userRoutes =
  (engine: Engine, past: PastViews): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/users',
      { schema: { tags: ['users'], operationId: 'createUser', summary: 'Create a user; honours Idempotency-Key', headers: IdempotencyHeaders, body: CreateUserBody, response: { 201: User, ...errors(400, 409, 422, 503) } } },
      async (request, reply) =>
        reply.answerOnce<UserView>({ okStatus: 201, location: (u) => `/users/${u.id}` }, async (run) => {
          const made = run.takeover ? await past.afterCreate('user', run.id) : undefined;
          return made ? accept(made) : engine.createUser({ name: request.body.name, points: request.body.points ?? 0 }, run.id);
        }),
    );

    app.get(
      '/users',
      { schema: { tags: ['users'], operationId: 'listUsers', summary: 'List users, or find them by exact name', querystring: UserListQuery, response: { 200: pageOf(User), ...errors(400) } } },
      async (request, reply) => sendResult(reply, await engine.listUsers(request.query)),
    );

    app.get(
      '/users/:id',
      { schema: { tags: ['users'], operationId: 'getUser', summary: 'Read a user', params: IdParams, response: { 200: User, ...errors(400, 404, 503) } } },
      async (request, reply) => sendResult(reply, await engine.getUser(request.params.id)),
    );

    app.get(
      '/users/:id/orders',
      {
        schema: { tags: ['users'], operationId: 'listUserOrders', summary: "A user's orders, newest first", params: IdParams, querystring: PageOnlyQuery, response: { 200: pageOf(Order), ...errors(400) } },
      },
      async (request, reply) => sendResult(reply, await engine.userOrders({ userId: request.params.id, ...request.query })),
    );

    app.post(
      '/users/:id/points/charge',
      {
        schema: {
          tags: ['users'], operationId: 'chargePoints',
          summary: 'Add points; honours Idempotency-Key',
          params: IdParams,
          headers: IdempotencyHeaders,
          body: ChargeBody,
          response: { 200: PointsAnswer, ...errors(400, 404, 409, 422, 503) },
        },
      },
      async (request, reply) =>
        reply.answerOnce<UserView>({ okStatus: 200, shape: (u) => ({ id: u.id, points: u.points }) }, async (run) => {
          const charged = run.takeover ? await past.afterRef('user', request.params.id, `charge:${run.key}`) : undefined;
          return charged ? accept(charged) : engine.chargePoints(request.params.id, request.body.amount, run.key);
        }),
    );
  };
