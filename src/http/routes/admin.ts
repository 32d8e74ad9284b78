// /admin: live actors, one actor's state as it holds it, passivate, snapshot now, the outbox's dead letters; bearer token.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Engine } from '../../engine/engine.js';
import { sendError, sendResult } from '../errors.js';
import { ActorList, ActorListQuery, ActorParams, Passivated } from '../schemas/admin.js';
import { errors } from '../schemas/common.js';
import { DeadLetter, DeadLetterPage, DeadLetterParams, DeadLetterQuery } from '../schemas/dead-letters.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

export const adminRoutes =
  (engine: Engine, token: string | undefined): FastifyPluginAsyncTypebox =>
  async (app) => {
    const expected = token ? digest(token) : undefined;
    app.addHook('onRequest', async (request, reply) => {
      if (!expected) return sendError(reply, 'ADMIN_DISABLED', 'the admin API is off: set ADMIN_TOKEN to turn it on');
      const header = request.headers.authorization ?? '';
      const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
      // Hashing first gives equal lengths, so the comparison takes the same time for any token.
      if (!given || !timingSafeEqual(digest(given), expected)) return sendError(reply, 'UNAUTHORIZED', 'a valid bearer token is required');
      return undefined;
    });

    app.get(
      '/admin/actors',
      {
        schema: {
          tags: ['admin'],
          summary: 'Live actors, least recently used first',
          security: [{ bearer: [] }],
          querystring: ActorListQuery,
          response: { 200: ActorList, ...errors(401, 403) },
        },
      },
      async (request) => {
        const { offset, limit, kind } = request.query;
        const all = engine.liveActors().filter((a) => kind === undefined || a.kind === kind);
        const items = all.slice(offset, offset + limit);
        return { items, total: all.length, nextCursor: offset + limit < all.length ? String(offset + limit) : null };
      },
    );

    app.get(
      '/admin/actors/:kind/:id',
      { schema: { tags: ['admin'], summary: "One actor's committed and pending state, asked through its mailbox", security: [{ bearer: [] }], params: ActorParams, response: errors(401, 403, 404, 503) } },
      async (request, reply) => sendResult(reply, await engine.inspect(request.params.kind, request.params.id)),
    );

    app.post(
      '/admin/actors/:kind/:id/passivate',
      { schema: { tags: ['admin'], summary: 'Passivate one idle actor', security: [{ bearer: [] }], params: ActorParams, response: { 200: Passivated, ...errors(401, 403, 409) } } },
      async (request, reply) => {
        const { kind, id } = request.params;
        if (engine.passivate(kind, id)) return { kind, id, passivated: true };
        return sendError(reply, 'ACTOR_BUSY', `${kind} ${id} is not live, or has work in progress`);
      },
    );

    app.post(
      '/admin/actors/:kind/:id/snapshot',
      { schema: { tags: ['admin'], summary: "Write the actor's snapshot now", security: [{ bearer: [] }], params: ActorParams, response: errors(401, 403, 404, 503) } },
      async (request, reply) => sendResult(reply, await engine.snapshot(request.params.kind, request.params.id)),
    );

    app.get(
      '/admin/dead-letters',
      {
        schema: {
          tags: ['admin'],
          summary: 'Outbox events the relay gave up on, oldest first, with their last error',
          security: [{ bearer: [] }],
          querystring: DeadLetterQuery,
          response: { 200: DeadLetterPage, ...errors(401, 403) },
        },
      },
      async (request, reply) => sendResult(reply, await engine.deadLetters(request.query)),
    );

    app.post(
      '/admin/dead-letters/:id/retry',
      {
        schema: {
          tags: ['admin'],
          summary: 'Send one dead letter again (one attempt); it leaves the dead letters once its sink has it',
          security: [{ bearer: [] }],
          params: DeadLetterParams,
          response: { 200: DeadLetter, ...errors(401, 403, 404, 409, 502) },
        },
      },
      async (request, reply) => {
        const outcome = await engine.retryDeadLetter(request.params.id);
        return outcome.ok ? outcome.value : sendError(reply, outcome.error, outcome.message);
      },
    );
  };
