// Sends a use case's answer, once per Idempotency-Key when the request carries one.

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Result } from '../../actors/shared/result.js';
import type { Engine } from '../engine/engine.js';
import { retryable, toAnswer } from './errors.js';

/**
 * Runs the use case and sends its answer; with an `Idempotency-Key` header a repeat of the same
 * method and path gets the first answer and the use case does not run again.
 */
export async function answerOnce<V>(
  engine: Engine,
  request: FastifyRequest,
  reply: FastifyReply,
  okStatus: number,
  work: (idempotencyKey: string | undefined) => Promise<Result<V>>,
  shape: (value: V) => unknown = (v) => v,
): Promise<FastifyReply> {
  const header = request.headers['idempotency-key'];
  const key = typeof header === 'string' ? header : undefined;
  const run = async () => {
    const result = await work(key);
    return toAnswer(result.ok ? { ok: true as const, value: shape(result.value) } : result, okStatus);
  };
  const answer = key ? await engine.once(`${request.method} ${request.url}|${key}`, run) : await run();
  if (retryable(answer.statusCode)) reply.header('retry-after', '1');
  if (key) reply.header('idempotency-key', key);
  return reply.code(answer.statusCode).send(answer.body);
}
