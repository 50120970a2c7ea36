import { test } from 'tap'
import { MemoryFindingsStore } from '../../src/findings/memory-store.js'
import type { FindingsFilter } from '../../src/findings/store.js'
import { buildFindingsApp } from '../findings/api-app.js'
import { FINDINGS, MATCHES, expectedIds, makeFinding } from '../findings/fixtures.js'

const NOW = new Date('2025-03-01T12:00:00.000Z')

interface Teardown { teardown (fn: () => unknown): void }

async function setup (t: Teardown, count = FINDINGS.length) {
  const store = new MemoryFindingsStore({ now: () => NOW })
  const findings = Array.from({ length: count }, (_, n) => makeFinding(n))
  await store.upsertPage(findings, MATCHES)
  await store.setPoamLinks([{ findingId: 'f-000', correlationId: 'corr-0', sysId: 'poam-0', table: 'u_poam_table' }])
  return { app: await buildFindingsApp(t, store), store, findings }
}

const idsOf = (items: Array<{ id: string }>) => items.map((f) => f.id)

test('GET /findings pages with the default limit and a cursor', async (t) => {
  const { app, findings } = await setup(t, 230)
  const first = await app.inject({ url: '/findings' })
  t.equal(first.statusCode, 200)
  const body = first.json()
  t.equal(body.items.length, 100, 'default limit')
  t.type(body.nextCursor, 'string')
  const seen: string[] = idsOf(body.items)
  let cursor: string | undefined = body.nextCursor
  while (cursor !== undefined) {
    const res = await app.inject({ url: '/findings', query: { limit: '100', cursor } })
    t.equal(res.statusCode, 200)
    const page = res.json()
    seen.push(...idsOf(page.items))
    cursor = page.nextCursor
  }
  t.same(seen, findings.map((f) => f.id).sort(), 'every finding once, in id order')
})

test('GET /findings applies querystring filters', async (t) => {
  const { app } = await setup(t)
  const cases: Array<[Record<string, string>, FindingsFilter]> = [
    [{ status: 'failed' }, { status: 'failed' }],
    [{ matched: 'false', source: 'pc' }, { matched: false, source: 'pc' }],
    [{ matched: 'true', risk: 'High' }, { matched: true, risk: 'High' }],
    [{ host: 'WEB-01.corp.example.com.' }, { host: 'web-01.corp.example.com' }],
    [{ host: 'db-01', status: 'failed' }, { host: 'db-01', status: 'failed' }],
    [{ policyId: 'P1', controlId: 'C2' }, { policyId: 'P1', controlId: 'C2' }],
    [{ hostId: '1006', ciSysId: 'ci-mq' }, { hostId: '1006', ciSysId: 'ci-mq' }]
  ]
  for (const [query, filter] of cases) {
    const res = await app.inject({ url: '/findings', query: { ...query, limit: '500' } })
    t.equal(res.statusCode, 200)
    const expected = expectedIds(FINDINGS, MATCHES, filter)
    t.ok(expected.length > 0)
    t.same(idsOf(res.json().items), expected, JSON.stringify(query))
  }
})

test('GET /findings rejects a bad cursor, limit or filter with QSS_REQUEST_INVALID', async (t) => {
  const { app } = await setup(t)
  const invalid: Array<Record<string, string>> = [
    { cursor: 'not a cursor' },
    { cursor: 'Zi0wMDk=' },
    { limit: '0' },
    { limit: '501' },
    { limit: 'ten' },
    { status: 'open' },
    { risk: 'high' },
    { matched: 'maybe' },
    { colour: 'blue' },
    { host: '' },
    { host: '.' }
  ]
  for (const query of invalid) {
    const res = await app.inject({ url: '/findings', query })
    t.equal(res.statusCode, 400, JSON.stringify(query))
    t.equal(res.json().code, 'QSS_REQUEST_INVALID')
  }
})

test('GET /findings/{id} answers the whole finding, or 404', async (t) => {
  const { app, store } = await setup(t)
  for (const id of ['f-000', 'f-003', 'f-004']) {
    const res = await app.inject({ url: `/findings/${id}` })
    t.equal(res.statusCode, 200)
    t.same(res.json(), await store.get(id), `${id}: every field survives serialization`)
  }
  const linked = (await app.inject({ url: '/findings/f-000' })).json()
  t.same(linked.poam, { correlationId: 'corr-0', sysId: 'poam-0', table: 'u_poam_table' })
  t.same(linked.ciMatch, MATCHES.get('1001'))
  t.same((await app.inject({ url: '/findings/f-002' })).json().ciMatch, { reason: 'ambiguous', candidates: 2 })
  const missing = await app.inject({ url: '/findings/nope' })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().code, 'QSS_FINDING_NOT_FOUND')
})

test('the routes are documented with tags, operation ids and error responses', async (t) => {
  const { app } = await setup(t)
  const doc = app.swagger() as unknown as { paths: Record<string, Record<string, { operationId: string, tags: string[], responses: Record<string, unknown> }>> }
  const list = doc.paths['/findings']?.get
  const one = doc.paths['/findings/{id}']?.get
  t.equal(list?.operationId, 'listFindings')
  t.equal(one?.operationId, 'getFinding')
  t.same(list?.tags, ['findings'])
  t.same(Object.keys(list?.responses ?? {}).sort(), ['200', '400', '401', '403'])
  t.ok(one?.responses['404'])
})
