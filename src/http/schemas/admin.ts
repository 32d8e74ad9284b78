// Schemas of the admin API: live actors, an actor's journal, an order's timeline, stuck work, the overview.

import { Type } from 'typebox';
import type { ActorKind } from '../../../actors/shared/entity.js';
import { actorKinds } from '../../engine/kinds.js';
import { Id, Instant, pageOf } from './common.js';

/** Every kind the engine hosts (src/engine/kinds.ts), coupons included. */
export const ActorKindParam = Type.Unsafe<ActorKind>({ type: 'string', enum: [...actorKinds] });

const Cursor = Type.Optional(Type.String({ maxLength: 200, description: 'nextCursor of the page before' }));

export const ActorEventsParams = Type.Object({ kind: ActorKindParam, id: Id });
export const ActorEventsQuery = Type.Object(
  {
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$', description: 'nextCursor of the page before: events below this sequence number' })),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  },
  { additionalProperties: false },
);

const journalEntry = {
  sequenceNr: Type.Integer(),
  type: Type.String({ description: 'the event type, e.g. StockReserved' }),
  at: Instant('when the actor appended it'),
  batch: Type.Union([Type.String(), Type.Null()], {
    description: 'the journal transaction that made it durable; events with one value committed in one batch (null on MySQL)',
  }),
  event: Type.Unknown({ description: 'the event as journaled' }),
};

export const JournalEntry = Type.Object(journalEntry, { title: 'JournalEntry' });
export const JournalPage = pageOf(JournalEntry);

export const TimelineStep = Type.Object({
  ...journalEntry,
  step: Type.String({ description: 'created, payment-started, reserve, release, debit, refund, paid, failed, cancel-started, cancelled or expired' }),
  actor: Type.Object({ kind: Type.String(), id: Type.String() }),
  outcome: Type.String({ description: 'ok, or the error code the saga failed with' }),
  detail: Type.String(),
}, { title: 'TimelineStep' });

export const OrderTimeline = Type.Object(
  {
    id: Type.String(),
    userId: Type.String(),
    status: Type.String({ description: 'as the read model holds it (CANCELLING while a cancel runs)' }),
    createdAt: Instant(),
    updatedAt: Instant(),
    steps: Type.Array(TimelineStep),
  },
  { title: 'OrderTimeline', description: "an order's durable steps on the order, its products and its user, oldest first" },
);

export const StuckQuery = Type.Object(
  {
    olderThanSeconds: Type.Integer({ minimum: 0, maximum: 31_536_000, default: 60, description: 'left untouched for at least this long' }),
    cursor: Cursor,
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  },
  { additionalProperties: false },
);

export const StuckOrderPage = pageOf(
  Type.Object({ id: Type.String(), userId: Type.String(), status: Type.String({ description: 'PAYING or CANCELLING' }), total: Type.Integer(), updatedAt: Instant() }),
);

export const OpenClaimPage = pageOf(Type.Object({ userId: Type.String(), couponId: Type.String(), updatedAt: Instant() }));

export const OrderResumed = Type.Object({
  id: Type.String(),
  status: Type.String(),
  resumed: Type.Boolean({ description: 'false when the order is not mid-saga: nothing was sent' }),
});

export const ClaimsResumed = Type.Object({
  userId: Type.String(),
  openClaims: Type.Integer(),
  resumed: Type.Boolean({ description: 'false when the user has no open claim: nothing was sent' }),
});

const Actor = Type.Object(
  { kind: Type.String(), id: Type.String(), mailboxDepth: Type.Integer(), sequenceNr: Type.Integer(), lastActivity: Instant() },
  { title: 'LiveActor' },
);

export const Overview = Type.Object(
  {
    at: Instant('when this was read'),
    actors: Type.Object({
      live: Type.Record(Type.String(), Type.Integer(), { description: 'live actors by kind' }),
      total: Type.Integer(),
      cap: Type.Integer({ description: 'ACTORS_MAX_LIVE' }),
      deepestMailboxes: Type.Array(Actor, { description: 'the 20 live actors with the most messages waiting' }),
    }),
    journal: Type.Object(
      {
        backlogEvents: Type.Integer(),
        batches: Type.Integer(),
        events: Type.Integer(),
        commitSeconds: Type.Number({ description: 'time spent committing batches' }),
        failedBatches: Type.Integer(),
      },
      { description: 'counts since start; the page divides the differences between two reads' },
    ),
    http: Type.Object({ inFlight: Type.Integer() }),
    eventLoop: Type.Object({ lagSeconds: Type.Number(), p99Seconds: Type.Number() }),
    cache: Type.Object({ entries: Type.Integer(), hits: Type.Integer(), misses: Type.Integer() }),
    outbox: Type.Object({
      deadLetters: Type.Integer(),
      sinks: Type.Array(
        Type.Object({
          sink: Type.String(),
          connection: Type.String(),
          breaker: Type.String(),
          lagSeconds: Type.Number(),
          caughtUp: Type.Boolean(),
          delivered: Type.Integer(),
          failedAttempts: Type.Integer(),
        }),
      ),
    }),
  },
  { title: 'Overview', description: "the engine's live state at a glance" },
);

export const ActorParams = Type.Object({ kind: ActorKindParam, id: Id });

export const ActorListQuery = Type.Object(
  {
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$', description: 'nextCursor of the page before' })),
    offset: Type.Integer({ minimum: 0, default: 0, description: 'where to start instead of a cursor (the admin page jumps to the most recent)' }),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
    kind: Type.Optional(ActorKindParam),
  },
  { additionalProperties: false },
);

export const ActorList = Type.Object(
  {
    items: Type.Array(Actor),
    total: Type.Integer(),
    nextCursor: Type.Union([Type.String(), Type.Null()]),
    node: Type.Union([Type.String(), Type.Null()], { description: 'the cluster member these actors live in (NODE_NAME); null when the engine is one process' }),
  },
  { title: 'LiveActorPage', description: 'one page of the live actors' },
);

export const Inspection = Type.Object(
  {
    kind: Type.String(),
    id: Type.String(),
    sequenceNr: Type.Integer({ description: 'the last event appended' }),
    committedSequenceNr: Type.Integer({ description: 'the last event committed' }),
    mailboxDepth: Type.Integer(),
    pendingAppends: Type.Integer(),
    lastActivity: Instant(),
    committed: Type.Unknown({ description: 'the committed state' }),
    pending: Type.Unknown({ description: 'the state with appends not yet committed' }),
  },
  { title: 'Inspection', description: "one actor's state as it holds it" },
);

export const SnapshotTaken = Type.Object({ sequenceNr: Type.Integer({ description: 'the event the snapshot is taken at' }) }, { title: 'SnapshotTaken' });

export const Passivated = Type.Object(
  { kind: Type.String(), id: Type.String(), passivated: Type.Boolean({ description: 'false when the actor was not live: nothing was done' }) },
  { title: 'Passivated' },
);

export const ClusterStatus = Type.Object(
  {
    node: Type.String({ description: 'the process that answered' }),
    shards: Type.Integer(),
    members: Type.Array(Type.Object({ node: Type.String(), shardsOwned: Type.Integer() })),
    owners: Type.Record(Type.String(), Type.String(), { description: 'shard → the process that holds its lease' }),
    served: Type.Array(Type.Integer(), { description: 'the shards this process serves now' }),
  },
  { title: 'ClusterStatus', description: 'members and shard owners, as the leases say now' },
);
