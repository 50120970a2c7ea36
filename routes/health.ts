import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { HealthSchema, ReadySchema } from '../schemas/health.js'
import { ErrorSchema } from '../schemas/error.js'

export interface HealthRoutesOptions {
  readiness: () => Promise<{ ready: boolean, checks: Record<string, boolean> }>
  renderMetrics: () => Promise<{ contentType: string, body: string }>
}

/** Probes and metrics: no auth on the probes, so the orchestrator needs no secret. */
const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (app, opts) => {
  app.get('/health', {
    config: { public: true },
    schema: {
      tags: ['ops'],
      summary: 'Liveness: the process is up (checks no dependency)',
      operationId: 'getHealth',
      security: [],
      response: { 200: HealthSchema }
    }
  }, async () => ({ status: 'ok' as const }))

  app.get('/ready', {
    config: { public: true },
    schema: {
      tags: ['ops'],
      summary: 'Readiness: every dependency this replica needs answers',
      operationId: 'getReady',
      security: [],
      response: { 200: ReadySchema, 503: ReadySchema }
    }
  }, async (_request, reply) => {
    const { ready, checks } = await opts.readiness()
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks })
  })

  app.get('/metrics', {
    schema: {
      tags: ['ops'],
      summary: 'Prometheus metrics',
      operationId: 'getMetrics',
      produces: ['text/plain'],
      response: { 200: { type: 'string', description: 'Prometheus text exposition format' }, 401: ErrorSchema, 403: ErrorSchema }
    }
  }, async (_request, reply) => {
    const { contentType, body } = await opts.renderMetrics()
    return reply.type(contentType).send(body)
  })
}

export default healthRoutes
