import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'

export const API_TAGS = [
  { name: 'sync', description: 'Run and follow syncs from Qualys to ServiceNow' },
  { name: 'findings', description: 'Normalized Qualys findings and their CMDB match' },
  { name: 'poam', description: 'Preview POA&M payloads the next sync would send' },
  { name: 'cis', description: 'CMDB coverage of the hosts Qualys reports' },
  { name: 'ops', description: 'Probes and metrics' }
]

/**
 * The OpenAPI 3.1 document (served at /openapi.json, written to openapi/openapi.json by
 * `npm run openapi`) and Swagger UI at /docs. Both security schemes are global; the
 * public routes clear `security` themselves.
 */
async function openapi (app: FastifyInstance, opts: { version: string }) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'qualys-servicenow-sync',
        version: opts.version,
        description: 'Turns Qualys Policy Compliance and VM findings into POA&M records in ServiceNow, ' +
          'mapped to CMDB configuration items, with CIs tagged by risk tier. Authorize with an API key ' +
          '(either scheme) to try the calls.'
      },
      tags: API_TAGS,
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' },
          apiKeyAuth: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'X-API-Key: <API key>' }
        }
      },
      security: [{ bearerAuth: [] }, { apiKeyAuth: [] }]
    }
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { persistAuthorization: true, displayRequestDuration: true, tryItOutEnabled: true },
    staticCSP: true
  })
  app.get('/openapi.json', {
    schema: { hide: true },
    config: { public: true }
  }, async () => app.swagger())
}

export default fp(openapi, { name: 'qss-openapi', fastify: '5.x' })
