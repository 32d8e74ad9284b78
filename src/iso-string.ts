// Epoch milliseconds as ISO 8601 text, as every HTTP body and every published event shows an instant.

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
