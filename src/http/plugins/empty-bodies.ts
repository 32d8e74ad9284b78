// A route that takes no body accepts an empty one whatever its Content-Type says (a client library that always sends application/json, say).

import fp from 'fastify-plugin';

const isEmpty = (headers: Record<string, string | string[] | undefined>): boolean =>
  headers['transfer-encoding'] === undefined && (headers['content-length'] === undefined || headers['content-length'] === '0');

/**
 * Before the body is parsed, the Content-Type of an empty body sent to a route without a body
 * schema is dropped, so the parser is not asked to read JSON from nothing. A non-empty body is
 * still parsed (and refused with 415 when it is not JSON).
 */
export const emptyBodiesPlugin = fp(
  async (app) => {
    app.addHook('onRequest', (request, _reply, done) => {
      if (request.headers['content-type'] !== undefined && request.routeOptions.schema?.body === undefined && isEmpty(request.headers)) {
        delete request.headers['content-type'];
      }
      done();
    });
  },
  { name: 'empty-bodies' },
);
