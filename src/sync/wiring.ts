import type { Redis } from 'ioredis'
import { serviceNowAuthMode, type Config } from '../config.js'
import { QssError } from '../errors.js'
import { MemoryFindingsStore } from '../findings/memory-store.js'
import { RedisFindingsStore } from '../findings/redis-store.js'
import type { FindingsStore } from '../findings/store.js'
import type { Metrics } from '../metrics.js'
import { baseCorrelationId } from '../poam/correlation.js'
import { FieldRole, columnOf, profileFromConfig, targetFields, type PoamProfile } from '../poam/profiles.js'
import type { Risk } from '../findings/model.js'
import { createQualysClient, type QualysClient } from '../qualys/client.js'
import { createServiceNowClient, type ServiceNowAuth, type ServiceNowClient } from '../servicenow/client.js'
import { createCiMatcher } from '../servicenow/cmdb.js'
import { parseMatchRules } from '../servicenow/host-identifiers.js'
import { createPoamRepository } from '../servicenow/poam-repository.js'
import { chunk, q } from '../servicenow/query.js'
import { createCiTagger } from '../servicenow/tags.js'
import { WriteBatcher, type RecordWriter } from '../servicenow/write-batcher.js'
import { createConcurrencyLimiter } from '../store/concurrency-limiter.js'
import type { KvStore } from '../store/kv-store.js'
import { SyncEngine } from './engine.js'
import { BullJobQueue, MemoryJobQueue } from './job-queue.js'
import { MemoryJobStore, RedisJobStore } from './job-store.js'
import { SyncJobs } from './jobs.js'
import type { ExistingRecord, PoamRecordsPort, WaitEvent } from './ports.js'
import { previewPoams, type Preview } from './preview.js'
import { exportOscalPoam } from '../poam/oscal-export.js'
import type { FindingsFilter } from '../findings/store.js'

interface Logger {
  info (obj: object, msg: string): void
  warn (obj: object, msg?: string): void
  error (obj: object, msg: string): void
  debug (obj: object, msg?: string): void
}

export interface SyncServicesDeps {
  redis: Redis | undefined
  kv: KvStore
  metrics: Metrics
  log: Logger
}

export interface SyncServices {
  jobs: SyncJobs
  findings: FindingsStore
  profile: PoamProfile
  preview (selection: { findingIds?: string[], filter?: FindingsFilter }): Promise<Preview>
  exportOscal (options: { systemId: string, filter?: Omit<FindingsFilter, 'status'> }): Promise<{ 'plan-of-action-and-milestones': Record<string, unknown> }>
  /** Profile fields the POA&M table lacks (empty when all exist); undefined without ServiceNow. */
  missingPoamFields (): Promise<string[] | undefined>
  close (): Promise<void>
}

function serviceNowAuth (config: Config): ServiceNowAuth {
  switch (serviceNowAuthMode(config)) {
    case 'apikey': return { mode: 'apikey', apiKey: config.SERVICENOW_API_KEY as string }
    case 'oauth': {
      const auth: ServiceNowAuth = { mode: 'oauth', clientId: config.SERVICENOW_CLIENT_ID as string, clientSecret: config.SERVICENOW_CLIENT_SECRET as string }
      if (config.SERVICENOW_USERNAME !== undefined) auth.username = config.SERVICENOW_USERNAME
      if (config.SERVICENOW_PASSWORD !== undefined) auth.password = config.SERVICENOW_PASSWORD
      return auth
    }
    default: return { mode: 'basic', username: config.SERVICENOW_USERNAME as string, password: config.SERVICENOW_PASSWORD as string }
  }
}

/**
 * POA&M records as the engine needs them. In recreate mode a weakness may have several
 * records (`<base>`, `<base>-r1`, ...), so lookups fetch whole families by prefix; in
 * reopen mode one exact IN query per chunk is enough.
 */
function poamRecords (client: ServiceNowClient, writer: RecordWriter, profile: PoamProfile, config: Config): PoamRecordsPort {
  const repo = createPoamRepository({ client, table: profile.table, correlationField: profile.correlationField, writer })
  const fields = targetFields(profile)
  return {
    table: profile.table,
    async findByCorrelationIds (ids) {
      const bases = [...new Set(ids.map(baseCorrelationId))]
      if (config.POAM_REOPEN === 'reopen') {
        const found = await repo.findByCorrelationIds(bases, fields)
        return new Map([...found].map(([id, r]) => [id, { sysId: r.sysId, fields: r.fields }]))
      }
      const out = new Map<string, ExistingRecord>()
      for (const part of chunk(bases, 50)) {
        const query = q()
        part.forEach((base, i) => { if (i > 0) query.or(); query.startsWith(profile.correlationField, base) })
        for await (const rows of client.listPages(profile.table, { query, fields })) {
          for (const row of rows) {
            const id = row[profile.correlationField]
            if (id !== undefined && row.sys_id !== undefined) out.set(id, { sysId: row.sys_id, fields: row })
          }
        }
      }
      return out
    },
    async create (payload) { return { sysId: (await repo.create(payload)).sysId } },
    async update (sysId, changed) { await repo.update(sysId, changed) },
    async countOpen () {
      return await client.count(profile.table, q().eq(profile.statusField, profile.statusValues.open))
    },
    async * openCorrelationIds () {
      const query = q().eq(profile.statusField, profile.statusValues.open)
      for await (const rows of client.listPages(profile.table, { query, fields: [profile.correlationField] })) {
        yield rows.map((r) => r[profile.correlationField] ?? '').filter((id) => id !== '')
      }
    },
    async countOpenByRisk () {
      const column = columnOf(profile, FieldRole.risk)
      if (column === undefined) return undefined
      const open = (risk: Risk) => client.count(profile.table, q().eq(profile.statusField, profile.statusValues.open).eq(column, risk))
      const [High, Moderate, Low] = await Promise.all([open('High'), open('Moderate'), open('Low')])
      return { High, Moderate, Low }
    }
  }
}

/** Everything a sync needs, built from the configuration: the one place clients are made. */
export function createSyncServices (config: Config, deps: SyncServicesDeps): SyncServices {
  const { redis, kv, metrics, log } = deps
  const prefix = config.REDIS_KEY_PREFIX
  const profile = profileFromConfig(config)
  const findings: FindingsStore = redis === undefined ? new MemoryFindingsStore() : new RedisFindingsStore(redis, prefix)
  const waits: { listener?: (event: WaitEvent) => void } = {}

  let qualys: QualysClient | undefined
  if (config.QUALYS_BASE_URL !== undefined) {
    qualys = createQualysClient({
      baseUrl: config.QUALYS_BASE_URL,
      username: config.QUALYS_USERNAME as string,
      password: config.QUALYS_PASSWORD as string,
      requestedWith: config.QUALYS_REQUESTED_WITH,
      timeoutMs: config.QUALYS_TIMEOUT_MS,
      pageSize: config.QUALYS_PAGE_SIZE,
      kv,
      keyPrefix: prefix,
      metrics,
      log,
      onWait: (e) => waits.listener?.({ target: 'qualys', ...e }),
      ...(redis === undefined ? {} : { redis })
    })
  }
  let serviceNow: ServiceNowClient | undefined
  if (config.SERVICENOW_URL !== undefined) {
    serviceNow = createServiceNowClient({
      baseUrl: config.SERVICENOW_URL,
      auth: serviceNowAuth(config),
      concurrency: config.SERVICENOW_CONCURRENCY,
      timeoutMs: config.SERVICENOW_TIMEOUT_MS,
      pageSize: config.SERVICENOW_PAGE_SIZE,
      limiter: createConcurrencyLimiter({ name: 'servicenow', limit: config.SERVICENOW_CONCURRENCY, keyPrefix: prefix, ...(redis === undefined ? {} : { redis }) }),
      metrics,
      log,
      onWait: (e) => waits.listener?.({ target: 'servicenow', ...e })
    })
  }
  // Writes issued together (a page's plan, a run's tags) share Batch API calls.
  const writer = serviceNow === undefined ? undefined : new WriteBatcher({ client: serviceNow, maxItems: config.SERVICENOW_BATCH_SIZE, lanes: config.SERVICENOW_CONCURRENCY, log })
  const records = serviceNow === undefined || writer === undefined ? undefined : poamRecords(serviceNow, writer, profile, config)
  const engine = qualys === undefined || serviceNow === undefined || records === undefined || writer === undefined
    ? undefined
    : new SyncEngine({
      config,
      profile,
      findings,
      kv,
      metrics,
      waits,
      records,
      source: {
        postures: (policyId, opts) => qualys.postures(policyId, opts),
        detections: (opts) => qualys.detections({ ...opts, severities: config.QUALYS_VM_SEVERITIES, includeFixed: true })
      },
      ciMatcher: createCiMatcher({
        client: serviceNow,
        kv,
        ciClass: config.CI_CLASS,
        rules: parseMatchRules(config.CI_MATCH_RULES),
        ttlSec: config.CI_CACHE_TTL_SEC,
        negativeTtlSec: config.CI_CACHE_NEGATIVE_TTL_SEC,
        metrics
      }),
      tagger: createCiTagger({ client: serviceNow, writer })
    })

  const jobs = new SyncJobs({
    store: redis === undefined ? new MemoryJobStore() : new RedisJobStore(redis, prefix),
    queue: redis === undefined ? new MemoryJobQueue() : new BullJobQueue({ redis, prefix, lockMs: config.JOB_LOCK_MS, closeTimeoutMs: Math.max(1000, config.SHUTDOWN_GRACE_MS - 2000) }),
    kv,
    scope: profile.table,
    metrics,
    log,
    executor: async (job, control) => {
      if (engine === undefined) throw new QssError('QSS_UPSTREAM_NOT_CONFIGURED', 'Set QUALYS_BASE_URL and SERVICENOW_URL (with their credentials) before syncing', { statusCode: 503 })
      return await engine.run(job, control)
    }
  })

  return {
    jobs,
    findings,
    profile,
    async preview (selection) {
      if (records === undefined) throw new QssError('QSS_UPSTREAM_NOT_CONFIGURED', 'Set SERVICENOW_URL (with credentials) to preview against live records', { statusCode: 503 })
      return await previewPoams({ config, profile, findings, records }, selection)
    },
    async exportOscal (options) {
      return await exportOscalPoam({ config, profile, findings }, options)
    },
    async missingPoamFields () {
      if (serviceNow === undefined) return undefined
      return await createPoamRepository({ client: serviceNow, table: profile.table, correlationField: profile.correlationField })
        .validateTableFields(targetFields(profile))
    },
    async close () {
      await jobs.close()
      await findings.close()
    }
  }
}
