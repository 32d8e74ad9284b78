// The OpenAPI document, built from the routes' TypeBox schemas, and Swagger UI over it at /docs.

import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { finishDocument } from '../openapi.js';

/** Registered before the routes, so that every route's schema is in the document. */
export const swaggerPlugin = fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        info: { title: 'Order engine', version: '0.1.0', description: 'Actor-model order processing: users, products, orders and the payment saga' },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      },
      transformObject: (document) => finishDocument('openapiObject' in document ? document.openapiObject : document.swaggerObject),
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  },
  { name: 'swagger' },
);
