// Schemas of the outbox's dead letters in the admin API.

import { Type } from 'typebox';
import { Instant, pageOf } from './common.js';

export const DeadLetter = Type.Object(
  {
    id: Type.String({ description: 'the dead letter id, for the retry' }),
    eventId: Type.String({ description: 'the event id: Nats-Msg-Id and Idempotency-Key' }),
    sink: Type.String({ description: 'nats or webhook' }),
    type: Type.String({ description: 'the event type, e.g. OrderPaid' }),
    orderId: Type.String(),
    attempts: Type.Integer({ description: 'failed attempts' }),
    lastError: Type.Union([Type.String(), Type.Null()]),
    createdAt: Instant('when the event was committed'),
    failedAt: Instant('when it became a dead letter, or its last retry failed'),
    event: Type.Unknown({ description: 'the body the sink gets' }),
  },
  { title: 'DeadLetter', description: 'an outbox event the relay gave up on after its last attempt' },
);

export const DeadLetterPage = pageOf(DeadLetter);

export const DeadLetterQuery = Type.Object(
  {
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$' })),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  },
  { additionalProperties: false },
);

export const DeadLetterParams = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,18}$' }) });
