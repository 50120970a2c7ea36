import { test } from 'tap'
import { correlationIdFor } from '../../src/poam/correlation.js'
import { buildDesiredRecords, type MappingOptions } from '../../src/poam/mapping.js'
import { resolveProfile } from '../../src/poam/profiles.js'
import { NOW, matches, pcFinding, vmFinding } from './fixtures.js'

const base: MappingOptions = { profile: resolveProfile({ profile: 'custom' }), grouping: 'finding', unmatched: 'create', now: NOW }

test('finding grouping: one record per finding, keyed by correlation id', async (t) => {
  const findings = [pcFinding('1', '100'), pcFinding('2', '100'), pcFinding('1', '101')]
  const { records, skipped } = buildDesiredRecords(findings, matches({ 1: 'ci-1', 2: 'ci-2' }), base)
  t.equal(records.size, 3)
  t.same(skipped, [])
  for (const f of findings) {
    const d = records.get(correlationIdFor(f, 'finding'))!
    t.same(d.findingIds, [f.id])
    t.equal(d.payload.u_correlation_id, d.correlationId)
    t.equal(d.open, true)
    t.equal(d.evidenceAt, f.evaluatedAt)
  }
})

test('control grouping: several hosts on one record; cmdb_ci only with exactly one CI', async (t) => {
  const options = { ...base, grouping: 'control' as const }
  const findings = [
    pcFinding('2', '100', { risk: 'Low', firstDetected: '2024-02-01T00:00:00Z', evaluatedAt: '2024-05-03T00:00:00Z' }),
    pcFinding('1', '100', { risk: 'High', firstDetected: '2024-04-01T00:00:00Z', evaluatedAt: '2024-05-02T00:00:00Z' }),
    pcFinding('3', '100', { status: 'passed', risk: 'High', firstDetected: '2023-01-01T00:00:00Z', evaluatedAt: '2024-05-04T00:00:00Z' })
  ]
  const twoCis = buildDesiredRecords(findings, matches({ 1: 'ci-1', 2: 'ci-2', 3: 'ci-3' }), options).records
  t.equal(twoCis.size, 1)
  const d = [...twoCis.values()][0]!
  t.equal(d.open, true, 'open while any finding fails')
  t.equal(d.payload.u_asset_identifier, 'host1.example.com (Qualys host ID 1)\nhost2.example.com (Qualys host ID 2)', 'failing assets, sorted, one per line')
  t.equal(d.payload.cmdb_ci, '', 'two CIs: no cmdb_ci')
  t.equal(d.payload.risk_rating, 'High', 'highest risk of the failing findings')
  t.equal(d.payload.u_original_detection_date, '2024-02-01', 'earliest detection of the failing findings')
  t.equal(d.payload.u_scheduled_completion_date, '2024-03-02')
  t.equal(d.evidenceAt, '2024-05-04T00:00:00Z', 'newest evaluation of the group')
  t.same(d.findingIds, findings.map((f) => f.id).sort())
  t.match(d.payload.description, /on 2 asset\(s\)/)

  const oneCi = buildDesiredRecords(findings, matches({ 1: 'ci-9', 2: 'ci-9', 3: 'ci-3' }), options).records
  t.equal([...oneCi.values()][0]!.payload.cmdb_ci, 'ci-9', 'one CI for every failing asset: cmdb_ci set')
  const partly = buildDesiredRecords(findings, matches({ 1: 'ci-9', 2: 'unmatched' }), options).records
  t.equal([...partly.values()][0]!.payload.cmdb_ci, '', 'one CI plus an unmatched host: no cmdb_ci')

  const allPassed = findings.map((f) => ({ ...f, status: 'passed' as const }))
  const closed = [...buildDesiredRecords(allPassed, matches({}), options).records.values()][0]!
  t.equal(closed.open, false, 'closed only when every finding passed')
  t.equal(closed.payload.status, 'Closed')
  t.equal(closed.payload.u_asset_identifier?.split('\n').length, 3)
})

test('control grouping for VM groups by QID across hosts', async (t) => {
  const { records } = buildDesiredRecords([vmFinding('1', '38170'), vmFinding('2', '38170'), vmFinding('1', '11')], matches({}), { ...base, grouping: 'control' })
  t.equal(records.size, 2)
  const sizes = [...records.values()].map((d) => d.findingIds.length).sort()
  t.same(sizes, [1, 2])
})

test('unmatched hosts: create without cmdb_ci, or skip', async (t) => {
  const findings = [pcFinding('1', '100'), pcFinding('2', '100')]
  const ci = matches({ 1: 'ci-1', 2: 'unmatched' })
  const created = buildDesiredRecords(findings, ci, base)
  t.equal(created.records.size, 2)
  t.equal(created.records.get(correlationIdFor(findings[1]!, 'finding'))!.payload.cmdb_ci, '')
  t.match(created.records.get(correlationIdFor(findings[1]!, 'finding'))!.payload.u_asset_identifier, /host2\.example\.com/)

  const skipped = buildDesiredRecords(findings, ci, { ...base, unmatched: 'skip' })
  t.same([...skipped.records.keys()], [correlationIdFor(findings[0]!, 'finding')])
  t.same(skipped.skipped, [{ findingId: findings[1]!.id, reason: 'unmatched-host' }])
  const ambiguous = new Map([['1', { reason: 'ambiguous' as const, candidates: 2 }]])
  t.equal(buildDesiredRecords([findings[0]!], ambiguous, { ...base, unmatched: 'skip' }).records.size, 0, 'ambiguous is not a match')
})

test('error findings are evidence of nothing; duplicates keep the newest evaluation', async (t) => {
  const f = pcFinding('1', '100')
  const error = buildDesiredRecords([{ ...f, status: 'error' }], matches({}), base)
  t.equal(error.records.size, 0)
  t.same(error.skipped, [{ findingId: f.id, reason: 'no-verdict' }])
  const newerPass = { ...f, status: 'passed' as const, evaluatedAt: '2024-05-09T00:00:00Z' }
  const d1 = [...buildDesiredRecords([f, newerPass], matches({}), base).records.values()][0]!
  const d2 = [...buildDesiredRecords([newerPass, f], matches({}), base).records.values()][0]!
  t.equal(d1.open, false)
  t.equal(d2.open, false, 'order does not matter')
})

test('missing dates fall back to the evaluation, then to now', async (t) => {
  const f = pcFinding('1', '100', { firstDetected: undefined, lastDetected: undefined, evaluatedAt: undefined })
  const d = [...buildDesiredRecords([f], matches({}), base).records.values()][0]!
  t.equal(d.payload.u_original_detection_date, '2024-06-01')
  t.equal(d.payload.u_status_date, '2024-06-01')
  t.equal(d.evidenceAt, undefined, 'no evidence time: such a record can never be closed by it')
})
