import { test, type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import type { CiMatch, Finding } from '../../src/findings/model.js'
import { MemoryFindingsStore } from '../../src/findings/memory-store.js'
import { RedisFindingsStore } from '../../src/findings/redis-store.js'
import type { FindingsFilter, FindingsStore, StoreOptions, StoredHost } from '../../src/findings/store.js'
import { encodeCursor } from '../../src/findings/cursor.js'
import { startTestRedis } from '../helpers/redis.js'
import { FINDINGS, HOSTS, MATCHES, expectedIds, ids } from './fixtures.js'

type Make = (opts?: StoreOptions) => Promise<FindingsStore>

const NOW = new Date('2025-03-01T12:00:00.000Z')
const LATER = new Date('2025-03-02T12:00:00.000Z')

async function filled (t: Test, make: Make, opts: StoreOptions = {}) {
  const store = await make({ now: () => NOW, ...opts })
  t.teardown(() => store.close())
  // Two pages, as the engine writes them.
  await store.upsertPage(FINDINGS.slice(0, 35), MATCHES)
  await store.upsertPage(FINDINGS.slice(35), MATCHES)
  return store
}

/** Every page from the start, following nextCursor. */
async function walk (store: FindingsStore, filter: FindingsFilter, limit: number) {
  const seen: string[] = []
  let cursor: string | undefined
  let pages = 0
  do {
    const page = await store.query(filter, { limit, ...(cursor !== undefined ? { cursor } : {}) })
    if (page.items.length > limit) throw new Error('page longer than limit')
    seen.push(...ids(page.items))
    cursor = page.nextCursor
    if (++pages > 1000) throw new Error('cursor loops')
  } while (cursor !== undefined)
  return { seen, pages }
}

const FILTERS: FindingsFilter[] = [
  {},
  { status: 'failed' },
  { status: 'error' },
  { source: 'vm' },
  { policyId: 'P2' },
  { controlId: 'C3' },
  { hostId: '1002' },
  { ciSysId: 'ci-web' },
  { risk: 'High' },
  { matched: true },
  { matched: false },
  { host: 'web-01.corp.example.com.' },
  { host: 'WEB-01' },
  { host: 'db-01' },
  { host: 'files-01' },
  { host: '10.0.0.3' },
  { host: 'fe80::3' },
  { host: 'x,y=z.corp.example.com' },
  { host: 'corp.example.com' },
  { host: 'web-01.corp' },
  { status: 'failed', risk: 'High' },
  { status: 'failed', matched: true, source: 'pc' },
  { policyId: 'P1', controlId: 'C2', hostId: '1001' },
  { status: 'passed', ciSysId: 'ci-db', risk: 'Moderate' },
  { host: 'db-01', status: 'failed', matched: true },
  { policyId: 'nope' },
  { status: 'failed', hostId: 'nope' }
]

async function contract (t: Test, make: Make) {
  t.test('empty store', async (t) => {
    const store = await make()
    t.teardown(() => store.close())
    t.same(await store.query({}, { limit: 10 }), { items: [] })
    t.equal(await store.count(), 0)
    t.equal(await store.get('f-000'), undefined)
    t.same(await store.openFindingsByCi(['ci-web']), new Map())
    const hosts: StoredHost[] = []
    for await (const host of store.hosts()) hosts.push(host)
    t.same(hosts, [])
  })

  t.test('stores findings with their host match', async (t) => {
    const store = await filled(t, make)
    t.equal(await store.count(), FINDINGS.length)
    const got = await store.get('f-000')
    t.same(got, { ...FINDINGS[0], ciMatch: MATCHES.get('1001'), updatedAt: NOW.toISOString() })
    t.same(ids(await store.getMany(['f-010', 'missing', 'f-002'])), ['f-010', 'f-002'], 'in the order asked, missing left out')
    t.same(await store.getMany([]), [])
  })

  t.test('each filter, alone and combined, returns exactly the matching findings in id order', async (t) => {
    const store = await filled(t, make)
    for (const filter of FILTERS) {
      const page = await store.query(filter, { limit: 500 })
      t.same(ids(page.items), expectedIds(FINDINGS, MATCHES, filter), JSON.stringify(filter))
      t.equal(page.nextCursor, undefined)
    }
    t.ok(expectedIds(FINDINGS, MATCHES, { host: 'WEB-01' }).length > 0, 'a short name matches the first label of an FQDN')
    t.same(expectedIds(FINDINGS, MATCHES, { host: 'corp.example.com' }), [], 'a dotted value matches whole names only')
  })

  t.test('queryJson is the same page as JSON text', async (t) => {
    const store = await filled(t, make)
    await store.setPoamLinks([{ findingId: 'f-001', correlationId: 'c1', table: 'u_poam_table' }])
    for (const filter of [{}, { status: 'failed' }, { host: 'db-01', matched: true }, { policyId: 'nope' }] as FindingsFilter[]) {
      let cursor: string | undefined
      do {
        const page = { limit: 7, ...(cursor !== undefined ? { cursor } : {}) }
        const parsed = await store.query(filter, page)
        t.same(JSON.parse(await store.queryJson(filter, page)), parsed, JSON.stringify({ filter, cursor }))
        cursor = parsed.nextCursor
      } while (cursor !== undefined)
    }
    await t.rejects(store.queryJson({}, { limit: 0 }), { code: 'QSS_REQUEST_INVALID' })
  })

  t.test('re-upsert replaces the finding and its index entries', async (t) => {
    let clock = NOW
    const store = await filled(t, make, { now: () => clock })
    const before = FINDINGS[0] as Finding
    await store.setPoamLinks([{ findingId: before.id, correlationId: 'corr-0', sysId: 'poam-0', table: 'u_poam_table' }])
    const changed: Finding = { ...before, status: 'passed', risk: 'Low', host: { ...before.host, netbios: 'RENAMED' } }
    clock = LATER
    await store.upsertPage([changed], new Map<string, CiMatch>([['1001', { reason: 'unmatched' }]]))
    const got = await store.get(before.id)
    t.equal(got?.status, 'passed')
    t.equal(got?.updatedAt, LATER.toISOString())
    t.same(got?.ciMatch, { reason: 'unmatched' })
    t.same(got?.poam, { correlationId: 'corr-0', sysId: 'poam-0', table: 'u_poam_table' }, 'the POA&M link survives a re-upsert')
    const has = async (filter: FindingsFilter) => ids((await store.query(filter, { limit: 500 })).items).includes(before.id)
    t.equal(await has({ status: before.status }), false, 'old status entry gone')
    t.equal(await has({ risk: before.risk }), false, 'old risk entry gone')
    t.equal(await has({ ciSysId: 'ci-web' }), false, 'old CI entry gone')
    t.equal(await has({ matched: true }), false)
    t.equal(await has({ status: 'passed', risk: 'Low', matched: false, host: 'renamed' }), true, 'new entries present')
    t.equal(await store.count(), FINDINGS.length, 'replaced, not added')
    t.notOk((await store.openFindingsByCi(['ci-web'])).get('ci-web')?.some((f) => f.id === before.id))
  })

  t.test('the last copy of a finding repeated on one page wins', async (t) => {
    const store = await make()
    t.teardown(() => store.close())
    const f = FINDINGS[0] as Finding
    const handedBack = { ...f, status: 'passed', poam: { correlationId: 'stale', table: 't' }, updatedAt: 'stale' }
    await store.upsertPage([f, handedBack as Finding], MATCHES)
    t.equal((await store.get(f.id))?.poam, undefined, 'a link is only ever set by setPoamLinks')
    t.equal((await store.get(f.id))?.status, 'passed')
    t.same(ids((await store.query({ status: f.status }, { limit: 10 })).items), [])
    t.equal(await store.count(), 1)
  })

  t.test('cursor pagination visits every item once, in order', async (t) => {
    const store = await filled(t, make)
    for (const [filter, limit] of [[{}, 7], [{}, 60], [{}, 1], [{ status: 'failed' }, 4], [{ matched: false, source: 'pc' }, 3]] as const) {
      const { seen } = await walk(store, filter, limit)
      t.same(seen, expectedIds(FINDINGS, MATCHES, filter), `${JSON.stringify(filter)} limit ${limit}`)
    }
    const exact = await store.query({}, { limit: 60 })
    t.equal(exact.nextCursor, undefined, 'no cursor when the last page is exactly full')
    const first = await store.query({}, { limit: 10 })
    t.equal(first.nextCursor, encodeCursor('f-009'), 'the cursor continues after the last id')
  })

  t.test('a capped scan answers early with a cursor and still visits everything', async (t) => {
    const store = await filled(t, make, { scanCap: 5 })
    const filter: FindingsFilter = { status: 'failed', hostId: '1003', source: 'pc' }
    const sparse = await store.query(filter, { limit: 50 })
    t.ok(sparse.items.length < 50 && sparse.nextCursor !== undefined, 'stopped at the cap with a cursor')
    const { seen, pages } = await walk(store, filter, 50)
    t.same(seen, expectedIds(FINDINGS, MATCHES, filter))
    t.ok(pages > 1)
  })

  t.test('limit and cursor are checked', async (t) => {
    const store = await filled(t, make)
    for (const limit of [0, 501, 1.5, -1]) {
      await t.rejects(store.query({}, { limit }), { code: 'QSS_REQUEST_INVALID', statusCode: 400 }, `limit ${limit}`)
    }
    t.equal((await store.query({}, { limit: 500 })).items.length, 60)
    for (const cursor of ['', 'not base64!', 'Zi0wMDk=', Buffer.from('a\nb').toString('base64url')]) {
      await t.rejects(store.query({}, { limit: 5, cursor }), { code: 'QSS_REQUEST_INVALID' }, `cursor ${JSON.stringify(cursor)}`)
    }
    await t.rejects(store.query({ host: ' . ' }, { limit: 5 }), { code: 'QSS_REQUEST_INVALID' })
  })

  t.test('POA&M links and open findings per CI', async (t) => {
    const store = await filled(t, make)
    await store.setPoamLinks([
      { findingId: 'f-000', correlationId: 'c0', sysId: 's0', table: 'u_poam_table' },
      { findingId: 'f-006', correlationId: 'c6', table: 'u_poam_table' }
    ])
    await store.setPoamLinks([])
    t.same((await store.get('f-006'))?.poam, { correlationId: 'c6', table: 'u_poam_table' })
    t.equal((await store.get('f-001'))?.poam, undefined)
    const open = await store.openFindingsByCi(['ci-web', 'ci-db', 'ci-none', 'ci-web'])
    t.same([...open.keys()].sort(), ['ci-db', 'ci-web'])
    t.same(ids(open.get('ci-web') ?? []), expectedIds(FINDINGS, MATCHES, { ciSysId: 'ci-web', status: 'failed' }))
    t.same(ids(open.get('ci-db') ?? []), expectedIds(FINDINGS, MATCHES, { ciSysId: 'ci-db', status: 'failed' }))
    t.same(open.get('ci-web')?.[0]?.poam, { correlationId: 'c0', sysId: 's0', table: 'u_poam_table' })
  })

  t.test('hosts seen, with identifiers and match, for coverage', async (t) => {
    const store = await filled(t, make)
    const hosts: StoredHost[] = []
    for await (const host of store.hosts()) hosts.push(host)
    t.same(hosts.map((h) => h.qualysHostId), HOSTS.map((h) => h.qualysHostId))
    t.same(hosts[1], { qualysHostId: '1002', ip: '10.0.0.2', dns: 'db-01.corp.example.com', netbios: 'DB-01', ciMatch: MATCHES.get('1002'), lastSeen: NOW.toISOString() })
    t.same(hosts[2]?.ipv6, 'FE80::3')
    t.equal(hosts[0]?.fqdn, 'web-01.corp.example.com')
  })
}

test('memory store honours the contract', async (t) => {
  await contract(t, async (opts) => new MemoryFindingsStore(opts))
})

test('redis store honours the contract', async (t) => {
  const redis = await startTestRedis()
  t.teardown(() => redis.stop())
  const client = redis.client()
  await contract(t, async (opts) => new RedisFindingsStore(client, `test-${randomUUID()}`, opts))
})

test('redis store reads a host list longer than one batch', async (t) => {
  const redis = await startTestRedis()
  t.teardown(() => redis.stop())
  const store = new RedisFindingsStore(redis.client(), `test-${randomUUID()}`)
  const many = Array.from({ length: 1203 }, (_, n) => ({ ...(FINDINGS[0] as Finding), id: `h-${n}`, host: { qualysHostId: String(100000 + n) } }))
  await store.upsertPage(many, new Map())
  const hostIds: string[] = []
  for await (const host of store.hosts()) hostIds.push(host.qualysHostId)
  t.equal(hostIds.length, 1203)
  t.same(hostIds, [...hostIds].sort(), 'in id order')
  t.equal(await store.count(), 1203)
  const { seen } = await walk(store, { policyId: 'P1' }, 500)
  t.equal(seen.length, 1203)
})
