import { test } from 'tap'
import { isQssError } from '../../src/errors.js'
import { createMetrics } from '../../src/metrics.js'
import { createServiceNowClient } from '../../src/servicenow/client.js'
import { q } from '../../src/servicenow/query.js'
import { createConcurrencyLimiter } from '../../src/store/concurrency-limiter.js'
import { startServiceNowSim } from '../../src/sim/servicenow.js'
import { startTestRedis } from '../helpers/redis.js'
import { calls, simWithClient } from './fixtures/sim-client.js'

async function codeOf (promise: Promise<unknown>): Promise<string> {
  try {
    await promise
    return 'resolved'
  } catch (err) {
    return isQssError(err) ? err.code : `not a QssError: ${String(err)}`
  }
}

test('CRUD through the client; values are strings; missing records', async (t) => {
  const { sim, client } = await simWithClient(t)
  const row = await client.create('u_poam_table', { short_description: 'a', u_correlation_id: 'c1', cmdb_ci: sim.estate.cis[0]?.sys_id ?? '' })
  t.match(row.sys_id, /^[0-9a-f]{32}$/)
  t.equal(row.cmdb_ci, sim.estate.cis[0]?.sys_id, 'reference as a plain sys_id')
  const updated = await client.update('u_poam_table', row.sys_id ?? '', { status: 'Closed' })
  t.equal(updated.status, 'Closed')
  t.same(await client.get('u_poam_table', row.sys_id ?? '', ['status']), { sys_id: row.sys_id, status: 'Closed' })
  t.equal(await client.remove('u_poam_table', row.sys_id ?? ''), true)
  t.equal(await client.remove('u_poam_table', row.sys_id ?? ''), false, 'already gone')
  t.equal(await client.get('u_poam_table', row.sys_id ?? ''), undefined)
  t.same(await client.list('u_poam_table', { query: q().eq('u_correlation_id', 'c1') }), [], 'v1 404-on-empty is an empty list')
  t.equal(await codeOf(client.update('u_poam_table', 'f'.repeat(32), { status: 'Open' })), 'QSS_SERVICENOW_NOT_FOUND')
  t.equal(await codeOf(client.get('u_poam_table', '../sys_user')), 'QSS_QUERY_UNSAFE_VALUE', 'a sys_id never reaches the path unchecked')
})

test('paging follows every page in sys_id order and honours limit', async (t) => {
  const { sim, client } = await simWithClient(t, { hosts: 60 }, { pageSize: 7 })
  sim.resetStats()
  const rows = await client.list('cmdb_ci_server', { fields: ['name'] })
  const expected = sim.table('cmdb_ci_server').map((r) => r.sys_id).sort()
  t.same(rows.map((r) => r.sys_id), expected, 'every row once, in sys_id order')
  t.equal(calls(sim, 'GET cmdb_ci_server'), Math.ceil(expected.length / 7))
  t.same(Object.keys(rows[0] ?? {}).sort(), ['name', 'sys_id'])
  const limited = await client.list('cmdb_ci_server', { limit: 10 })
  t.equal(limited.length, 10)
})

test('Basic: a 401 is not retried', async (t) => {
  const sim = await startServiceNowSim()
  t.teardown(() => sim.close())
  const client = createServiceNowClient({ baseUrl: sim.url, auth: { mode: 'basic', username: 'qss.integration', password: 'wrong-secret-value' }, concurrency: 2, timeoutMs: 5000, pageSize: 10 })
  let message = ''
  try { await client.list('cmdb_ci_server') } catch (err) { message = (err as Error).message; t.equal((err as { code?: string }).code, 'QSS_SERVICENOW_AUTH') }
  t.notMatch(message, /wrong-secret-value/, 'no credential in the error')
  t.equal(sim.stats.unauthorized, 1)
})

test('API key auth', async (t) => {
  const sim = await startServiceNowSim()
  t.teardown(() => sim.close())
  const client = createServiceNowClient({ baseUrl: sim.url, auth: { mode: 'apikey', apiKey: sim.credentials.apiKey }, concurrency: 2, timeoutMs: 5000, pageSize: 10 })
  t.equal((await client.list('cmdb_ci_server', { limit: 3 })).length, 3)
})

test('OAuth: lazy token, one fetch for concurrent callers, refetch once on 401, refresh before expiry', async (t) => {
  const sim = await startServiceNowSim({ tokenTtlSec: 3 })
  t.teardown(() => sim.close())
  const c = sim.credentials
  const client = createServiceNowClient({
    baseUrl: sim.url,
    auth: { mode: 'oauth', clientId: c.clientId, clientSecret: c.clientSecret, username: c.username, password: c.password },
    concurrency: 4,
    timeoutMs: 5000,
    pageSize: 10
  })
  t.equal(client.stats().tokenFetches, 0, 'no token before the first call')
  await Promise.all([1, 2, 3].map(async () => await client.list('cmdb_ci_server', { limit: 1 })))
  t.same(sim.stats.tokenGrants, { password: 1 })

  sim.expireTokens()
  await client.list('cmdb_ci_server', { limit: 1 })
  t.equal(sim.stats.unauthorized, 1, 'the expired token got one 401')
  t.same(sim.stats.tokenGrants, { password: 1, refresh_token: 1 }, 'then the token was refreshed and the call retried')

  // expires_in is 2 s here; the client refreshes in the last tenth of the lifetime.
  await new Promise((resolve) => setTimeout(resolve, 1900))
  await client.list('cmdb_ci_server', { limit: 1 })
  t.equal(sim.stats.unauthorized, 1, 'no 401: refreshed before expiry')
  t.same(sim.stats.tokenGrants, { password: 1, refresh_token: 2 })

  const bad = createServiceNowClient({ baseUrl: sim.url, auth: { mode: 'oauth', clientId: c.clientId, clientSecret: 'nope-secret' }, concurrency: 1, timeoutMs: 5000, pageSize: 10 })
  t.equal(await codeOf(bad.list('cmdb_ci_server')), 'QSS_SERVICENOW_AUTH')
})

test('OAuth client_credentials grant without a user', async (t) => {
  const sim = await startServiceNowSim()
  t.teardown(() => sim.close())
  const client = createServiceNowClient({ baseUrl: sim.url, auth: { mode: 'oauth', clientId: sim.credentials.clientId, clientSecret: sim.credentials.clientSecret }, concurrency: 1, timeoutMs: 5000, pageSize: 10 })
  await client.list('cmdb_ci_server', { limit: 1 })
  t.same(sim.stats.tokenGrants, { client_credentials: 1 })
})

test('429 with Retry-After waits as told; without it backs off; exhausted retries fail clearly', async (t) => {
  const waits: Array<{ reason: string, ms: number }> = []
  const metrics = createMetrics()
  const { sim, client } = await simWithClient(t, {}, { onWait: (e) => waits.push(e), metrics, maxRateLimitRetries: 2 })
  sim.setFaults({ next: [{ status: 429, retryAfterSec: 1 }, { status: 429, times: 1 }] })
  t.equal((await client.list('cmdb_ci_server', { limit: 1 })).length, 1)
  t.equal(waits.length, 2)
  t.same(waits[0], { reason: 'rate_limit', ms: 1000 }, 'Retry-After honoured')
  t.equal(waits[1]?.reason, 'rate_limit')
  t.ok((waits[1]?.ms ?? 0) > 0, 'backs off without Retry-After')
  t.equal(sim.stats.rateLimited, 2)
  const waited = await metrics.registry.getSingleMetricAsString('qss_upstream_wait_seconds_total')
  t.match(waited, /target="servicenow",reason="rate_limit"/)

  sim.setFaults({ next: [{ status: 429, times: 3 }] })
  t.equal(await codeOf(client.list('cmdb_ci_server', { limit: 1 })), 'QSS_SERVICENOW_RATE_LIMIT')
  sim.setFaults({ next: [{ status: 429, retryAfterSec: 3600 }] })
  t.equal(await codeOf(client.list('cmdb_ci_server', { limit: 1 })), 'QSS_SERVICENOW_RATE_LIMIT', 'an hour-long wait is not slept through')
})

test('an hourly rate rule is honoured end to end', async (t) => {
  const { sim, client } = await simWithClient(t, { rateLimit: { limit: 2, windowSec: 1 } })
  // Six quick calls: whichever side of a window boundary they fall, one window sees three.
  for (let i = 0; i < 6; i++) await client.list('cmdb_ci_server', { limit: 1 })
  t.ok(sim.stats.rateLimited >= 1, 'the rule refused some calls')
  t.equal(client.stats().rateLimited, sim.stats.rateLimited, 'and each refusal was waited out')
})

test('5xx and timeouts: idempotent calls retried, POST never', async (t) => {
  const { sim, client } = await simWithClient(t, {}, { timeoutMs: 1000 })
  sim.setFaults({ next: [{ status: 503, times: 2 }] })
  t.equal((await client.list('cmdb_ci_server', { limit: 1 })).length, 1, 'GET retried through two 503s')
  sim.setFaults({ next: [{ status: 502, method: 'POST' }] })
  t.equal(await codeOf(client.create('u_poam_table', { short_description: 'x' })), 'QSS_SERVICENOW_UNAVAILABLE')
  t.equal(calls(sim, 'POST u_poam_table'), 1, 'a create is not repeated')
  sim.setFaults({ next: [{ status: 500, method: 'POST', delayMs: 1500 }] })
  t.equal(await codeOf(client.create('u_poam_table', { short_description: 'x' })), 'QSS_SERVICENOW_TIMEOUT')
  t.equal(calls(sim, 'POST u_poam_table'), 2)
  sim.setFaults({ next: [{ status: 500, method: 'GET', delayMs: 1500 }] })
  t.equal((await client.list('cmdb_ci_server', { limit: 1 })).length, 1, 'a timed-out GET is retried')
  sim.setFaults({ next: [{ status: 503, times: 10 }] })
  t.equal(await codeOf(client.list('cmdb_ci_server', { limit: 1 })), 'QSS_SERVICENOW_UNAVAILABLE')
})

test('the error envelope is read whatever the status', async (t) => {
  const { sim, client } = await simWithClient(t)
  sim.setFaults({ next: [{ status: 200, method: 'PATCH' }] })
  const row = await client.create('u_poam_table', { short_description: 'x' })
  let err: unknown
  try { await client.update('u_poam_table', row.sys_id ?? '', { status: 'Open' }) } catch (e) { err = e }
  t.equal((err as { code?: string }).code, 'QSS_SERVICENOW_BAD_REQUEST')
  t.match((err as Error).message, /maximum execution time exceeded/, 'carries the ServiceNow message')
})

test('concurrency is bounded for every caller together', async (t) => {
  const { sim, client } = await simWithClient(t, { latencyMs: 30 }, { concurrency: 3 })
  sim.resetStats()
  await Promise.all(Array.from({ length: 12 }, async () => await client.list('cmdb_ci_server', { limit: 1 })))
  t.equal(sim.stats.total, 12)
  t.ok(sim.stats.peakConcurrency <= 3, `peak ${sim.stats.peakConcurrency} within 3`)
  t.ok(sim.stats.peakConcurrency >= 2, 'calls did run in parallel')
})

test('a Redis limiter bounds two clients (replicas) together', async (t) => {
  const redis = await startTestRedis()
  t.teardown(() => redis.stop())
  const sim = await startServiceNowSim({ latencyMs: 30 })
  t.teardown(() => sim.close())
  const make = () => createServiceNowClient({
    baseUrl: sim.url,
    auth: { mode: 'apikey', apiKey: sim.credentials.apiKey },
    concurrency: 2,
    timeoutMs: 5000,
    pageSize: 10,
    limiter: createConcurrencyLimiter({ name: 'servicenow', limit: 2, redis: redis.client(), keyPrefix: 'client-test' })
  })
  const [a, b] = [make(), make()]
  await Promise.all(Array.from({ length: 10 }, async (_, i) => await (i % 2 === 0 ? a : b).list('cmdb_ci_server', { limit: 1 })))
  t.equal(sim.stats.total, 10)
  t.ok(sim.stats.peakConcurrency <= 2, `peak ${sim.stats.peakConcurrency} within the shared 2`)
})
