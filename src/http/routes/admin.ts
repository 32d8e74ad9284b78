// /admin: live actors, one actor's state as it holds it, passivate, snapshot now, the outbox's dead letters, what the admin page reads and resumes; bearer token.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { accept } from '../../../actors/shared/result.js';
import type { Engine } from '../../engine/engine.js';
import type { Metrics } from '../../metrics.js';
import { adminOverview } from '../admin-overview.js';
import { sendError, sendResult } from '../errors.js';
import {
  ActorEventsParams,
  ActorEventsQuery,
  ActorList,
  ActorListQuery,
  ActorParams,
  ClaimsResumed,
  ClusterStatus,
  Inspection,
  JournalPage,
  OpenClaimPage,
  OrderResumed,
  OrderTimeline,
  Overview,
  Passivated,
  SnapshotTaken,
  StuckOrderPage,
  StuckQuery,
} from '../schemas/admin.js';
import { Id, IdParams, errors } from '../schemas/common.js';
import { DeadLetter, DeadLetterPage, DeadLetterParams, DeadLetterQuery } from '../schemas/dead-letters.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

export const adminRoutes =
  (engine: Engine, token: string | undefined, metrics: Metrics): FastifyPluginAsyncTypebox =>
  async (app) => {
    const expected = token ? digest(token) : undefined;
    app.addHook('onRequest', async (request, reply) => {
      if (!expected) return sendError(reply, 'ADMIN_DISABLED', 'the admin API is off: set ADMIN_TOKEN to turn it on');
      const header = request.headers.authorization ?? '';
      const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
      // Hashing first gives equal lengths, so the comparison takes the same time for any token.
      if (!given || !timingSafeEqual(digest(given), expected)) {
        // RFC 6750: the scheme to use, and (for a token that was sent) that it is not a valid one.
        reply.header('www-authenticate', given ? 'Bearer realm="admin", error="invalid_token"' : 'Bearer realm="admin"');
        return sendError(reply, 'UNAUTHORIZED', 'a valid bearer token is required');
      }
      return undefined;
    });

    app.get(
      '/admin/cluster',
      {
        schema: {
          tags: ['admin'], operationId: 'getClusterStatus',
          summary: 'The cluster: this process, the members with the shards each owns, and the shard → owner map; 404 when the engine runs alone',
          security: [{ bearer: [] }],
          response: { 200: ClusterStatus, ...errors(401, 403, 404) },
        },
      },
      async (_request, reply) => sendResult(reply, engine.clusterStatus()),
    );

    app.get(
      '/admin/actors',
      {
        schema: {
          tags: ['admin'], operationId: 'listLiveActors',
          summary: 'Live actors, least recently used first; pages by cursor (nextCursor of the page before)',
          security: [{ bearer: [] }],
          querystring: ActorListQuery,
          response: { 200: ActorList, ...errors(401, 403) },
        },
      },
      async (request) => {
        const { limit, kind } = request.query;
        const offset = request.query.cursor === undefined ? request.query.offset : Number(request.query.cursor);
        const all = engine.liveActors().filter((a) => kind === undefined || a.kind === kind);
        const items = all.slice(offset, offset + limit);
        return { items, total: all.length, nextCursor: offset + limit < all.length ? String(offset + limit) : null, node: engine.node };
      },
    );

    app.get(
      '/admin/actors/:kind/:id',
      { schema: { tags: ['admin'], operationId: 'inspectActor', summary: "One actor's committed and pending state, asked through its mailbox", security: [{ bearer: [] }], params: ActorParams, response: { 200: Inspection, ...errors(401, 403, 404, 503) } } },
      async (request, reply) => sendResult(reply, await engine.inspect(request.params.kind, request.params.id)),
    );

    app.post(
      '/admin/actors/:kind/:id/passivate',
      {
        schema: {
          tags: ['admin'], operationId: 'passivateActor',
          summary: 'Passivate one idle actor; passivated false when it is not live (nothing to do), 404 for an actor never created, 409 ACTOR_BUSY while it has work in progress',
          security: [{ bearer: [] }],
          params: ActorParams,
          response: { 200: Passivated, ...errors(401, 403, 404, 409) },
        },
      },
      async (request, reply) => {
        const { kind, id } = request.params;
        const outcome = await engine.passivate(kind, id);
        if (outcome.ok && outcome.value === 'busy') return sendError(reply, 'ACTOR_BUSY', `${kind} ${id} has work in progress; try again once it is idle`);
        return sendResult(reply, outcome.ok ? accept({ kind, id, passivated: outcome.value === 'passivated' }) : outcome);
      },
    );

    app.post(
      '/admin/actors/:kind/:id/snapshot',
      { schema: { tags: ['admin'], operationId: 'snapshotActor', summary: "Write the actor's snapshot now", security: [{ bearer: [] }], params: ActorParams, response: { 200: SnapshotTaken, ...errors(401, 403, 404, 503) } } },
      async (request, reply) => sendResult(reply, await engine.snapshot(request.params.kind, request.params.id)),
    );

    app.get(
      '/admin/dead-letters',
      {
        schema: {
          tags: ['admin'], operationId: 'listDeadLetters',
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
          tags: ['admin'], operationId: 'retryDeadLetter',
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

    // What the admin page reads and does beyond the routes above.

    app.get(
      '/admin/overview',
      { schema: { tags: ['admin'], operationId: 'getAdminOverview', summary: 'Live actors against the cap, the deepest mailboxes, journal, event loop, cache and outbox figures', security: [{ bearer: [] }], response: { 200: Overview, ...errors(401, 403) } } },
      async () => adminOverview(engine, metrics),
    );

    app.get(
      '/admin/actors/:kind/:id/events',
      {
        schema: {
          tags: ['admin'], operationId: 'listActorEvents',
          summary: "An actor's events from the journal, newest first, live or not",
          security: [{ bearer: [] }],
          params: ActorEventsParams,
          querystring: ActorEventsQuery,
          response: { 200: JournalPage, ...errors(400, 401, 403, 404) },
        },
      },
      async (request, reply) => sendResult(reply, await engine.actorEvents(request.params.kind, request.params.id, request.query)),
    );

    app.get(
      '/admin/orders/:id/timeline',
      {
        schema: {
          tags: ['admin'], operationId: 'getOrderTimeline',
          summary: "An order's saga as a timeline: each durable step on the order, its products and its user, with the batch that committed it",
          security: [{ bearer: [] }],
          params: IdParams,
          response: { 200: OrderTimeline, ...errors(400, 401, 403, 404) },
        },
      },
      async (request, reply) => sendResult(reply, await engine.orderTimeline(request.params.id)),
    );

    app.get(
      '/admin/stuck/orders',
      {
        schema: {
          tags: ['admin'], operationId: 'listStuckOrders',
          summary: 'Orders left PAYING or cancelling for longer than olderThanSeconds, oldest first',
          security: [{ bearer: [] }],
          querystring: StuckQuery,
          response: { 200: StuckOrderPage, ...errors(400, 401, 403, 503) },
        },
      },
      async (request, reply) => sendResult(reply, await engine.stuckOrders({ ...request.query, olderThanMs: request.query.olderThanSeconds * 1000 })),
    );

    app.get(
      '/admin/stuck/claims',
      {
        schema: {
          tags: ['admin'], operationId: 'listOpenClaims',
          summary: 'Coupon claims left open for longer than olderThanSeconds, oldest first',
          security: [{ bearer: [] }],
          querystring: StuckQuery,
          response: { 200: OpenClaimPage, ...errors(400, 401, 403, 503) },
        },
      },
      async (request, reply) => sendResult(reply, await engine.openClaims({ ...request.query, olderThanMs: request.query.olderThanSeconds * 1000 })),
    );

    app.post(
      '/admin/orders/:id/resume',
      {
        schema: {
          tags: ['admin'], operationId: 'resumeOrder',
          summary: "Resume an order's interrupted saga now, as the sweeper would; it finishes in the background",
          security: [{ bearer: [] }],
          params: IdParams,
          response: { 200: OrderResumed, ...errors(400, 401, 403, 404) },
        },
      },
      async (request, reply) => sendResult(reply, await engine.resumeOrder(request.params.id)),
    );

    app.post(
      '/admin/users/:id/resume-claims',
      {
        schema: {
          tags: ['admin'], operationId: 'resumeUserClaims',
          summary: "Resume a user's open coupon claims now, as the sweeper would; they finish in the background",
          security: [{ bearer: [] }],
          params: IdParams,
          response: { 200: ClaimsResumed, ...errors(400, 401, 403, 404) },
        },
      },
      async (request, reply) => sendResult(reply, await engine.resumeUserClaims(request.params.id)),
    );
  };
