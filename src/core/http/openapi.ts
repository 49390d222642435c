/**
 * The OpenAPI 3.1 document, generated from the same zod schemas that validate requests,
 * served interactively at /swagger/ and raw at /swagger/swagger.yaml.
 */
import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { jsonSchemaTransform } from 'fastify-type-provider-zod'
import { stringify } from 'yaml'

export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'mcpproxy REST API',
        version,
        description: 'Server management, tool search, the activity log and live events of the mcpproxy core. Errors are `{"error": "...", "code": "..."}`.',
      },
      components: {
        securitySchemes: {
          apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
          apiKeyQuery: { type: 'apiKey', in: 'query', name: 'apikey' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ apiKeyHeader: [] }, { apiKeyQuery: [] }, { bearer: [] }],
    },
    transform: jsonSchemaTransform,
  })
  await app.register(fastifySwaggerUi, { routePrefix: '/swagger' })
  app.get('/swagger/swagger.yaml', { schema: { hide: true } }, async (_req, reply) =>
    reply.type('application/yaml; charset=utf-8').send(stringify(app.swagger())),
  )
}
