// The one error handler: every error a request raises becomes an answer in the contract's shape (RFC 9457 problem details), and 5xx details stay in the log.

import type { ErrorObject } from 'ajv';
import type { FastifyError } from 'fastify';
import fp from 'fastify-plugin';
import { sendError } from '../errors.js';
import { PROBLEM_TYPE, invalidFields, isErrorBody, problemOf } from '../problem.js';
import { RouteMethods } from '../route-methods.js';

/** Bad fields listed in one answer at most: enough for any real request, bounded for a hostile one. */
const MAX_FIELDS = 20;

/** Also answers unknown routes (404) and known paths asked with another method (405 with Allow), so that they have the same shape as every other error. */
export const errorHandlerPlugin = fp(
  async (app) => {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      if (error.validation) {
        const errors = invalidFields(error.validation as ErrorObject[], error.validationContext).slice(0, MAX_FIELDS);
        return sendError(reply, 'BAD_REQUEST', errors.map((e) => e.detail).join('; '), { errors });
      }
      if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) return sendError(reply, 'MALFORMED_JSON', 'the body is not valid JSON');
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, 'PAYLOAD_TOO_LARGE', 'the body is larger than 64 KiB');
      if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendError(reply, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json');
      if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return sendError(reply, 'MALFORMED_JSON', 'the body is empty');
      if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
        return sendError(reply, 'BAD_REQUEST', error.message.slice(0, 500));
      }
      request.log.error({ err: error }, 'request failed');
      return sendError(reply, 'INTERNAL', 'internal error');
    });
    // Every error body leaves as problem details, whichever code path built it (a route, a hook, this handler, a replay).
    app.addHook('preSerialization', (request, reply, payload, done) => {
      if (reply.statusCode < 400 || !isErrorBody(payload)) return done(null, payload);
      reply.type(PROBLEM_TYPE);
      done(null, problemOf(payload, reply.statusCode, request.url.split('?')[0]!.slice(0, 200)));
    });
    const methods = new RouteMethods();
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) methods.add(method, route.url);
    });
    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0]!.slice(0, 200);
      const allowed = methods.allowed(path);
      // A route that found nothing for its path (callNotFound) takes the method: that is a 404.
      if (allowed.length === 0 || allowed.includes(request.method)) return sendError(reply, 'ROUTE_NOT_FOUND', `no route ${request.method} ${path}`);
      reply.header('allow', allowed.join(', '));
      return sendError(reply, 'METHOD_NOT_ALLOWED', `${path} takes ${allowed.join(', ')}, not ${request.method}`);
    });
  },
  { name: 'error-handler' },
);
