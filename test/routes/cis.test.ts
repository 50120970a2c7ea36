import { test } from 'tap'
import type { Finding } from '../../src/findings/model.js'
import { MemoryFindingsStore } from '../../src/findings/memory-store.js'
import { coverageReport } from '../../src/findings/coverage.js'
import { buildFindingsApp } from '../findings/api-app.js'
import { FINDINGS, MATCHES } from '../findings/fixtures.js'

const NOW = new Date('2025-03-01T12:00:00.000Z')
const SEEN = NOW.toISOString()

async function filledStore () {
  const store = new MemoryFindingsStore({ now: () => NOW })
  await store.upsertPage(FINDINGS, MATCHES)
  // A host whose match was never recorded.
  await store.upsertPage([{ ...(FINDINGS[0] as Finding), id: 'f-900', host: { qualysHostId: '1007', ip: '10.0.0.7' } }], new Map())
  return store
}

test('GET /cis/coverage counts matches per rule and lists what did not match', async (t) => {
  const app = await buildFindingsApp(t, await filledStore())
  const res = await app.inject({ url: '/cis/coverage' })
  t.equal(res.statusCode, 200)
  const report = res.json()
  t.type(report.generatedAt, 'string')
  t.equal(report.hostsSeen, 7)
  t.equal(report.matched, 3)
  t.same(report.matchedByRule, { fqdn: 1, name: 1, ip: 1 })
  t.same(report.ambiguous, {
    total: 1,
    omitted: 0,
    items: [{ qualysHostId: '1003', ip: '10.0.0.3', ipv6: 'FE80::3', dns: 'app-01.corp.example.com', lastSeen: SEEN, reason: 'ambiguous', candidates: 2 }]
  })
  t.same(report.unmatched, {
    total: 3,
    omitted: 0,
    items: [
      { qualysHostId: '1004', ip: '10.0.0.4', netbios: 'FILES-01', lastSeen: SEEN, reason: 'unmatched' },
      { qualysHostId: '1005', ip: '10.0.0.5', dns: 'x,y=z.corp.example.com', netbios: 'X,Y=Z', lastSeen: SEEN, reason: 'unsafe', unsafeIdentifiers: ['dns', 'netbios'] },
      { qualysHostId: '1007', ip: '10.0.0.7', lastSeen: SEEN, reason: 'not_evaluated' }
    ]
  })
})

test('GET /cis/coverage caps the lists and says how many were left out', async (t) => {
  const app = await buildFindingsApp(t, await filledStore())
  const report = (await app.inject({ url: '/cis/coverage', query: { limit: '1' } })).json()
  t.equal(report.unmatched.total, 3)
  t.equal(report.unmatched.items.length, 1)
  t.equal(report.unmatched.omitted, 2)
  const countsOnly = (await app.inject({ url: '/cis/coverage', query: { limit: '0' } })).json()
  t.same([countsOnly.unmatched.items, countsOnly.unmatched.omitted, countsOnly.ambiguous.omitted], [[], 3, 1])
  for (const limit of ['1001', '-1', 'x']) {
    const bad = await app.inject({ url: '/cis/coverage', query: { limit } })
    t.equal(bad.statusCode, 400)
    t.equal(bad.json().code, 'QSS_REQUEST_INVALID')
  }
  const doc = app.swagger() as unknown as { paths: Record<string, Record<string, { operationId: string, tags: string[] }>> }
  t.equal(doc.paths['/cis/coverage']?.get?.operationId, 'getCiCoverage')
  t.same(doc.paths['/cis/coverage']?.get?.tags, ['cis'])
})

test('an empty store gives an empty report', async (t) => {
  const report = await coverageReport(new MemoryFindingsStore(), { now: () => NOW })
  t.same(report, {
    generatedAt: SEEN,
    hostsSeen: 0,
    matched: 0,
    matchedByRule: {},
    ambiguous: { total: 0, items: [], omitted: 0 },
    unmatched: { total: 0, items: [], omitted: 0 }
  })
})
