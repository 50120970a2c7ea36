import { test, type Test } from 'tap'
import { CmdbShape } from '../../src/sim/hosts.js'
import { startServiceNowSim, type ServiceNowSim, type ServiceNowSimOptions } from '../../src/sim/servicenow.js'
import { GRC_ISSUE_COLUMNS, POAM_TABLE_COLUMNS } from '../../src/sim/servicenow-seed.js'

function basic (sim: ServiceNowSim): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${sim.credentials.username}:${sim.credentials.password}`).toString('base64')}` }
}

const json = { 'content-type': 'application/json', accept: 'application/json' }

/** Reply bodies are read loosely: the tests assert their shape. */
const read = async (res: Response): Promise<any> => await res.json()

async function start (t: Test, options: ServiceNowSimOptions = {}) {
  const sim = await startServiceNowSim(options)
  t.teardown(() => sim.close())
  return sim
}

test('seeded from the shared estate: CMDB classes, adapters, missing and ambiguous hosts', async (t) => {
  const sim = await start(t, { seed: 7, hosts: 50 })
  const servers = sim.table('cmdb_ci_server')
  t.equal(servers.length, sim.estate.cis.length, 'a parent class covers its subclasses')
  t.ok(servers.every((ci) => ['cmdb_ci_server', 'cmdb_ci_linux_server', 'cmdb_ci_win_server'].includes(ci.sys_class_name ?? '')))
  t.equal(sim.table('cmdb_ci_network_adapter').length, sim.estate.adapters.length)
  const ambiguous = sim.estate.hosts.find((h) => h.cmdb === CmdbShape.ambiguous)
  t.equal(servers.filter((ci) => ci.name === ambiguous?.hostname).length, 2)
  const dictionary = (table: string) => sim.table('sys_dictionary').filter((r) => r.name === table).map((r) => r.element).sort()
  t.same(dictionary('u_poam_table'), [...POAM_TABLE_COLUMNS, 'sys_id', 'sys_created_on', 'sys_updated_on'].sort())
  t.same(dictionary('sn_grc_issue'), [...GRC_ISSUE_COLUMNS].sort())
})

test('Table API: status codes, envelopes, strings only, unknown fields dropped', async (t) => {
  const sim = await start(t)
  const base = `${sim.url}/api/now/table/u_poam_table`
  const created = await fetch(`${base}?sysparm_exclude_reference_link=true`, {
    method: 'POST',
    headers: { ...basic(sim), ...json },
    body: JSON.stringify({ short_description: 'x', risk_rating: 3, u_not_a_column: 'lost', cmdb_ci: 'abc' })
  })
  t.equal(created.status, 201)
  const row = (await read(created)).result
  t.equal(row.risk_rating, '3', 'values are strings')
  t.equal(row.u_not_a_column, undefined, 'unknown fields are silently dropped')
  t.equal(row.cmdb_ci, 'abc')

  const withLink = await read(await fetch(`${base}/${row.sys_id}`, { headers: basic(sim) }))
  t.same(withLink.result.cmdb_ci, { link: `${sim.url}/api/now/table/cmdb_ci/abc`, value: 'abc' }, 'reference link by default')

  const patched = await fetch(`${base}/${row.sys_id}`, { method: 'PATCH', headers: { ...basic(sim), ...json }, body: JSON.stringify({ status: 'Closed' }) })
  t.equal(patched.status, 200)
  const noHeaders = await fetch(`${base}/${row.sys_id}`, { method: 'PATCH', headers: basic(sim), body: '{"status":"Open"}' })
  t.equal(noHeaders.status, 400, 'writes need Accept and Content-Type')
  const deleted = await fetch(`${base}/${row.sys_id}`, { method: 'DELETE', headers: basic(sim) })
  t.equal(deleted.status, 204)
  t.equal(await deleted.text(), '')
  const gone = await fetch(`${base}/${row.sys_id}`, { headers: basic(sim) })
  t.equal(gone.status, 404)
  t.equal((await read(gone)).status, 'failure')
  const badTable = await fetch(`${sim.url}/api/now/table/no_such_table`, { headers: basic(sim) })
  t.equal(badTable.status, 400)
})

test('lists: v1 404 on empty, v2 empty result, fields, Link and X-Total-Count', async (t) => {
  const sim = await start(t, { hosts: 25 })
  const list = (path: string, query: string) => fetch(`${sim.url}${path}?${query}`, { headers: basic(sim) })
  const v1 = await list('/api/now/table/cmdb_ci_server', 'sysparm_query=name=nothing-here')
  t.equal(v1.status, 404)
  const v2 = await list('/api/now/v2/table/cmdb_ci_server', 'sysparm_query=name=nothing-here')
  t.equal(v2.status, 200)
  t.same(await read(v2), { result: [] })

  const total = sim.table('cmdb_ci_server').length
  const first = await list('/api/now/table/cmdb_ci_server', 'sysparm_query=ORDERBYsys_id&sysparm_limit=5&sysparm_fields=name,bogus')
  t.equal(first.headers.get('x-total-count'), String(total))
  t.match(first.headers.get('link'), /rel="next"/)
  const body = await read(first)
  t.same(Object.keys(body.result[0]), ['name'], 'only the requested fields that exist')
  const last = await list('/api/now/table/cmdb_ci_server', `sysparm_query=ORDERBYsys_id&sysparm_limit=5&sysparm_offset=${total - 2}`)
  t.equal((await read(last)).result.length, 2)
  t.notMatch(last.headers.get('link'), /rel="next"/)
  const onePage = await list('/api/now/table/cmdb_ci_server', 'sysparm_limit=1000')
  t.equal(onePage.headers.get('link'), null, 'no Link header for a single page')
  const noCount = await list('/api/now/table/cmdb_ci_server', 'sysparm_limit=5&sysparm_no_count=true')
  t.equal(noCount.headers.get('x-total-count'), null)
})

test('auth: Basic, API key, OAuth (form only, expiry, refresh)', async (t) => {
  const sim = await start(t, { tokenTtlSec: 60 })
  const url = `${sim.url}/api/now/table/cmdb_ci_server?sysparm_limit=1`
  t.equal((await fetch(url)).status, 401)
  t.equal((await fetch(url, { headers: { authorization: 'Basic ' + Buffer.from('qss.integration:wrong').toString('base64') } })).status, 401)
  t.equal((await fetch(url, { headers: { 'x-sn-apikey': sim.credentials.apiKey } })).status, 200)

  const c = sim.credentials
  const asJson = await fetch(`${sim.url}/oauth_token.do`, { method: 'POST', headers: json, body: JSON.stringify({ grant_type: 'password', client_id: c.clientId }) })
  t.equal(asJson.status, 401, 'JSON is refused at the token endpoint')
  const form = new URLSearchParams({ grant_type: 'password', client_id: c.clientId, client_secret: c.clientSecret, username: c.username, password: c.password })
  const granted = await fetch(`${sim.url}/oauth_token.do`, { method: 'POST', body: form })
  t.equal(granted.status, 200)
  const token = await read(granted)
  t.equal(token.expires_in, 59)
  t.equal((await fetch(url, { headers: { authorization: `Bearer ${token.access_token}` } })).status, 200)
  sim.expireTokens()
  t.equal((await fetch(url, { headers: { authorization: `Bearer ${token.access_token}` } })).status, 401, 'an expired token gets 401')
  const refreshed = await fetch(`${sim.url}/oauth_token.do`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', client_id: c.clientId, client_secret: c.clientSecret, refresh_token: token.refresh_token })
  })
  const next = await read(refreshed)
  t.equal((await fetch(url, { headers: { authorization: `Bearer ${next.access_token}` } })).status, 200)
  const cc = await fetch(`${sim.url}/oauth_token.do`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.clientSecret }) })
  t.equal(cc.status, 200)
  t.same(sim.stats.tokenGrants, { password: 1, refresh_token: 1, client_credentials: 1 })
})

test('limits: hourly rule 429 with headers, full API_INT queue 429, injected faults', async (t) => {
  const sim = await start(t, { rateLimit: { limit: 2 }, concurrency: { threads: 1, queue: 1 }, latencyMs: 100 })
  const url = `${sim.url}/api/now/table/cmdb_ci_server?sysparm_limit=1`
  const statuses = await Promise.all([0, 1, 2].map(async () => (await fetch(url, { headers: basic(sim) })).status))
  t.same(statuses.sort(), [200, 200, 429], 'one thread, one queue slot: the third concurrent call is refused')
  const limited = await fetch(url, { headers: basic(sim) })
  t.equal(limited.status, 429)
  t.ok(Number(limited.headers.get('retry-after')) > 0)
  t.equal(limited.headers.get('x-ratelimit-limit'), '2')
  t.ok(Number(limited.headers.get('x-ratelimit-reset')) > Date.now() / 1000)
  t.equal((await read(limited)).error.message, 'Rate limit exceeded')
  t.equal(sim.stats.rateLimited, 2)

  sim.setRateLimit(undefined)
  sim.setFaults({ latencyMs: 0, next: [{ status: 503, table: 'cmdb_ci_server' }, { status: 200, method: 'GET' }] })
  t.equal((await fetch(url, { headers: basic(sim) })).status, 503)
  const envelope200 = await fetch(url, { headers: basic(sim) })
  t.equal(envelope200.status, 200)
  t.equal((await read(envelope200)).status, 'failure', 'the error envelope can come with a 200')
  t.equal((await fetch(url, { headers: basic(sim) })).status, 200)
  t.equal(sim.stats.faults, 2)
})

test('batch API and test-only endpoints', async (t) => {
  const sim = await start(t)
  const body = {
    batch_request_id: 'b1',
    rest_requests: [
      { id: '1', method: 'GET', url: '/api/now/table/cmdb_ci_server?sysparm_limit=1', headers: [{ name: 'Accept', value: 'application/json' }] },
      {
        id: '2',
        method: 'POST',
        url: '/api/now/table/cmdb_key_value',
        headers: [{ name: 'Content-Type', value: 'application/json' }, { name: 'Accept', value: 'application/json' }],
        body: Buffer.from(JSON.stringify({ key: 'k', value: 'v', configuration_item: 'x' })).toString('base64')
      }
    ]
  }
  const res = await fetch(`${sim.url}/api/now/v1/batch`, { method: 'POST', headers: { ...basic(sim), ...json }, body: JSON.stringify(body) })
  t.equal(res.status, 200)
  const out = await read(res)
  t.same(out.serviced_requests.map((r: { status_code: number }) => r.status_code), [200, 201])
  t.equal(JSON.parse(Buffer.from(out.serviced_requests[1].body, 'base64').toString()).result.value, 'v')

  const stats = await read(await fetch(`${sim.url}/__sim/stats`))
  t.equal(stats.calls['POST batch'], 1)
  t.equal(stats.batchItems['POST cmdb_key_value'], 1, 'items inside a batch are counted apart from round trips')
  t.equal(stats.calls['POST cmdb_key_value'], undefined)
  t.equal(stats.writes, 1)
  const rows = await read(await fetch(`${sim.url}/__sim/tables/cmdb_key_value`))
  t.equal(rows.result.length, 1)
  await fetch(`${sim.url}/__sim/faults`, { method: 'POST', body: JSON.stringify({ next: [{ status: 500 }] }) })
  t.equal((await fetch(`${sim.url}/api/now/table/cmdb_ci_server`, { headers: basic(sim) })).status, 500)
  await fetch(`${sim.url}/__sim/stats`, { method: 'POST' })
  t.equal(sim.stats.total, 0)
})

test('batch API: each item costs server time, the time limit leaves items unserviced, faults hit items', async (t) => {
  const sim = await start(t, { latencyMs: 80, batchTimeLimitMs: 290 })
  const item = (id: number) => ({
    id: String(id),
    method: 'POST',
    url: '/api/now/table/u_poam_table',
    headers: [{ name: 'Content-Type', value: 'application/json' }, { name: 'Accept', value: 'application/json' }],
    body: Buffer.from(JSON.stringify({ u_correlation_id: `qss-${id}` })).toString('base64')
  })
  const post = async (ids: number[]) => {
    const started = performance.now()
    const res = await fetch(`${sim.url}/api/now/v1/batch`, { method: 'POST', headers: { ...basic(sim), ...json }, body: JSON.stringify({ batch_request_id: 'b', rest_requests: ids.map(item) }) })
    return { out: await read(res), ms: performance.now() - started }
  }
  const { out, ms } = await post([1, 2, 3, 4, 5, 6])
  t.same(out.serviced_requests.map((r: { id: string, status_code: number }) => `${r.id}:${r.status_code}`), ['1:201', '2:201', '3:201', '4:201'], 'items start until the time limit passes')
  t.same(out.unserviced_requests, ['5', '6'], 'later items are left for the caller to send again')
  t.ok(ms >= 320, `four items took four item-times, not one (${Math.round(ms)} ms)`)
  t.equal(sim.table('u_poam_table').length, 4, 'unserviced items wrote nothing')
  t.ok(sim.stats.busyMs >= 320, `the time the batch held a thread is counted (${Math.round(sim.stats.busyMs)} ms)`)

  sim.setFaults({ latencyMs: 0, next: [{ status: 403, table: 'u_poam_table' }] })
  const faulted = await post([7, 8])
  t.same(faulted.out.serviced_requests.map((r: { status_code: number }) => r.status_code), [403, 201], 'a fault aimed at a table answers one item, not the batch')
})

test('indexed lookups (= and IN) follow inserts, updates and deletes like a table scan', async (t) => {
  const sim = await start(t)
  const base = `${sim.url}/api/now/v2/table/u_poam_table`
  const ids = async (query: string): Promise<string[]> =>
    (await read(await fetch(`${base}?sysparm_query=${encodeURIComponent(query)}&sysparm_fields=u_correlation_id`, { headers: { ...basic(sim), ...json } }))).result.map((r: Record<string, string>) => r.u_correlation_id).sort()
  const create = async (id: string) => (await read(await fetch(base, { method: 'POST', headers: { ...basic(sim), ...json }, body: JSON.stringify({ u_correlation_id: id, status: 'Open' }) }))).result.sys_id as string
  const a = await create('qss-a')
  t.same(await ids('u_correlation_idINqss-a,qss-b'), ['qss-a'], 'the index is built on first use')
  const b = await create('qss-b')
  t.same(await ids('u_correlation_idINqss-a,QSS-B'), ['qss-a', 'qss-b'], 'a later insert is found, case-insensitively')
  await fetch(`${base}/${b}`, { method: 'PATCH', headers: { ...basic(sim), ...json }, body: JSON.stringify({ u_correlation_id: 'qss-c' }) })
  t.same(await ids('u_correlation_idINqss-b,qss-c'), ['qss-c'], 'an update moves the row in the index')
  t.same(await ids('u_correlation_id=qss-c^status=Closed'), [], 'the other conditions still apply')
  await fetch(`${base}/${a}`, { method: 'DELETE', headers: basic(sim) })
  t.same(await ids('u_correlation_id=qss-a'), [], 'a deleted row is gone from the index')
  t.same(await ids('u_correlation_idSTARTSWITHqss-'), ['qss-c'], 'unindexed operators scan as before')
})
