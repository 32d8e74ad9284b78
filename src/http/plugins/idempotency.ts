// Idempotency-Key: a repeat of an unsafe request within the retention gets the first answer, and its use case does not run again.

import type { FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { LRUCache } from 'lru-cache';
import { accept, type Result } from '../../../actors/shared/result.js';
import { retryable, toAnswer } from '../errors.js';
import type { IdempotencyStore, StoredAnswer } from './idempotency-store.js';

declare module 'fastify' {
  interface FastifyReply {
    /**
     * Runs the use case and sends its answer (`okStatus` when it is accepted). With an
     * `Idempotency-Key` header, a repeat of the same method and path gets the first answer, also
     * while the first still runs, and the use case does not run again.
     *
     * ```ts
     * async (request, reply) => reply.answerOnce(200, (key) => engine.restock(request.params.id, request.body.quantity, key))
     * ```
     */
    answerOnce<V>(okStatus: number, work: (idempotencyKey: string | undefined) => Promise<Result<V>>, shape?: (value: V) => unknown): Promise<FastifyReply>;
  }
}

export interface IdempotencyOptions {
  readonly store: IdempotencyStore;
  /** How often answers past their retention are purged: they only need to go eventually. */
  readonly purgeIntervalMs?: number;
}

const PURGE_INTERVAL_MS = 60_000;
/** Recent answers answered from memory; older ones from the store. */
const CACHED_ANSWERS = 20_000;

export const idempotencyPlugin = fp<IdempotencyOptions>(
  async (app, { store, purgeIntervalMs = PURGE_INTERVAL_MS }) => {
    const cache = new LRUCache<string, StoredAnswer>({ max: CACHED_ANSWERS });
    const running = new Map<string, Promise<StoredAnswer>>();

    async function lookupOrRun(key: string, okStatus: number, work: () => Promise<Result<unknown>>): Promise<StoredAnswer> {
      const found = await store.find(key);
      // When the store cannot say whether the key was answered, running the use case could apply it twice.
      if (!found.ok) return toAnswer(found, okStatus);
      if (found.value) {
        cache.set(key, found.value);
        return found.value;
      }
      const answer = toAnswer(await work(), okStatus);
      // Answers that say "try again" (5xx, 429) are not kept, so a retry after an outage or overload runs again.
      if (answer.statusCode < 500 && answer.statusCode !== 429) {
        cache.set(key, answer);
        await store.keep(key, answer);
      }
      return answer;
    }

    function once(key: string, okStatus: number, work: () => Promise<Result<unknown>>): Promise<StoredAnswer> {
      const cached = cache.get(key);
      if (cached) return Promise.resolve(cached);
      const pending = running.get(key);
      if (pending) return pending;
      const task = lookupOrRun(key, okStatus, work).finally(() => running.delete(key));
      running.set(key, task);
      return task;
    }

    app.decorateReply('answerOnce', async function answerOnce<V>(
      this: FastifyReply,
      okStatus: number,
      work: (idempotencyKey: string | undefined) => Promise<Result<V>>,
      shape: (value: V) => unknown = (v) => v,
    ): Promise<FastifyReply> {
      const header = this.request.headers['idempotency-key'];
      const key = typeof header === 'string' ? header : undefined;
      const run = async (): Promise<Result<unknown>> => {
        const result = await work(key);
        return result.ok ? accept(shape(result.value)) : result;
      };
      const answer = key ? await once(`${this.request.method} ${this.request.url}|${key}`, okStatus, run) : toAnswer(await run(), okStatus);
      if (retryable(answer.statusCode)) this.header('retry-after', '1');
      if (key) this.header('idempotency-key', key);
      return this.code(answer.statusCode).send(answer.body);
    });

    let purging = false;
    const purger = setInterval(() => {
      // While the database hangs, purges must not pile up behind one another.
      if (purging) return;
      purging = true;
      store
        .purge()
        .catch(() => undefined)
        .finally(() => (purging = false));
    }, purgeIntervalMs);
    purger.unref();
    app.addHook('onClose', async () => clearInterval(purger));
  },
  { name: 'idempotency' },
);
