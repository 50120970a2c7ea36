import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Metrics } from '../metrics.js'

/** Request duration by route template (never the raw URL: unbounded label values) and status. */
async function metricsPlugin (app: FastifyInstance, opts: { metrics: Metrics }) {
  const { metrics } = opts
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.httpDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000
    )
  })
}

export default fp(metricsPlugin, { name: 'qss-metrics', fastify: '5.x' })
