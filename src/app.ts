import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Redis } from 'ioredis'
import { type Config, listSetting } from './config.js'
import { loggerOptions } from './logger.js'
import { createMetrics, type Metrics } from './metrics.js'
import { VERSION } from './version.js'
import errorHandler from './plugins/error-handler.js'
import auth from './plugins/auth.js'
import openapi from './plugins/swagger.js'
import metricsPlugin from './plugins/metrics.js'
import stores from './plugins/stores.js'
import healthRoutes from '../routes/health.js'

/** What a caller may hand in instead of letting the app build it (tests, the worker, the demo). */
export interface AppDeps {
  redis?: Redis
  metrics?: Metrics
  /** pino destination; tests pass a stream to read the log lines. */
  logStream?: NodeJS.WritableStream
}

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    metrics: Metrics
  }
}

// Accept a caller's request id only when it is short and plain: it goes into every log line.
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * Builds the service. No side effect happens at import; everything the app opens it
 * closes in `onClose`. The registration order below is the app's shape: infrastructure,
 * cross-cutting plugins, then routes.
 */
export async function buildApp (config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const logger: FastifyServerOptions['logger'] = deps.logStream !== undefined
    ? { ...loggerOptions(config.LOG_LEVEL), stream: deps.logStream }
    : loggerOptions(config.LOG_LEVEL)
  const app = Fastify({
    logger,
    requestIdHeader: false,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id']
      return typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID()
    },
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    connectionTimeout: config.REQUEST_TIMEOUT_MS + 5000,
    keepAliveTimeout: 72000,
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } }
  }).withTypeProvider<TypeBoxTypeProvider>()

  const metrics = deps.metrics ?? createMetrics()
  app.decorate('config', config)
  app.decorate('metrics', metrics)
  app.addHook('onRequest', async (request, reply) => { reply.header('x-request-id', request.id) })

  const readinessChecks = new Map<string, () => Promise<boolean>>()
  const addReadinessCheck = (name: string, check: () => Promise<boolean>) => { readinessChecks.set(name, check) }

  await app.register(errorHandler)
  await app.register(stores, {
    redisUrl: config.REDIS_URL,
    keyPrefix: config.REDIS_KEY_PREFIX,
    addReadinessCheck,
    ...(deps.redis !== undefined ? { redis: deps.redis } : {})
  })
  await app.register(metricsPlugin, { metrics })
  await app.register(openapi, { version: VERSION })
  await app.register(auth, { apiKeys: listSetting(config.API_KEYS), disabled: config.AUTH_DISABLED })

  await app.register(healthRoutes, {
    readiness: async () => {
      const entries = await Promise.all([...readinessChecks].map(async ([name, check]) => [name, await check().catch(() => false)] as const))
      const checks = Object.fromEntries(entries)
      return { ready: entries.every(([, ok]) => ok), checks }
    },
    renderMetrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() })
  })

  return app
}
