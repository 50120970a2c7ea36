import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import { generateEstate, type SimEstate } from './hosts.js'
import { SimAuth, type SimCredentials } from './servicenow-auth.js'
import { runBatch } from './servicenow-batch.js'
import { FaultInjector, RateLimiter, Semaphore, type RateRule, type SemaphoreOptions, type SimFault, type SimFaults } from './servicenow-limits.js'
import type { SimRow } from './servicenow-query.js'
import { seedInstance } from './servicenow-seed.js'
import { errorReply, handleTableRequest, type SimReply } from './servicenow-table-api.js'

/**
 * A ServiceNow instance for tests, benchmarks and the demo: Table API, Batch API, Basic /
 * API-key / OAuth auth, rate-limit rules, the API_INT semaphore, latency and faults, seeded
 * from the same estate as the Qualys simulator. Test-only endpoints under `/__sim/` read
 * tables, stats and set faults; they need no auth and exist only here.
 */

export interface ServiceNowSimOptions {
  port?: number
  host?: string
  /** Estate seed and size when `estate` is not given (defaults 1 and 25). */
  seed?: number
  hosts?: number
  estate?: SimEstate
  credentials?: Partial<SimCredentials>
  /** Latency added to every API request (to every item of a Batch API call). */
  latencyMs?: number
  /** Batch API items not started within this many ms are left unserviced (default 30000, as an instance). */
  batchTimeLimitMs?: number
  /** The API_INT pool: threads and queue (default 4 and 50, like one instance node). */
  concurrency?: SemaphoreOptions
  /** A per-user rate-limit rule (none by default). */
  rateLimit?: RateRule
  /** OAuth access token lifetime (default 1800). */
  tokenTtlSec?: number
  faults?: SimFaults
}

export interface ServiceNowSimStats {
  /** Every API request. */
  total: number
  /** Requests per `"<METHOD> <table>"` (`oauth_token.do` and `batch` included). */
  calls: Record<string, number>
  /** Requests carried inside Batch API calls, per `"<METHOD> <table>"` (not in `total` or `calls`). */
  batchItems: Record<string, number>
  /** Successful table writes (POST, PUT, PATCH, DELETE), batch items included. */
  writes: number
  /** 429s served, whatever the cause (rule, full queue, injected). */
  rateLimited: number
  unauthorized: number
  /** Injected faults served. */
  faults: number
  /** Rows returned by list calls, per table: shows whether a query widened. */
  rowsReturned: Record<string, number>
  /** Most API requests in flight at once (queued ones included). */
  peakConcurrency: number
  /** Summed time API requests spent in the simulator, ms: divided by wall time, the lanes a caller kept busy. */
  busyMs: number
  /** Token requests per grant type. */
  tokenGrants: Record<string, number>
}

export interface ServiceNowSim {
  url: string
  credentials: SimCredentials
  estate: SimEstate
  /** Copies of the rows of a table (and of the classes extending it). */
  table (name: string): SimRow[]
  /** Inserts a row directly, bypassing auth and limits (test setup). */
  insert (table: string, row: Record<string, string>): SimRow
  readonly stats: ServiceNowSimStats
  resetStats (): void
  setFaults (faults: SimFaults): void
  setRateLimit (rule: RateRule | undefined): void
  /** Makes every OAuth access token issued so far expire now. */
  expireTokens (): void
  close (): Promise<void>
}

const DEFAULT_CREDENTIALS: SimCredentials = {
  username: 'qss.integration',
  password: 'sim-password',
  clientId: 'sim-client-id',
  clientSecret: 'sim-client-secret',
  apiKey: 'sim-api-key'
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const sleep = async (ms: number) => { if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms)) }

function emptyStats (): ServiceNowSimStats {
  return { total: 0, calls: {}, batchItems: {}, writes: 0, rateLimited: 0, unauthorized: 0, faults: 0, rowsReturned: {}, peakConcurrency: 0, busyMs: 0, tokenGrants: {} }
}

/** `table/x`, `v2/table/x/id`, `v1/batch` → what the request addresses. */
function parseApiPath (path: string): { version: 'v1' | 'v2', table?: string, sysId?: string, batch?: boolean } | undefined {
  const m = /^(?:(v1|v2)\/)?table\/([^/]+)(?:\/([^/]+))?$/.exec(path)
  if (m !== null) {
    const out: { version: 'v1' | 'v2', table?: string, sysId?: string } = { version: m[1] === 'v2' ? 'v2' : 'v1' }
    if (m[2] !== undefined) out.table = decodeURIComponent(m[2])
    if (m[3] !== undefined) out.sysId = decodeURIComponent(m[3])
    return out
  }
  if (path === 'v1/batch') return { version: 'v1', batch: true }
  return undefined
}

export async function startServiceNowSim (options: ServiceNowSimOptions = {}): Promise<ServiceNowSim> {
  const estate = options.estate ?? generateEstate({ seed: options.seed ?? 1, hosts: options.hosts ?? 25 })
  const store = seedInstance(estate)
  const credentials = { ...DEFAULT_CREDENTIALS, ...options.credentials }
  const auth = new SimAuth(credentials, options.tokenTtlSec ?? 1800)
  const semaphore = new Semaphore(options.concurrency ?? { threads: 4, queue: 50 })
  const rate = new RateLimiter(options.rateLimit)
  const faults = new FaultInjector()
  faults.set({ latencyMs: options.latencyMs ?? 0, ...options.faults })
  let stats = emptyStats()
  let inFlight = 0
  let origin = ''

  const count = (method: string, target: string) => {
    stats.total++
    const key = `${method} ${target}`
    stats.calls[key] = (stats.calls[key] ?? 0) + 1
  }
  // Requests carried inside a Batch API call are not round trips of their own: counted apart.
  const countBatchItem = (method: string, target: string) => {
    const key = `${method} ${target}`
    stats.batchItems[key] = (stats.batchItems[key] ?? 0) + 1
  }
  const snapshot = (): ServiceNowSimStats => ({ ...stats, calls: { ...stats.calls }, batchItems: { ...stats.batchItems }, rowsReturned: { ...stats.rowsReturned }, tokenGrants: { ...auth.grants } })
  const resetStats = () => {
    stats = emptyStats()
    for (const key of Object.keys(auth.grants)) delete auth.grants[key]
  }
  const tally = (reply: SimReply, method: string, target: string) => {
    const rows = (reply.body as { result?: unknown } | undefined)?.result
    if (method === 'GET' && Array.isArray(rows)) stats.rowsReturned[target] = (stats.rowsReturned[target] ?? 0) + rows.length
    if (reply.status === 429) stats.rateLimited++
    if (reply.status === 401) stats.unauthorized++
    if (WRITE_METHODS.has(method) && reply.status >= 200 && reply.status < 300) stats.writes++
  }

  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 10 * 1024 * 1024 })
  // Bodies stay raw text: the API answers malformed or mistyped bodies itself, as an instance does.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => { done(null, body) })

  const send = async (reply: FastifyReply, r: SimReply) => {
    await reply.code(r.status).headers(r.headers).send(r.body === undefined ? undefined : r.body)
  }

  app.post('/oauth_token.do', async (request, reply) => {
    count('POST', 'oauth_token.do')
    const isForm = String(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
    const result = auth.token(isForm ? new URLSearchParams(String(request.body ?? '')) : undefined)
    if (result.status === 401) stats.unauthorized++
    await reply.code(result.status).send(result.body)
  })

  /** Everything an API call goes through before the Table API sees it. */
  async function admit (request: FastifyRequest, method: string, target: string): Promise<{ reply?: SimReply, release: () => void }> {
    const release = await semaphore.enter()
    if (release === undefined) {
      return { reply: errorReply(429, 'Maximum number of concurrent requests exceeded', 'The API_INT semaphore queue is full'), release: () => {} }
    }
    const user = auth.authenticate(request.headers)
    if (user === undefined) return { reply: errorReply(401, 'User Not Authenticated', 'Required to provide Auth information'), release }
    const decision = rate.check(user)
    if (!decision.allowed) return { reply: errorReply(429, 'Rate limit exceeded', `Rate limit rule for user ${user}`, decision.headers), release }
    // A batch's latency is its items' (runBatch): it saves round trips, not server time.
    if (target !== 'batch') await sleep(faults.latencyMs)
    const fault = faults.take(method, target)
    if (fault !== undefined) {
      await sleep(fault.delayMs ?? 0)
      return { reply: faultReply(fault), release }
    }
    return { release }
  }

  const faultReply = (fault: SimFault): SimReply => {
    stats.faults++
    const headers: Record<string, string> = fault.retryAfterSec === undefined ? {} : { 'retry-after': String(fault.retryAfterSec) }
    const message = fault.status === 429 ? 'Rate limit exceeded' : fault.status === 200 ? 'Transaction cancelled: maximum execution time exceeded' : 'Service unavailable'
    return errorReply(fault.status, message, 'injected by the simulator', headers)
  }
  const batchOptions = () => ({
    itemMs: faults.latencyMs,
    timeLimitMs: options.batchTimeLimitMs ?? 30_000,
    // Faults aimed at a table (not at the batch call) answer the matching item.
    fault: (method: string, table: string) => {
      const fault = faults.take(method, table)
      return fault === undefined ? undefined : faultReply(fault)
    }
  })

  app.route({
    method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/api/now/*',
    handler: async (request, reply) => {
      const method = request.method.toUpperCase()
      const path = parseApiPath((request.params as { '*': string })['*'])
      const target = path?.batch === true ? 'batch' : path?.table ?? 'unknown'
      count(method, target)
      inFlight++
      stats.peakConcurrency = Math.max(stats.peakConcurrency, inFlight)
      const entered = performance.now()
      let release = () => {}
      try {
        if (path === undefined) return await send(reply, errorReply(400, 'Requested URI does not represent any resource'))
        const admitted = await admit(request, method, target)
        release = admitted.release
        let result = admitted.reply
        if (result === undefined) {
          const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : ''
          if (path.batch === true) {
            result = method === 'POST'
              ? await runBatch(String(request.body ?? ''), origin, store, (m, t, r) => { countBatchItem(m, t); tally(r, m, t) }, batchOptions())
              : errorReply(405, 'Method not Supported')
          } else {
            result = handleTableRequest(store, {
              method,
              version: path.version,
              table: path.table ?? '',
              ...(path.sysId !== undefined ? { sysId: path.sysId } : {}),
              params: new URLSearchParams(query),
              body: String(request.body ?? ''),
              contentType: String(request.headers['content-type'] ?? ''),
              ...(request.headers.accept !== undefined ? { accept: request.headers.accept } : {}),
              origin
            })
          }
        }
        // The batch call itself is not a write; its items were tallied one by one.
        tally(result, path.batch === true ? 'BATCH' : method, target)
        await send(reply, result)
      } finally {
        release()
        inFlight--
        stats.busyMs += performance.now() - entered
      }
    }
  })

  app.get('/__sim/tables/:name', async (request) => ({ result: store.all((request.params as { name: string }).name) }))
  app.get('/__sim/stats', async () => snapshot())
  app.post('/__sim/stats', async () => { resetStats(); return snapshot() })
  app.get('/__sim/faults', async () => ({ latencyMs: faults.latencyMs, pending: faults.pending() }))
  app.post('/__sim/faults', async (request, reply) => {
    try {
      faults.set(JSON.parse(String(request.body ?? '{}')) as SimFaults)
      return { latencyMs: faults.latencyMs, pending: faults.pending() }
    } catch {
      return await reply.code(400).send({ error: 'body must be JSON: {latencyMs?, next?: [{status, times?, retryAfterSec?, delayMs?, method?, table?}]}' })
    }
  })

  const host = options.host ?? '127.0.0.1'
  await app.listen({ port: options.port ?? 0, host })
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${(app.server.address() as AddressInfo).port}`
  origin = url

  return {
    url,
    credentials,
    estate,
    table: (name) => store.all(name).map((row) => ({ ...row })),
    insert: (table, row) => ({ ...store.insert(table, row) }),
    get stats () { return snapshot() },
    resetStats,
    setFaults: (f) => faults.set(f),
    setRateLimit: (rule) => { rate.rule = rule; rate.reset() },
    expireTokens: () => auth.expireAccessTokens(),
    close: async () => { await app.close() }
  }
}
