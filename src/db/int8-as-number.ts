// PostgreSQL's (and PGlite's) int8 read as a JS number, as schema.ts types it.

/**
 * Sequence numbers, counts and millisecond timestamps stay far below 2^53, so a number holds
 * them exactly; the drivers' default, a string, would leak into every row type.
 */
export const int8AsNumber = {
  oid: 20,
  parse: (value: string): number => Number(value),
} as const;
