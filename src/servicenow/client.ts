import { randomUUID } from 'node:crypto'
import got, { type Got, type Response } from 'got'
import { QssError } from '../errors.js'
import type { Metrics } from '../metrics.js'
import { createConcurrencyLimiter, type ConcurrencyLimiter } from '../store/concurrency-limiter.js'
import { createAuthenticator, type ServiceNowAuth } from './auth.js'
import type { EncodedQuery } from './query.js'
import { errorEnvelope, failure, parseBody, parseLinkHeader, retryAfterMs, snMessage, toRecord, type ServiceNowRecord } from './responses.js'

/**
 * The one way this service talks to ServiceNow's Table API. Every call goes through one
 * concurrency limiter (shared by all callers, and by all replicas when it lives in
 * Redis), waits on 429 as `Retry-After` says or backs off without it, retries 5xx and
 * timeouts only for idempotent calls (never POST: a retried create could duplicate), and
 * reads the error envelope whatever the status. Records come back with every value a
 * string (`sysparm_exclude_reference_link=true`).
 */

export type { ServiceNowRecord } from './responses.js'
export type { ServiceNowAuth } from './auth.js'

export interface ClientLog {
  warn (obj: object, msg: string): void
  debug (obj: object, msg: string): void
}

export interface ServiceNowClientOptions {
  baseUrl: string
  auth: ServiceNowAuth
  /** Calls in flight at once when no `limiter` is given. */
  concurrency: number
  timeoutMs: number
  /** Rows per list page (`sysparm_limit`). */
  pageSize: number
  /** A limiter shared with others (e.g. Redis-backed across replicas). */
  limiter?: ConcurrencyLimiter
  metrics?: Metrics
  log?: ClientLog
  onWait?: (e: { reason: string, ms: number }) => void
  /** Retries of 5xx / timeouts on idempotent calls (default 3). */
  maxRetries?: number
  /** Retries after 429 (default 6). */
  maxRateLimitRetries?: number
  /** First backoff step, doubled per attempt with jitter (default 500). */
  backoffBaseMs?: number
  /** A 429 asking to wait longer than this fails at once with QSS_SERVICENOW_RATE_LIMIT (default 60000). */
  maxRetryAfterMs?: number
}

export interface ListOptions {
  query?: EncodedQuery
  /** Columns to return; `sys_id` is always added. Omitted: every column. */
  fields?: readonly string[]
  /** Stop after this many rows. */
  limit?: number
}

export interface ServiceNowClientStats {
  calls: number
  retries: number
  rateLimited: number
  tokenFetches: number
  waitedMs: number
}

export interface ServiceNowClient {
  listPages (table: string, options?: ListOptions): AsyncGenerator<ServiceNowRecord[]>
  list (table: string, options?: ListOptions): Promise<ServiceNowRecord[]>
  /** undefined when the record does not exist (or an ACL hides it). */
  get (table: string, sysId: string, fields?: readonly string[]): Promise<ServiceNowRecord | undefined>
  create (table: string, payload: Readonly<Record<string, string>>): Promise<ServiceNowRecord>
  update (table: string, sysId: string, changed: Readonly<Record<string, string>>): Promise<ServiceNowRecord>
  /** false when the record was already gone. */
  remove (table: string, sysId: string): Promise<boolean>
  /** Rows matching a query, from `X-Total-Count` (one call, one row read). */
  count (table: string, query?: EncodedQuery): Promise<number>
  /**
   * Several Table API writes in one Batch API call (one round trip; the instance still runs
   * them one by one). Each answer carries its own status; requests the instance did not
   * get to (its 30 s cut) come back with status 0.
   */
  batch (requests: readonly BatchRequest[]): Promise<BatchAnswer[]>
  stats (): ServiceNowClientStats
}

export interface BatchRequest {
  method: 'POST' | 'PATCH' | 'DELETE'
  table: string
  sysId?: string
  body?: Readonly<Record<string, string>>
}

export interface BatchAnswer {
  status: number
  record?: ServiceNowRecord
  error?: string
}

const TABLE = /^[a-z0-9_]+$/
const SYS_ID = /^[0-9a-f]{32}$/

function checkTable (table: string): string {
  if (!TABLE.test(table)) throw new QssError('QSS_QUERY_UNSAFE_VALUE', `Invalid ServiceNow table name ${JSON.stringify(table)}`, { statusCode: 422 })
  return table
}

function checkSysId (sysId: string): string {
  if (!SYS_ID.test(sysId)) throw new QssError('QSS_QUERY_UNSAFE_VALUE', `Invalid sys_id ${JSON.stringify(sysId.slice(0, 40))}`, { statusCode: 422 })
  return sysId
}

interface Call {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  path: string
  operation: string
  searchParams?: URLSearchParams
  json?: unknown
  /** 404 is an answer, not a failure (v1 empty lists, missing records). */
  allow404?: boolean
}

const sleep = async (ms: number) => { await new Promise((resolve) => setTimeout(resolve, ms)) }

export function createServiceNowClient (options: ServiceNowClientOptions): ServiceNowClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '')
  const http: Got = got.extend({
    throwHttpErrors: false,
    retry: { limit: 0 },
    followRedirect: false,
    responseType: 'text',
    timeout: { request: options.timeoutMs },
    headers: { accept: 'application/json' }
  })
  const auth = createAuthenticator(options.auth, http, baseUrl, options.timeoutMs)
  const limiter = options.limiter ?? createConcurrencyLimiter({ name: 'servicenow', limit: options.concurrency })
  const maxRetries = options.maxRetries ?? 3
  const maxRateLimitRetries = options.maxRateLimitRetries ?? 6
  const backoffBaseMs = options.backoffBaseMs ?? 500
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000
  const counters: ServiceNowClientStats = { calls: 0, retries: 0, rateLimited: 0, tokenFetches: 0, waitedMs: 0 }

  const backoff = (attempt: number) => {
    const ceiling = Math.min(backoffBaseMs * 2 ** attempt, 30_000)
    return Math.round(ceiling / 2 + Math.random() * ceiling / 2)
  }

  async function wait (reason: string, ms: number, call: Call, status: number | string) {
    counters.retries++
    counters.waitedMs += ms
    options.onWait?.({ reason, ms })
    options.metrics?.upstreamWaitSeconds.inc({ target: 'servicenow', reason }, ms / 1000)
    options.log?.warn({ operation: call.operation, status, waitMs: ms, reason }, 'ServiceNow call will be retried')
    await sleep(ms)
  }

  async function send (call: Call, headers: Record<string, string>): Promise<Response<string>> {
    const release = await limiter.acquire()
    try {
      counters.calls++
      return await http(`${baseUrl}${call.path}`, {
        method: call.method,
        headers,
        ...(call.searchParams !== undefined ? { searchParams: call.searchParams } : {}),
        ...(call.json !== undefined ? { json: call.json } : {})
      })
    } finally {
      await release()
    }
  }

  async function request (call: Call): Promise<{ status: number, body: unknown, headers: Response['headers'] }> {
    const idempotent = call.method !== 'POST'
    let authRetried = false
    let rateAttempts = 0
    let failedAttempts = 0
    for (;;) {
      const headers = await auth.headers()
      let res: Response<string>
      try {
        res = await send(call, headers)
      } catch (err) {
        const timedOut = (err as { code?: string }).code === 'ETIMEDOUT'
        options.metrics?.upstreamCalls.inc({ target: 'servicenow', operation: call.operation, status: timedOut ? 'timeout' : 'error' })
        if (idempotent && failedAttempts < maxRetries) {
          await wait('backoff', backoff(failedAttempts++), call, timedOut ? 'timeout' : 'error')
          continue
        }
        throw timedOut
          ? new QssError('QSS_SERVICENOW_TIMEOUT', `ServiceNow ${call.operation}: no answer within ${options.timeoutMs} ms`, { statusCode: 504 })
          : new QssError('QSS_SERVICENOW_UNAVAILABLE', `ServiceNow ${call.operation}: ${(err as { code?: string }).code ?? 'network error'}`, { statusCode: 502 })
      }
      const status = res.statusCode
      options.metrics?.upstreamCalls.inc({ target: 'servicenow', operation: call.operation, status: String(status) })
      const body = parseBody(res.body)
      const envelope = errorEnvelope(body)

      if (status === 401 && auth.mode === 'oauth' && !authRetried) {
        authRetried = true
        auth.rejected(headers)
        continue
      }
      if (status === 429) {
        counters.rateLimited++
        const asked = retryAfterMs(res.headers)
        if (asked !== undefined && asked > maxRetryAfterMs) {
          throw new QssError('QSS_SERVICENOW_RATE_LIMIT', `ServiceNow ${call.operation}: rate limited for ${Math.ceil(asked / 1000)} s (more than the ${maxRetryAfterMs / 1000} s this client waits)`, {
            statusCode: 503,
            details: { retryAfterSec: Math.ceil(asked / 1000) }
          })
        }
        if (rateAttempts < maxRateLimitRetries) {
          await wait('rate_limit', asked ?? backoff(rateAttempts), call, status)
          rateAttempts++
          continue
        }
      }
      if (status >= 500 && idempotent && failedAttempts < maxRetries) {
        await wait('backoff', backoff(failedAttempts++), call, status)
        continue
      }
      if (status === 404 && call.allow404 === true) return { status, body, headers: res.headers }
      if (status >= 300 || envelope !== undefined) throw failure(status, envelope, call.operation)
      return { status, body, headers: res.headers }
    }
  }

  const resultOf = (body: unknown) => (body as { result?: unknown } | undefined)?.result

  async function * listPages (table: string, opts: ListOptions = {}): AsyncGenerator<ServiceNowRecord[]> {
    checkTable(table)
    const base = opts.query?.toString() ?? ''
    // A stable order is what makes offset paging neither skip nor repeat rows.
    const query = opts.query?.hasOrder() === true ? base : [base, 'ORDERBYsys_id'].filter((s) => s !== '').join('^')
    let offset = 0
    let remaining = opts.limit ?? Number.POSITIVE_INFINITY
    while (remaining > 0) {
      const pageSize = Math.min(options.pageSize, remaining)
      const params = new URLSearchParams({
        sysparm_query: query,
        sysparm_limit: String(pageSize),
        sysparm_offset: String(offset),
        sysparm_exclude_reference_link: 'true'
      })
      if (opts.fields !== undefined) params.set('sysparm_fields', [...new Set(['sys_id', ...opts.fields])].join(','))
      const res = await request({ method: 'GET', path: `/api/now/table/${table}`, operation: `list ${table}`, searchParams: params, allow404: true })
      const rows = res.status === 404 ? [] : (resultOf(res.body) as unknown[] | undefined ?? []).map(toRecord)
      if (rows.length > 0) yield rows
      remaining -= rows.length
      // The offset counts rows before ACLs filter them, so a short page is not the last page
      // by itself: the Link header (or the total) says whether another one follows.
      offset += pageSize
      const links = parseLinkHeader(String(res.headers.link ?? ''))
      const total = Number(res.headers['x-total-count'] ?? Number.NaN)
      const more = links.size > 0 ? links.has('next') : Number.isFinite(total) ? offset < total : rows.length === pageSize
      if (res.status === 404 || !more) return
    }
  }

  return {
    listPages,
    async list (table, opts) {
      const out: ServiceNowRecord[] = []
      for await (const page of listPages(table, opts)) out.push(...page)
      return out
    },
    async get (table, sysId, fields) {
      const params = new URLSearchParams({ sysparm_exclude_reference_link: 'true' })
      if (fields !== undefined) params.set('sysparm_fields', [...new Set(['sys_id', ...fields])].join(','))
      const res = await request({ method: 'GET', path: `/api/now/table/${checkTable(table)}/${checkSysId(sysId)}`, operation: `get ${table}`, searchParams: params, allow404: true })
      return res.status === 404 ? undefined : toRecord(resultOf(res.body))
    },
    async create (table, payload) {
      const res = await request({
        method: 'POST',
        path: `/api/now/table/${checkTable(table)}`,
        operation: `create ${table}`,
        searchParams: new URLSearchParams({ sysparm_exclude_reference_link: 'true' }),
        json: payload
      })
      return toRecord(resultOf(res.body))
    },
    async update (table, sysId, changed) {
      const res = await request({
        method: 'PATCH',
        path: `/api/now/table/${checkTable(table)}/${checkSysId(sysId)}`,
        operation: `update ${table}`,
        searchParams: new URLSearchParams({ sysparm_exclude_reference_link: 'true' }),
        json: changed
      })
      return toRecord(resultOf(res.body))
    },
    async remove (table, sysId) {
      const res = await request({ method: 'DELETE', path: `/api/now/table/${checkTable(table)}/${checkSysId(sysId)}`, operation: `delete ${table}`, allow404: true })
      return res.status !== 404
    },
    async count (table, query) {
      const params = new URLSearchParams({ sysparm_query: query?.toString() ?? '', sysparm_limit: '1', sysparm_fields: 'sys_id' })
      const res = await request({ method: 'GET', path: `/api/now/table/${checkTable(table)}`, operation: `count ${table}`, searchParams: params, allow404: true })
      if (res.status === 404) return 0
      const total = Number(res.headers['x-total-count'])
      if (Number.isFinite(total)) return total
      throw new QssError('QSS_SERVICENOW_BAD_RESPONSE', `ServiceNow did not report X-Total-Count for ${table}`, { statusCode: 502 })
    },
    async batch (requests) {
      if (requests.length === 0) return []
      const restRequests = requests.map((r, i) => ({
        id: String(i),
        method: r.method,
        url: `/api/now/table/${checkTable(r.table)}${r.sysId === undefined ? '' : `/${checkSysId(r.sysId)}`}?sysparm_exclude_reference_link=true`,
        headers: [{ name: 'Content-Type', value: 'application/json' }, { name: 'Accept', value: 'application/json' }],
        ...(r.body === undefined ? {} : { body: Buffer.from(JSON.stringify(r.body)).toString('base64') })
      }))
      const res = await request({ method: 'POST', path: '/api/now/v1/batch', operation: 'batch', json: { batch_request_id: randomUUID(), rest_requests: restRequests } })
      const serviced = (res.body as { serviced_requests?: Array<{ id?: string, status_code?: number, body?: string }> } | undefined)?.serviced_requests ?? []
      const answers: BatchAnswer[] = requests.map(() => ({ status: 0, error: 'not serviced within the batch time limit' }))
      for (const item of serviced) {
        const index = Number(item.id)
        if (!Number.isInteger(index) || index < 0 || index >= answers.length) continue
        const status = Number(item.status_code ?? 0)
        const body = item.body === undefined || item.body === '' ? undefined : parseBody(Buffer.from(item.body, 'base64').toString('utf8'))
        const answer: BatchAnswer = { status }
        if (status >= 200 && status < 300) {
          if (body !== undefined) answer.record = toRecord(resultOf(body))
        } else {
          answer.error = snMessage(errorEnvelope(body))
        }
        answers[index] = answer
      }
      return answers
    },
    stats: () => ({ ...counters, tokenFetches: auth.tokenFetches() })
  }
}
