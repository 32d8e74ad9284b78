// Idempotency-Key (IETF draft): a repeat of an unsafe request within the retention gets the first answer, and its use case does not run again.

import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { LRUCache } from 'lru-cache';
import { v7 as uuidv7 } from 'uuid';
import type { Result } from '../../../actors/shared/result.js';
import { errorAnswer, retryable, toAnswer } from '../errors.js';
import type { IdempotencyStore, StoredAnswer } from './idempotency-store.js';

/** What a use case run under `answerOnce` is told. */
export interface KeyedRun {
  /** The request's Idempotency-Key, if it has one. */
  readonly key: string | undefined;
  /** The id a create uses: fixed with the key's claim, so that every run under one key creates the same entity; fresh without a key. */
  readonly id: string;
  /**
   * An earlier run under this key was left without a stored answer (its process stopped, or it
   * answered "try again") and may have committed: the use case must find out what it did
   * before doing it, and answer what it answered then.
   */
  readonly takeover: boolean;
}

export interface AnswerOptions<V> {
  /** The status of an accepted answer. */
  readonly okStatus: number;
  /** The body of an accepted answer; the value itself unless given. */
  readonly shape?: (value: V) => unknown;
  /** The Location of an accepted answer (a created resource). */
  readonly location?: (value: V) => string;
}

declare module 'fastify' {
  interface FastifyReply {
    /**
     * Runs the use case and sends its answer. With an `Idempotency-Key` header the key is claimed
     * for this request's fingerprint (method, path, body) first: a repeat gets the stored answer
     * with `Idempotent-Replayed: true`, a repeat while the first runs 409
     * IDEMPOTENCY_KEY_IN_PROGRESS, the key with another request 422 IDEMPOTENCY_KEY_REUSED.
     *
     * ```ts
     * async (request, reply) => reply.answerOnce({ okStatus: 200 }, (run) => engine.restock(request.params.id, request.body.quantity, run.key))
     * ```
     */
    answerOnce<V>(options: AnswerOptions<V>, work: (run: KeyedRun) => Promise<Result<V>>): Promise<FastifyReply>;
  }
}

export interface IdempotencyOptions {
  readonly store: IdempotencyStore;
  /** How often keys past their retention are purged: they only need to go eventually. */
  readonly purgeIntervalMs?: number;
}

const PURGE_INTERVAL_MS = 60_000;
/** Recent answers replayed from memory; older ones from the store. An answer never changes, so any process may keep it. */
const CACHED_ANSWERS = 20_000;

/** A run without a key: only creates read its id, so it is made when first read (a UUID v7 per pay was about 4% of the server's CPU under load). */
class UnkeyedRun implements KeyedRun {
  readonly key = undefined;
  readonly takeover = false;
  #id: string | undefined;

  get id(): string {
    return (this.#id ??= uuidv7());
  }
}

/** Answers of a use case refused before it did anything. */
const refusedUntried = (answer: StoredAnswer): boolean => {
  const error = (answer.body as { error?: unknown } | null)?.error;
  return error === 'OVERLOADED' || error === 'MAILBOX_FULL';
};

/** Object members in one order, so that `{"a":1,"b":2}` and `{"b":2,"a":1}` are one request. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? '';
}

/** The request a key is bound to: method, path with query, and the body as parsed. */
export function fingerprintOf(request: Pick<FastifyRequest, 'method' | 'url' | 'body'>): string {
  return createHash('sha256').update(`${request.method} ${request.url}\n${canonical(request.body ?? null)}`).digest('hex');
}

export const idempotencyPlugin = fp<IdempotencyOptions>(
  async (app, { store, purgeIntervalMs = PURGE_INTERVAL_MS }) => {
    const answered = new LRUCache<string, { fingerprint: string; answer: StoredAnswer }>({ max: CACHED_ANSWERS });

    function send(reply: FastifyReply, answer: StoredAnswer): FastifyReply {
      if (retryable(answer.statusCode)) reply.header('retry-after', '1');
      for (const [name, value] of Object.entries(answer.headers ?? {})) reply.header(name, value);
      return reply.code(answer.statusCode).send(answer.body);
    }

    async function run<V>(options: AnswerOptions<V>, work: (run: KeyedRun) => Promise<Result<V>>, keyed: KeyedRun): Promise<StoredAnswer> {
      const result = await work(keyed);
      if (!result.ok) return toAnswer(result, options.okStatus);
      const { shape = (v: V) => v, location } = options;
      return { statusCode: options.okStatus, body: shape(result.value), ...(location ? { headers: { location: location(result.value) } } : {}) };
    }

    function replay(reply: FastifyReply, fingerprint: string, first: { fingerprint: string; answer: StoredAnswer }): FastifyReply {
      if (first.fingerprint !== fingerprint) return reused(reply);
      reply.header('idempotent-replayed', 'true');
      return send(reply, first.answer);
    }

    const reused = (reply: FastifyReply) =>
      send(reply, errorAnswer('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for another request (method, path or body); use a new key'));

    app.decorateReply('answerOnce', async function answerOnce<V>(
      this: FastifyReply,
      options: AnswerOptions<V>,
      work: (run: KeyedRun) => Promise<Result<V>>,
    ): Promise<FastifyReply> {
      const header = this.request.headers['idempotency-key'];
      const key = typeof header === 'string' ? header : undefined;
      if (key === undefined) return send(this, await run(options, work, new UnkeyedRun()));
      this.header('idempotency-key', key);

      const fingerprint = fingerprintOf(this.request);
      const cached = answered.get(key);
      if (cached) return replay(this, fingerprint, cached);
      const claim = await store.claim(key, fingerprint);
      // When the store cannot say whether the key was answered, running the use case could apply it twice.
      if (!claim.ok) return send(this, toAnswer(claim, 0));
      const found = claim.value;
      if (found.state === 'answered') {
        answered.set(key, found);
        return replay(this, fingerprint, found);
      }
      if (found.state === 'running') {
        if (found.fingerprint !== fingerprint) return reused(this);
        this.header('retry-after', '1');
        return send(this, errorAnswer('IDEMPOTENCY_KEY_IN_PROGRESS', 'a request with this Idempotency-Key is still running; repeat it shortly'));
      }

      const answer = await run(options, work, { key, id: found.resourceId, takeover: found.takeover });
      // "Try again" is not an answer to keep. When nothing was done (overload) the key is free at
      // once; otherwise (a timeout, a failed commit) the command may still commit, so the claim
      // holds the key until it lapses and the repeat that takes it over finds out what was done.
      if (answer.statusCode >= 500 || answer.statusCode === 429) {
        if (refusedUntried(answer)) await store.release(key, found.token);
      } else if (await store.complete(key, found.token, answer)) answered.set(key, { fingerprint, answer });
      return send(this, answer);
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
