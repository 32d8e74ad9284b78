// Timestamps leave as ISO 8601 strings: the engine keeps epoch milliseconds inside, and every HTTP body says the instant the same way.

import fp from 'fastify-plugin';

/** The members that hold an instant, wherever they are in a body. */
const INSTANTS = new Set(['createdAt', 'updatedAt', 'issuedAt', 'expiresAt', 'at', 'lastActivity', 'failedAt']);
/**
 * Data shown as it is stored, not as the API's own shapes: an event as journaled (`event`), an
 * actor's state as it holds it (`committed`, `pending`).
 */
const VERBATIM = new Set(['event', 'committed', 'pending']);

/** The last instant `isoString` formats itself: 9999-12-31T23:59:59.999Z; later ones have a six-digit year. */
const LAST_FOUR_DIGIT_YEAR = 253_402_300_799_999;
const MILLIS = Array.from({ length: 1000 }, (_, ms) => `${String(ms).padStart(3, '0')}Z`);
/** The seconds formatted last ("2026-12-03T14:15:37."), one slot per second modulo their number. */
const SECOND_SLOTS = 256;
const slotSeconds = new Float64Array(SECOND_SLOTS).fill(Number.NaN);
const slotTexts = new Array<string>(SECOND_SLOTS).fill('');

/**
 * `new Date(ms).toISOString()`, for a finite `ms`. The instants in answers are mostly of the last
 * few seconds, so the text up to the second is kept per second and only the milliseconds are
 * added: a Date and its formatting for every instant were most of the cost of these bodies.
 */
export function isoString(ms: number): string {
  if (!(ms >= 0 && ms <= LAST_FOUR_DIGIT_YEAR && Number.isInteger(ms))) return new Date(ms).toISOString();
  const second = Math.floor(ms / 1000);
  const slot = second % SECOND_SLOTS;
  if (slotSeconds[slot] !== second) {
    slotSeconds[slot] = second;
    slotTexts[slot] = new Date(second * 1000).toISOString().slice(0, 20);
  }
  return slotTexts[slot]! + MILLIS[ms - second * 1000]!;
}

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
