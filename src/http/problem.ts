// RFC 9457 problem details: every error body as `application/problem+json`, keeping the engine's own `error` code and `message`.

import type { ErrorObject } from 'ajv';

export const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';

/** One bad field of a request: where it is and what is wrong with it, as a sentence. */
export interface InvalidField {
  /** The part of the request: body, query, path or header. */
  readonly in: 'body' | 'query' | 'path' | 'header';
  /** A JSON pointer into that part, e.g. `#/items/0/quantity` (the RFC 9457 examples' form). */
  readonly pointer: string;
  readonly detail: string;
}

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance: string;
  readonly error: string;
  readonly message: string;
  readonly productId?: string;
  readonly errors?: readonly InvalidField[];
}

/** The problem type of a code: a URN, stable and never fetched, e.g. `urn:order-engine:problem:insufficient-stock`. */
export const problemType = (code: string): string => `urn:order-engine:problem:${code.toLowerCase().replaceAll('_', '-')}`;

/** `INSUFFICIENT_STOCK` → `Insufficient stock`. */
const titleOf = (code: string): string => {
  const words = code.toLowerCase().replaceAll('_', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
};

/**
 * An error body `{ error, message, … }` with the members RFC 9457 defines added; `instance` is
 * the path the request was made to.
 *
 * ```ts
 * problemOf({ error: 'NOT_FOUND', message: 'user u1 not found' }, 404, '/users/u1');
 * ```
 */
export function problemOf(body: { error: string; message: string } & Record<string, unknown>, status: number, instance: string): Problem {
  return { type: problemType(body.error), title: titleOf(body.error), status, detail: body.message, instance, ...body };
}

/** True for bodies shaped like the engine's errors (and not yet problem details). */
export const isErrorBody = (payload: unknown): payload is { error: string; message: string } & Record<string, unknown> =>
  typeof payload === 'object' && payload !== null && typeof (payload as { error?: unknown }).error === 'string' && typeof (payload as { message?: unknown }).message === 'string' && !('type' in payload);

const partOf = (context: string | undefined): InvalidField['in'] =>
  context === 'querystring' ? 'query' : context === 'params' ? 'path' : context === 'headers' ? 'header' : 'body';

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);
const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** What a schema keyword's failure means, as a sentence about `name`. */
function sentence(name: string, e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `${name} is required`;
    case 'additionalProperties':
      return `${name} is not a field this request takes`;
    case 'type':
      return `${name} must be ${String(p.type).split(',').map(article).join(' or ')}`;
    case 'minimum':
      return `${name} must be at least ${String(p.limit)}`;
    case 'maximum':
      return `${name} must be at most ${String(p.limit)}`;
    case 'exclusiveMinimum':
      return `${name} must be more than ${String(p.limit)}`;
    case 'exclusiveMaximum':
      return `${name} must be less than ${String(p.limit)}`;
    case 'minLength':
      return Number(p.limit) === 1 ? `${name} must not be empty` : `${name} must be at least ${plural(Number(p.limit), 'character')} long`;
    case 'maxLength':
      return `${name} must be at most ${plural(Number(p.limit), 'character')} long`;
    case 'pattern':
      return `${name} is not in the expected form`;
    case 'minItems':
      return `${name} must have at least ${plural(Number(p.limit), 'item')}`;
    case 'maxItems':
      return `${name} must have at most ${plural(Number(p.limit), 'item')}`;
    case 'format':
      return `${name} must be a valid ${String(p.format)}`;
    default:
      return `${name} ${e.message ?? 'is not valid'}`;
  }
}

/**
 * Ajv's errors as one entry per bad field: a field that fails a choice of values (`anyOf` of
 * constants, as TypeBox writes an enum) gets one sentence listing them, not one per value.
 */
export function invalidFields(errors: readonly ErrorObject[], context: string | undefined): InvalidField[] {
  const part = partOf(context);
  const choices = new Map<string, unknown[]>();
  for (const e of errors) {
    if (e.keyword === 'const') choices.set(e.instancePath, [...(choices.get(e.instancePath) ?? []), (e.params as { allowedValue: unknown }).allowedValue]);
    if (e.keyword === 'enum') choices.set(e.instancePath, [...(choices.get(e.instancePath) ?? []), ...((e.params as { allowedValues: unknown[] }).allowedValues ?? [])]);
  }
  const fields: InvalidField[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    const path = e.keyword === 'required' ? `${e.instancePath}/${String((e.params as { missingProperty: string }).missingProperty)}` : e.keyword === 'additionalProperties' ? `${e.instancePath}/${String((e.params as { additionalProperty: string }).additionalProperty)}` : e.instancePath;
    const name = fieldName(path, part);
    const allowed = choices.get(e.instancePath);
    let detail: string;
    if (allowed && (e.keyword === 'const' || e.keyword === 'enum' || e.keyword === 'anyOf')) detail = `${name} must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
    else if (e.keyword === 'anyOf' || e.keyword === 'oneOf') detail = `${name} is not any of the accepted forms`;
    else detail = sentence(name, e);
    // One sentence per field: the first thing wrong with it (an empty name also fails its pattern).
    if (seen.has(path)) continue;
    seen.add(path);
    fields.push({ in: part, pointer: `#${path}`, detail });
  }
  return fields;
}

function fieldName(path: string, part: InvalidField['in']): string {
  if (path === '') return part === 'body' ? 'the body' : `the ${part === 'query' ? 'query string' : part}`;
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`))
    .join('');
}
