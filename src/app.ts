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
import { createSyncServices, type SyncServices } from './sync/wiring.js'
import { QssError } from './errors.js'
import healthRoutes from '../routes/health.js'
import syncRoutes from '../routes/sync.js'
import poamRoutes from '../routes/poam.js'
import { registerFindingsApi } from '../routes/findings.js'

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
    sync: SyncServices
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

  const services = createSyncServices(config, {
    redis: app.redis,
    kv: app.kv,
    metrics,
    log: app.log
  })
  app.decorate('sync', services)
  // Registered after the stores, so it runs before they close: a running sync checkpoints first.
  app.addHook('preClose', async () => { await services.close() })
  app.addHook('onReady', async () => {
    await checkPoamTable(app, services, addReadinessCheck)
    if (config.WORKER) services.jobs.startWorker()
  })

  await app.register(healthRoutes, {
    readiness: async () => {
      const entries = await Promise.all([...readinessChecks].map(async ([name, check]) => [name, await check().catch(() => false)] as const))
      const checks = Object.fromEntries(entries)
      return { ready: entries.every(([, ok]) => ok), checks }
    },
    renderMetrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() })
  })

  await registerFindingsApi(app, services.findings)
  await app.register(syncRoutes, { jobs: services.jobs, config })
  await app.register(poamRoutes, { preview: (selection) => services.preview(selection), exportOscal: (options) => services.exportOscal(options) })

  return app
}

const RECHECK_MS = 60000

/**
 * Every mapped POA&M field must exist in the target table: ServiceNow silently drops
 * unknown fields, which would lose data on every write. Missing fields stop the start;
 * an unreachable ServiceNow does not (the readiness probe reports it until it answers).
 */
async function checkPoamTable (app: FastifyInstance, services: SyncServices, addReadinessCheck: (name: string, check: () => Promise<boolean>) => void) {
  let verified = false
  let checkedAt = 0
  const check = async (): Promise<boolean> => {
    const missing = await services.missingPoamFields()
    if (missing === undefined) return true
    if (missing.length > 0) {
      throw new QssError('QSS_CONFIG_POAM_FIELDS', `The POA&M table ${services.profile.table} has no column ${missing.join(', ')}: fix POAM_TABLE, POAM_PROFILE or the field map (POAM_FIELD_MAP_FILE)`)
    }
    verified = true
    return true
  }
  try {
    // Bounded: a slow or busy ServiceNow must not keep the replica from starting.
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new QssError('QSS_SERVICENOW_TIMEOUT', 'no answer within 5 s')), 5000)
    })
    await Promise.race([check(), timeout]).finally(() => clearTimeout(timer))
  } catch (err) {
    if (err instanceof QssError && err.code === 'QSS_CONFIG_POAM_FIELDS') throw err
    app.log.warn({ err: { code: (err as QssError).code, message: (err as Error).message } }, 'could not read the POA&M table schema from ServiceNow; /ready reports it until it can')
  }
  if (app.config.SERVICENOW_URL === undefined) return
  addReadinessCheck('servicenow', async () => {
    if (verified && Date.now() - checkedAt < RECHECK_MS) return true
    checkedAt = Date.now()
    try {
      return await check()
    } catch {
      verified = false
      return false
    }
  })
}
