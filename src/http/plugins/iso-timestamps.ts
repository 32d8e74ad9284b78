// Timestamps leave as ISO 8601 strings: the engine keeps epoch milliseconds inside, and every HTTP body says the instant the same way.

import fp from 'fastify-plugin';
import { isoString } from '../../iso-string.js';

/** The members that hold an instant, wherever they are in a body. */
const INSTANTS = new Set(['createdAt', 'updatedAt', 'issuedAt', 'expiresAt', 'at', 'lastActivity', 'failedAt']);
/**
 * Data shown as it is stored, not as the API's own shapes: an event as journaled (`event`), an
 * actor's state as it holds it (`committed`, `pending`).
 */
const VERBATIM = new Set(['event', 'committed', 'pending']);

/**
 * `value` with every instant member (epoch ms) as an ISO 8601 string. The objects and arrays on
 * the way to an instant are copies; those without one are `value`'s own, never changed.
 */
export function isoTimestamps(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const member: unknown = value[i];
      const converted = isoTimestamps(member);
      if (converted !== member) (out ??= value.slice())[i] = converted;
    }
    return out ?? value;
  }
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    if (VERBATIM.has(key)) continue;
    const member = (value as Record<string, unknown>)[key];
    const converted = INSTANTS.has(key) && typeof member === 'number' && Number.isFinite(member) ? isoString(member) : isoTimestamps(member);
    if (converted !== member) (out ??= { ...value })[key] = converted;
  }
  return out ?? value;
}

/** Registered before the routes: applies to every JSON answer (errors carry no instants). */
export const isoTimestampsPlugin = fp(
  async (app) => {
    app.addHook('preSerialization', (_request, reply, payload, done) => done(null, reply.statusCode < 400 ? isoTimestamps(payload) : payload));
  },
  { name: 'iso-timestamps' },
);
