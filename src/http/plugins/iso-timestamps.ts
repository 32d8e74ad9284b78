// Timestamps leave as ISO 8601 strings: the engine keeps epoch milliseconds inside, and every HTTP body says the instant the same way.

import fp from 'fastify-plugin';

/** The members that hold an instant, wherever they are in a body. */
const INSTANTS = new Set(['createdAt', 'updatedAt', 'issuedAt', 'expiresAt', 'at', 'lastActivity', 'failedAt']);
/**
 * Data shown as it is stored, not as the API's own shapes: an event as journaled (`event`), an
 * actor's state as it holds it (`committed`, `pending`).
 */
const VERBATIM = new Set(['event', 'committed', 'pending']);

/** A copy of `value` with every instant member (epoch ms) as an ISO 8601 string. */
export function isoTimestamps(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(isoTimestamps);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    if (VERBATIM.has(key)) out[key] = member;
    else if (INSTANTS.has(key) && typeof member === 'number' && Number.isFinite(member)) out[key] = new Date(member).toISOString();
    else out[key] = isoTimestamps(member);
  }
  return out;
}

/** Registered before the routes: applies to every JSON answer (errors carry no instants). */
export const isoTimestampsPlugin = fp(
  async (app) => {
    app.addHook('preSerialization', async (_request, reply, payload) => (reply.statusCode < 400 ? isoTimestamps(payload) : payload));
  },
  { name: 'iso-timestamps' },
);
